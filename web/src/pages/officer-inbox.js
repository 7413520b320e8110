// The officer console's inbox (/petugas): the agency's cases (every case for a coordinator) by
// state, with their deadlines and overdue / due-soon flags, sortable by deadline, page by page
// (GET /v1/complaints as the signed-in officer), refreshed live from the complaint event feed
// (GET /v1/complaintEvents:watch, NDJSON; the session cookie authenticates it like any GET).
import { useEffect, useRef, useState } from 'preact/hooks';
import { texts } from '../lib/i18n.js';
import { checkFullView, officerApi, officerStream } from '../lib/session.js';
import { date, ErrorBox, html, Loading } from '../lib/ui.js';
import { Flag, flagOf, STATES, word } from './officer-common.js';

const PAGE_SIZES = [10, 25, 50, 100];

const TEXT = {
  id: {
    title: 'Kotak masuk pengaduan',
    filter: 'Saring menurut status',
    all: 'Semua status',
    overdueOnly: 'Hanya yang terlambat',
    perPage: 'Kasus per halaman',
    code: 'Kode',
    subject: 'Perihal',
    state: 'Status',
    agency: 'Instansi / unit',
    filed: 'Diajukan',
    verifyBy: 'Batas verifikasi',
    resolveBy: 'Batas penyelesaian',
    next: 'Tenggat berikutnya',
    sortBy: (what) => `Urutkan menurut ${what}`,
    ascending: 'dari yang paling awal',
    descending: 'dari yang paling akhir',
    noTitle: '(tanpa judul)',
    empty: 'Tidak ada kasus untuk saringan ini.',
    count: (n, more) => `${n} kasus ditampilkan${more ? '; masih ada halaman berikutnya' : ''}.`,
    flags: (o, s) => `${o} terlambat, ${s} segera jatuh tempo.`,
    more: 'Muat halaman berikutnya',
    refresh: 'Muat ulang',
    live: 'Pembaruan langsung aktif.',
    liveOff: 'Pembaruan langsung terputus; mencoba lagi…',
    updated: (n) => `${n} perubahan baru diterima; daftar diperbarui.`,
    caption: 'Kasus instansi, dengan tenggat dan tanda keterlambatan',
  },
  en: {
    title: 'Complaint inbox',
    filter: 'Filter by state',
    all: 'All states',
    overdueOnly: 'Overdue only',
    perPage: 'Cases per page',
    code: 'Code',
    subject: 'Subject',
    state: 'State',
    agency: 'Agency / unit',
    filed: 'Filed',
    verifyBy: 'Verify by',
    resolveBy: 'Resolve by',
    next: 'Next deadline',
    sortBy: (what) => `Sort by ${what}`,
    ascending: 'earliest first',
    descending: 'latest first',
    noTitle: '(no title)',
    empty: 'No case matches this filter.',
    count: (n, more) => `${n} cases shown${more ? '; there is a next page' : ''}.`,
    flags: (o, s) => `${o} overdue, ${s} due soon.`,
    more: 'Load the next page',
    refresh: 'Reload',
    live: 'Live updates on.',
    liveOff: 'Live updates interrupted; retrying…',
    updated: (n) => `${n} new changes received; list updated.`,
    caption: 'The agency\'s cases, with deadlines and lateness flags',
  },
};

function queryOf(principal, state, overdueOnly, pageSize, pageToken) {
  return {
    agency_id: principal.agency_id || undefined,
    states: state || undefined,
    overdue_only: overdueOnly ? 'true' : undefined,
    'page.page_size': pageSize,
    'page.page_token': pageToken || undefined,
  };
}

// sortKey orders cases by a deadline; cases without one go last.
function sortKey(c, column) {
  const v = column === 'filed' ? c.file_time : column === 'verify' ? c.deadlines?.verify_by
    : column === 'resolve' ? c.deadlines?.resolve_by : c.deadlines?.next;
  const t = v ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? Infinity : t;
}

export default function Inbox({ principal }) {
  const t = texts(TEXT);
  const params = new URLSearchParams(window.location.search);
  const [state, setState] = useState(STATES.includes(params.get('status')) ? params.get('status') : '');
  const [overdueOnly, setOverdueOnly] = useState(params.get('terlambat') === '1');
  const [pageSize, setPageSize] = useState(
    PAGE_SIZES.includes(Number(params.get('per'))) ? Number(params.get('per')) : 50);
  const [rows, setRows] = useState(null);
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [sort, setSort] = useState({ column: 'next', dir: 1 });
  const [live, setLive] = useState('');
  const [changes, setChanges] = useState(0);
  const loaded = useRef(0);
  const fresh = useRef(new Set());  // ids of cases the feed announced (at most 100)
  const generation = useRef(0);

  // load reads the first page again, as large as what is shown (a refresh keeps the pages the
  // officer already loaded), or appends the next page.
  async function load({ append = false } = {}) {
    const mine = ++generation.current;
    setBusy(true);
    try {
      const size = append ? pageSize : Math.min(500, Math.max(pageSize, loaded.current));
      const answer = await officerApi('/v1/complaints', {
        query: queryOf(principal, state, overdueOnly, size, append ? token : ''),
      });
      if (mine !== generation.current) return;
      if (!answer?.complaints && answer?.public_complaints) {
        await checkFullView();
        return;
      }
      const got = answer?.complaints ?? [];
      // Cases the feed announced that are not on the loaded pages (the list is oldest first,
      // so a new case may be pages away): each is read and shown too, if it fits the filter.
      if (!append && fresh.current.size) {
        const missing = [...fresh.current].filter((id) => !got.some((c) => c.id === id)).slice(-20);
        const extra = await Promise.all(missing.map((id) => officerApi(
          `/v1/complaints/${encodeURIComponent(id)}`).then((a) => a?.complaint, () => null)));
        for (const c of extra) {
          if (c && (!state || c.state === state) && (!overdueOnly || flagOf(c) === 'overdue')) got.push(c);
        }
        if (mine !== generation.current) return;
      }
      setRows((before) => {
        const next = append ? [...(before ?? []), ...got.filter(
          (c) => !(before ?? []).some((b) => b.id === c.id))] : got;
        loaded.current = next.length;
        return next;
      });
      setToken(answer?.next_page_token ?? '');
      setError(null);
    } catch (e) {
      if (mine === generation.current) setError(e);
    } finally {
      if (mine === generation.current) setBusy(false);
    }
  }

  useEffect(() => {
    loaded.current = 0;
    setRows(null);
    const q = new URLSearchParams(window.location.search);
    if (state) q.set('status', state); else q.delete('status');
    if (overdueOnly) q.set('terlambat', '1'); else q.delete('terlambat');
    if (pageSize !== 50) q.set('per', String(pageSize)); else q.delete('per');
    const search = q.toString();
    window.history.replaceState(null, '', `/petugas${search ? `?${search}` : ''}`);
    load();
  }, [state, overdueOnly, pageSize]);

  // The live feed: every event of the agency's cases triggers one (debounced) reload of what is
  // shown. A broken stream is reopened after a pause; a 401 ends the session (officerStream).
  const reload = useRef(null);
  reload.current = load;
  useEffect(() => {
    const controller = new AbortController();
    let timer = null;
    let retry = null;
    let pending = 0;
    async function watch() {
      try {
        setLive('on');
        await officerStream('/v1/complaintEvents:watch', {
          signal: controller.signal,
          onItem: (item) => {
            const id = (item?.event ?? item?.public_event)?.complaint_id;
            if (!id) return;
            fresh.current.delete(id);
            fresh.current.add(id);
            if (fresh.current.size > 100) fresh.current.delete(fresh.current.values().next().value);
            pending += 1;
            clearTimeout(timer);
            timer = setTimeout(() => {
              setChanges(pending);
              pending = 0;
              reload.current();
            }, 300);
          },
        });
      } catch (e) {
        if (controller.signal.aborted || e.status === 401) return;
      }
      if (controller.signal.aborted) return;
      setLive('off');
      retry = setTimeout(watch, 5000);
    }
    watch();
    return () => { controller.abort(); clearTimeout(timer); clearTimeout(retry); };
  }, []);

  const now = Date.now();
  const sorted = rows ? [...rows].sort((a, b) => {
    const ka = sortKey(a, sort.column);
    const kb = sortKey(b, sort.column);
    if (ka === kb) return 0;
    if (ka === Infinity) return 1;  // no deadline: last, whichever the direction
    if (kb === Infinity) return -1;
    return (ka - kb) * sort.dir;
  }) : null;
  const flags = sorted?.map((c) => flagOf(c, now)) ?? [];
  const overdue = flags.filter((f) => f === 'overdue').length;
  const soon = flags.filter((f) => f === 'dueSoon').length;

  function SortHeader({ column, label }) {
    const active = sort.column === column;
    const aria = active ? (sort.dir > 0 ? 'ascending' : 'descending') : undefined;
    return html`<th scope="col" aria-sort=${aria}>
      <button type="button" class="sort" data-testid=${`sort-${column}`}
              onClick=${() => setSort({ column, dir: active ? -sort.dir : 1 })}>
        ${label}<span class="visually-hidden">: ${t('sortBy', label)}, ${
          active && sort.dir > 0 ? t('descending') : t('ascending')}</span>
        <span aria-hidden="true">${active ? (sort.dir > 0 ? ' ▲' : ' ▼') : ' ↕'}</span>
      </button></th>`;
  }

  return html`<section class="officer-inbox">
    <h1>${t('title')}</h1>
    <div class="officer-filters">
      <div>
        <label for="officer-state">${t('filter')}</label>
        <select id="officer-state" value=${state} data-testid="state-filter"
                onChange=${(e) => setState(e.currentTarget.value)}>
          <option value="">${t('all')}</option>
          ${STATES.map((s) => html`<option value=${s}>${word(s)}</option>`)}
        </select>
      </div>
      <div>
        <label for="officer-per">${t('perPage')}</label>
        <select id="officer-per" value=${pageSize} data-testid="page-size"
                onChange=${(e) => setPageSize(Number(e.currentTarget.value))}>
          ${PAGE_SIZES.map((n) => html`<option value=${n}>${n}</option>`)}
        </select>
      </div>
      <div class="officer-check">
        <input id="officer-overdue" type="checkbox" checked=${overdueOnly} data-testid="overdue-only"
               onChange=${(e) => setOverdueOnly(e.currentTarget.checked)} />
        <label for="officer-overdue">${t('overdueOnly')}</label>
      </div>
      <button type="button" class="secondary" onClick=${() => load()} data-testid="inbox-refresh"
              disabled=${busy}>${t('refresh')}</button>
    </div>
    <p class="muted officer-live" role="status" data-testid="live-status">
      ${live === 'on' ? t('live') : live === 'off' ? t('liveOff') : ''}
      ${changes ? ` ${t('updated', changes)}` : ''}</p>
    <${ErrorBox} error=${error} />
    ${sorted === null ? html`<${Loading} />` : html`
      <p aria-live="polite" data-testid="inbox-count">${t('count', sorted.length, !!token)}
        ${' '}${t('flags', overdue, soon)}</p>
      ${sorted.length === 0 ? html`<p data-testid="inbox-empty">${t('empty')}</p>` : html`
      <div class="officer-table-wrap">
      <table data-testid="inbox-table">
        <caption class="visually-hidden">${t('caption')}</caption>
        <thead><tr>
          <th scope="col">${t('code')}</th>
          <th scope="col">${t('subject')}</th>
          <th scope="col">${t('state')}</th>
          <th scope="col">${t('agency')}</th>
          <${SortHeader} column="filed" label=${t('filed')} />
          <${SortHeader} column="verify" label=${t('verifyBy')} />
          <${SortHeader} column="resolve" label=${t('resolveBy')} />
          <${SortHeader} column="next" label=${t('next')} />
        </tr></thead>
        <tbody>${sorted.map((c, i) => html`<tr key=${c.id} data-testid="inbox-row" data-id=${c.id}
                                                 data-state=${c.state} data-flag=${flags[i]}
                                                 data-next=${c.deadlines?.next ?? ''}>
          <td><a href=${`/petugas/kasus/${encodeURIComponent(c.id)}`}><code>${c.id}</code></a></td>
          <td>${c.title || html`<span class="muted">${t('noTitle')}</span>`}
            <div class="muted officer-snippet">${(c.description ?? '').slice(0, 120)}</div></td>
          <td>${word(c.state)}</td>
          <td>${c.agency_id || '–'}${c.unit_id ? html`<br /><span class="muted">${c.unit_id}</span>` : null}</td>
          <td>${date(c.file_time)}</td>
          <td>${date(c.deadlines?.verify_by) || '–'}</td>
          <td>${date(c.deadlines?.resolve_by) || '–'}</td>
          <td>${date(c.deadlines?.next) || '–'} <${Flag} flag=${flags[i]} /></td>
        </tr>`)}</tbody>
      </table></div>`}
      ${token ? html`<button type="button" onClick=${() => load({ append: true })} disabled=${busy}
                             data-testid="load-more">${t('more')}</button>` : null}`}
  </section>`;
}
