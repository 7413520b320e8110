// Page "/": search the published service standards (SearchStandards, GET /v1/standards) by
// free text, agency and unit. The search is kept in the URL (?q=&agency=&unit=&page=), so a
// result page can be shared and the back button returns to it.
import './standards.css';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { texts } from '../lib/i18n.js';
import { navigate } from '../lib/router.js';
import { agencies, completionTime, fee, sandboxLabel, unit, unitsOf } from '../lib/standards.js';
import { ErrorBox, html, Loading } from '../lib/ui.js';

const PAGE_SIZE = 20;

const TEXT = {
  id: {
    title: 'Cari standar pelayanan',
    intro: 'Standar pelayanan yang berlaku di setiap unit penyelenggara: persyaratan, prosedur, ' +
      'waktu penyelesaian, biaya, produk dan penanganan pengaduan (UU No. 25 Tahun 2009).',
    query: 'Kata kunci',
    queryHint: 'Nama layanan atau isi standarnya, mis. "akta kelahiran".',
    agency: 'Instansi',
    anyAgency: 'Semua instansi',
    unit: 'Unit pelayanan',
    anyUnit: 'Semua unit',
    unitHint: 'Pilih instansi terlebih dahulu.',
    search: 'Cari',
    reset: 'Hapus pencarian',
    results: (n, more) => (n === 0 ? 'Tidak ada standar yang cocok.'
      : `${n}${more ? '+' : ''} standar ditemukan${more ? ' (halaman ini)' : ''}.`),
    resultsHeading: 'Hasil pencarian',
    time: 'Waktu penyelesaian',
    fee: 'Biaya',
    unitOf: 'Unit',
    agencyOf: 'Instansi',
    version: (n) => `Versi ${n}`,
    next: 'Halaman berikutnya',
    prev: 'Halaman sebelumnya',
    first: 'Halaman pertama',
    pageNav: 'Halaman hasil',
  },
  en: {
    title: 'Search service standards',
    intro: 'The service standards in force at each service unit: requirements, procedure, ' +
      'completion time, fee, products and complaint handling (Law 25 of 2009).',
    query: 'Keywords',
    queryHint: 'A service name or words of its standard, e.g. "akta kelahiran".',
    agency: 'Agency',
    anyAgency: 'All agencies',
    unit: 'Service unit',
    anyUnit: 'All units',
    unitHint: 'Choose an agency first.',
    search: 'Search',
    reset: 'Clear search',
    results: (n, more) => (n === 0 ? 'No standard matches.'
      : `${n}${more ? '+' : ''} standard${n === 1 ? '' : 's'} found${more ? ' (this page)' : ''}.`),
    resultsHeading: 'Results',
    time: 'Completion time',
    fee: 'Fee',
    unitOf: 'Unit',
    agencyOf: 'Agency',
    version: (n) => `Version ${n}`,
    next: 'Next page',
    prev: 'Previous page',
    first: 'First page',
    pageNav: 'Result pages',
  },
};

function searchPath({ q, agency, unit: unitId, page }) {
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (agency) p.set('agency', agency);
  if (unitId) p.set('unit', unitId);
  if (page) p.set('page', page);
  const s = p.toString();
  return s ? `/?${s}` : '/';
}

function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then((data) => live && setState({ data, error: null, loading: false }),
                (error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, deps);
  return state;
}

function UnitName({ id }) {
  const [name, setName] = useState(id);
  useEffect(() => {
    let live = true;
    unit(id).then((u) => live && setName(u?.name || id), () => {});
    return () => { live = false; };
  }, [id]);
  return name;
}

function Result({ version, agencyName, t }) {
  const href = `/standar/${encodeURIComponent(version.service_id)}`;
  return html`<li class="card std-card" data-testid="standard-result">
    <h3><a href=${href} data-testid="standard-link">${version.service_name}</a></h3>
    <dl>
      <dt>${t('unitOf')}</dt><dd><${UnitName} id=${version.unit_id} /></dd>
      <dt>${t('agencyOf')}</dt><dd>${agencyName || version.agency_id}</dd>
      <dt>${t('time')}</dt><dd>${completionTime(version.components?.completion_time)}</dd>
      <dt>${t('fee')}</dt><dd>${fee(version.components?.fee)}</dd>
    </dl>
    <p class="muted std-version">${t('version', version.version_number)}</p>
  </li>`;
}

export default function Page({ query }) {
  const t = texts(TEXT);
  const q = query.get('q') ?? '';
  const agencyId = query.get('agency') ?? '';
  const unitId = query.get('unit') ?? '';
  const pageToken = query.get('page') ?? '';

  const [draft, setDraft] = useState({ q, agency: agencyId, unit: unitId });
  // Tokens of the pages before this one (for "previous"), reset by a new search.
  const [trail, setTrail] = useState([]);
  useEffect(() => { setDraft({ q, agency: agencyId, unit: unitId }); }, [q, agencyId, unitId]);

  const agencyList = useLoad(() => agencies(), []);
  const unitList = useLoad(() => (draft.agency ? unitsOf(draft.agency) : Promise.resolve([])),
                           [draft.agency]);
  const results = useLoad(() => api('/v1/standards', {
    query: { keyword: q.trim(), agency_id: agencyId, unit_id: unitId,
             'page.page_size': PAGE_SIZE, 'page.page_token': pageToken },
  }), [q, agencyId, unitId, pageToken]);

  const agencyName = (id) => (agencyList.data ?? []).find((a) => a.id === id)?.name;

  const submit = (event) => {
    event.preventDefault();
    setTrail([]);
    navigate(searchPath({ q: draft.q.trim(), agency: draft.agency, unit: draft.unit }));
  };
  const goNext = () => {
    setTrail([...trail, pageToken]);
    navigate(searchPath({ q, agency: agencyId, unit: unitId, page: results.data.next_page_token }));
  };
  const goPrev = () => {
    const before = trail.slice(0, -1);
    const token = trail[trail.length - 1] ?? '';
    setTrail(before);
    navigate(searchPath({ q, agency: agencyId, unit: unitId, page: token }));
  };

  const versions = results.data?.versions ?? [];
  const more = Boolean(results.data?.next_page_token);
  return html`<section class="std-search">
    <h1>${t('title')}</h1>
    <p class="muted">${t('intro')}</p>
    <form role="search" onSubmit=${submit} class="std-form" data-testid="standards-search">
      <div class="std-q">
        <label for="std-q">${t('query')}</label>
        <input id="std-q" type="search" name="q" value=${draft.q} data-testid="search-input"
               aria-describedby="std-q-hint"
               onInput=${(e) => setDraft({ ...draft, q: e.currentTarget.value })} />
        <p id="std-q-hint" class="muted hint">${t('queryHint')}</p>
      </div>
      <div>
        <label for="std-agency">${t('agency')}</label>
        <select id="std-agency" value=${draft.agency} data-testid="agency-filter"
                onChange=${(e) => setDraft({ ...draft, agency: e.currentTarget.value, unit: '' })}>
          <option value="">${t('anyAgency')}</option>
          ${(agencyList.data ?? []).map((a) => html`<option value=${a.id}>${a.name}${
            a.sandbox ? ` (${sandboxLabel()})` : ''}</option>`)}
        </select>
      </div>
      <div>
        <label for="std-unit">${t('unit')}</label>
        <select id="std-unit" value=${draft.unit} disabled=${!draft.agency}
                data-testid="unit-filter" aria-describedby=${draft.agency ? undefined : 'std-unit-hint'}
                onChange=${(e) => setDraft({ ...draft, unit: e.currentTarget.value })}>
          <option value="">${t('anyUnit')}</option>
          ${(unitList.data ?? []).map((u) => html`<option value=${u.id}>${u.name}</option>`)}
        </select>
        ${draft.agency ? null : html`<p id="std-unit-hint" class="muted hint">${t('unitHint')}</p>`}
      </div>
      <div class="std-actions">
        <button type="submit" data-testid="search-button">${t('search')}</button>
        ${q || agencyId || unitId ? html`<a class="button secondary" href="/">${t('reset')}</a>` : null}
      </div>
    </form>
    ${agencyList.error ? html`<${ErrorBox} error=${agencyList.error} />` : null}
    <h2 class="visually-hidden">${t('resultsHeading')}</h2>
    ${results.error ? html`<${ErrorBox} error=${results.error} />` : null}
    ${results.loading && !results.data ? html`<${Loading} />` : null}
    ${results.data ? html`
      <p role="status" data-testid="result-count">${t('results', versions.length, more)}</p>
      <ul class="cards std-results" aria-busy=${results.loading ? 'true' : 'false'}>
        ${versions.map((v) => html`<${Result} key=${v.id} version=${v}
                                              agencyName=${agencyName(v.agency_id)} t=${t} />`)}
      </ul>
      ${more || pageToken ? html`<nav class="std-pages" aria-label=${t('pageNav')}>
        ${pageToken ? (trail.length
          ? html`<button type="button" class="secondary" onClick=${goPrev}>${t('prev')}</button>`
          : html`<a class="button secondary" href=${searchPath({ q, agency: agencyId, unit: unitId })}
                   >${t('first')}</a>`) : null}
        ${more ? html`<button type="button" onClick=${goNext} data-testid="next-page"
                        >${t('next')}</button>` : null}
      </nav>` : null}` : null}
  </section>`;
}
