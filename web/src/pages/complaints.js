// Page "complaints" (/pengaduan): the public complaint list. It reads ListComplaints as an
// anonymous caller, so it shows only what the API gives the public: verified PUBLIC and
// ANONYMOUS cases, in the public view. Filters (agency, service, state, area) and the page
// are kept in the URL so a list can be shared; a case opens in place from GetComplaint.
import './complaints.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Deadlines, loadAgencies, STATES, StateBadge, stateNote, stateWords, t as ct, useNames }
  from '../lib/complaints.js';
import { texts } from '../lib/i18n.js';
import { navigate } from '../lib/router.js';
import { date, ErrorBox, html, Loading } from '../lib/ui.js';

const PAGE_SIZE = 20;

const TEXT = {
  id: {
    title: 'Pengaduan publik',
    intro: 'Pengaduan yang sudah diverifikasi dan tidak dirahasiakan. Identitas pelapor anonim ' +
      'tidak pernah ditampilkan; pengaduan rahasia tidak tercantum di sini.',
    fileLink: 'Ajukan pengaduan',
    trackLink: 'Lacak pengaduan Anda',
    filters: 'Saring',
    agency: 'Instansi',
    service: 'Layanan',
    state: 'Status',
    all: 'Semua',
    area: 'Wilayah (sekitar titik)',
    areaHint: 'Isi lintang, bujur dan radius untuk melihat pengaduan di sekitar suatu titik.',
    lat: 'Lintang',
    lng: 'Bujur',
    radius: 'Radius (km, paling jauh 50)',
    myLocation: 'Gunakan lokasi saya',
    noLocation: 'Lokasi Anda tidak dapat dibaca.',
    apply: 'Terapkan',
    reset: 'Hapus saringan',
    code: 'Kode pelacakan',
    filed: 'Diajukan',
    deadline: 'Tenggat berikutnya',
    none: 'Tidak ada pengaduan yang cocok.',
    count: (n) => `${n} pengaduan di halaman ini`,
    prev: 'Halaman sebelumnya',
    next: 'Halaman berikutnya',
    page: (n) => `Halaman ${n}`,
    show: (code) => `Lihat rincian ${code}`,
    hide: (code) => `Tutup rincian ${code}`,
    overdue: 'terlambat',
    details: 'Rincian pengaduan',
    type: 'Jenis',
    titleField: 'Judul',
    description: 'Uraian',
    location: 'Lokasi',
    complainant: 'Pelapor',
    anonymous: 'Anonim',
    rating: 'Penilaian pelapor',
    ratingValue: (n) => `${n} dari 5`,
    updated: 'Terakhir berubah',
    images: (n) => `${n} foto dipublikasikan oleh instansi`,
  },
  en: {
    title: 'Public complaints',
    intro: "Complaints that were verified and are not confidential. An anonymous complainant's " +
      'identity is never shown; confidential complaints are not listed here.',
    fileLink: 'File a complaint',
    trackLink: 'Track your complaint',
    filters: 'Filter',
    agency: 'Agency',
    service: 'Service',
    state: 'Status',
    all: 'All',
    area: 'Area (around a point)',
    areaHint: 'Give a latitude, longitude and radius to see the complaints around a point.',
    lat: 'Latitude',
    lng: 'Longitude',
    radius: 'Radius (km, at most 50)',
    myLocation: 'Use my location',
    noLocation: 'Your location could not be read.',
    apply: 'Apply',
    reset: 'Clear filters',
    code: 'Tracking code',
    filed: 'Filed',
    deadline: 'Next deadline',
    none: 'No complaint matches.',
    count: (n) => `${n} complaints on this page`,
    prev: 'Previous page',
    next: 'Next page',
    page: (n) => `Page ${n}`,
    show: (code) => `Show details of ${code}`,
    hide: (code) => `Hide details of ${code}`,
    overdue: 'overdue',
    details: 'Complaint details',
    type: 'Type',
    titleField: 'Title',
    description: 'Description',
    location: 'Location',
    complainant: 'Complainant',
    anonymous: 'Anonymous',
    rating: "Complainant's rating",
    ratingValue: (n) => `${n} of 5`,
    updated: 'Last changed',
    images: (n) => `${n} photos published by the agency`,
  },
};

// filtersOf reads the filters from the page's query.
function filtersOf(query) {
  return {
    agency: query.get('agency') ?? '',
    service: query.get('service') ?? '',
    state: query.get('state') ?? '',
    lat: query.get('lat') ?? '',
    lng: query.get('lng') ?? '',
    radius: query.get('radius') ?? '',
  };
}

function apiQuery(f, token) {
  const q = { 'page.page_size': PAGE_SIZE, 'page.page_token': token, agency_id: f.agency,
              service_id: f.service, states: f.state };
  if (f.lat !== '' && f.lng !== '' && f.radius !== '') {
    q['near.latitude'] = f.lat;
    q['near.longitude'] = f.lng;
    q['near.radius_meters'] = Math.round(Number(f.radius) * 1000);
  }
  return q;
}

function Filters({ initial, onApply }) {
  const t = texts(TEXT);
  const [f, setF] = useState(initial);
  const [agencies, setAgencies] = useState([]);
  const [services, setServices] = useState([]);
  const [geoError, setGeoError] = useState('');
  useEffect(() => setF(initial), [JSON.stringify(initial)]);
  useEffect(() => { loadAgencies().then(setAgencies, () => setAgencies([])); }, []);
  useEffect(() => {
    let live = true;
    if (!f.agency) { setServices([]); return undefined; }
    api('/v1/services', { query: { agency_id: f.agency, 'page.page_size': 500 } })
      .then((r) => live && setServices(r?.services ?? []), () => live && setServices([]));
    return () => { live = false; };
  }, [f.agency]);
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value,
                                   ...(k === 'agency' ? { service: '' } : {}) });
  const locate = () => {
    setGeoError('');
    if (!navigator.geolocation) { setGeoError(t('noLocation')); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => setF({ ...f, lat: p.coords.latitude.toFixed(4), lng: p.coords.longitude.toFixed(4),
                    radius: f.radius || '5' }),
      () => setGeoError(t('noLocation')), { timeout: 10000 });
  };
  const submit = (e) => { e.preventDefault(); onApply(f); };
  return html`<form class="cp-filters" onSubmit=${submit} data-testid="filters"
                    aria-labelledby="cp-filters-h">
    <h2 id="cp-filters-h" class="visually-hidden">${t('filters')}</h2>
    <div class="cp-filter-grid">
      <div><label for="cp-agency">${t('agency')}</label>
        <select id="cp-agency" value=${f.agency} onChange=${set('agency')}>
          <option value="">${t('all')}</option>
          ${agencies.map((a) => html`<option value=${a.id}>${a.name}</option>`)}
          ${f.agency && !agencies.some((a) => a.id === f.agency)
            ? html`<option value=${f.agency}>${f.agency}</option>` : null}
        </select></div>
      <div><label for="cp-service">${t('service')}</label>
        <select id="cp-service" value=${f.service} onChange=${set('service')}
                disabled=${!f.agency && !f.service}>
          <option value="">${t('all')}</option>
          ${services.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
          ${f.service && !services.some((s) => s.id === f.service)
            ? html`<option value=${f.service}>${f.service}</option>` : null}
        </select></div>
      <div><label for="cp-state">${t('state')}</label>
        <select id="cp-state" value=${f.state} onChange=${set('state')} data-testid="filter-state">
          <option value="">${t('all')}</option>
          ${STATES.map((s) => html`<option value=${s}>${stateWords(s)}</option>`)}
        </select></div>
    </div>
    <fieldset class="cp-area">
      <legend>${t('area')}</legend>
      <p class="muted" id="cp-area-hint">${t('areaHint')}</p>
      <div class="cp-filter-grid">
        <div><label for="cp-lat">${t('lat')}</label>
          <input id="cp-lat" inputmode="decimal" value=${f.lat} onInput=${set('lat')}
                 aria-describedby="cp-area-hint" /></div>
        <div><label for="cp-lng">${t('lng')}</label>
          <input id="cp-lng" inputmode="decimal" value=${f.lng} onInput=${set('lng')}
                 aria-describedby="cp-area-hint" /></div>
        <div><label for="cp-radius">${t('radius')}</label>
          <input id="cp-radius" inputmode="decimal" value=${f.radius} onInput=${set('radius')}
                 aria-describedby="cp-area-hint" /></div>
      </div>
      <button type="button" class="secondary" onClick=${locate}>${t('myLocation')}</button>
      ${geoError ? html`<p class="error" role="alert">${geoError}</p>` : null}
    </fieldset>
    <div class="cp-buttons">
      <button type="submit" data-testid="apply-filters">${t('apply')}</button>
      <button type="button" class="secondary"
              onClick=${() => onApply(filtersOf(new URLSearchParams()))}>${t('reset')}</button>
    </div>
  </form>`;
}

function Detail({ id }) {
  const t = texts(TEXT);
  const [state, setState] = useState({ data: null, error: null });
  const names = useNames(state.data ? [state.data.service_id] : []);
  useEffect(() => {
    const ctrl = new AbortController();
    api(`/v1/complaints/${encodeURIComponent(id)}`, { signal: ctrl.signal }).then(
      (r) => setState({ data: r?.public_complaint ?? null, error: null }),
      (error) => { if (error.name !== 'AbortError') setState({ data: null, error }); });
    return () => ctrl.abort();
  }, [id]);
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (!state.data) return html`<${Loading} />`;
  const c = state.data;
  const loc = c.location ?? {};
  const where = [loc.address, loc.region_code,
                 loc.latitude || loc.longitude ? `${loc.latitude ?? 0}, ${loc.longitude ?? 0}` : '']
    .filter(Boolean).join(' · ');
  return html`<div class="cp-detail" data-testid="detail">
    <h3 class="visually-hidden">${t('details')} ${c.id}</h3>
    <p>${stateNote(c)}</p>
    <dl class="cp-facts">
      <div><dt>${t('type')}</dt><dd>${ct(c.report_type)}</dd></div>
      ${c.title ? html`<div><dt>${t('titleField')}</dt><dd>${c.title}</dd></div>` : null}
      <div><dt>${t('description')}</dt><dd class="cp-text">${c.description}</dd></div>
      ${where ? html`<div><dt>${t('location')}</dt><dd>${where}</dd></div>` : null}
      <div><dt>${t('complainant')}</dt><dd>${c.complainant_name || t('anonymous')}</dd></div>
      <div><dt>${t('service')}</dt><dd>${names.service(c.service_id)}</dd></div>
      ${c.rating ? html`<div><dt>${t('rating')}</dt><dd>${t('ratingValue', c.rating)}</dd></div>`
        : null}
      <div><dt>${t('updated')}</dt><dd>${date(c.update_time)}</dd></div>
      ${c.uploaded_attachments?.length
        ? html`<div><dt>${t('images', c.uploaded_attachments.length)}</dt><dd></dd></div>` : null}
    </dl>
    <${Deadlines} deadlines=${c.deadlines} overdue=${c.overdue} heading="h4" />
  </div>`;
}

export default function Page({ query }) {
  const t = texts(TEXT);
  const filters = filtersOf(query);
  const pageNo = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const [tokens, setTokens] = useState(['']);  // tokens[i]: the token of page i+1
  const [result, setResult] = useState({ items: null, next: '', error: null });
  const [open, setOpen] = useState('');
  const heading = useRef(null);
  const filterKey = JSON.stringify(filters);
  const names = useNames((result.items ?? []).map((c) => c.service_id));

  // A change of filters starts again at page 1.
  useEffect(() => { setTokens(['']); }, [filterKey]);

  useEffect(() => {
    const ctrl = new AbortController();
    const token = tokens[pageNo - 1];
    if (token === undefined) {  // a page opened by URL without its token: start again
      navigate(`/pengaduan?${withPage(query, 1)}`, { replace: true });
      return () => ctrl.abort();
    }
    setResult((r) => ({ ...r, items: null, error: null }));
    api('/v1/complaints', { query: apiQuery(filters, token), signal: ctrl.signal }).then(
      (r) => {
        const next = r?.next_page_token ?? '';
        setResult({ items: r?.public_complaints ?? [], next, error: null });
        if (next) setTokens((old) => { const n = old.slice(0, pageNo); n[pageNo] = next; return n; });
      },
      (error) => { if (error.name !== 'AbortError') setResult({ items: [], next: '', error }); });
    return () => ctrl.abort();
  }, [filterKey, pageNo, tokens[pageNo - 1]]);

  const apply = (f) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v !== '') q.set(k, v);
    navigate(`/pengaduan${q.toString() ? `?${q}` : ''}`);
  };
  const go = (n) => {
    navigate(`/pengaduan?${withPage(query, n)}`);
    heading.current?.focus();
  };

  return html`<section class="cp-list">
    <h1 ref=${heading} tabindex="-1">${t('title')}</h1>
    <p>${t('intro')}</p>
    <p class="cp-links"><a href="/pengaduan/baru">${t('fileLink')}</a>${' '}
      · <a href="/lacak">${t('trackLink')}</a></p>
    <${Filters} initial=${filters} onApply=${apply} />
    <${ErrorBox} error=${result.error} />
    ${result.items === null ? html`<${Loading} />` : html`
      <p class="muted" role="status" data-testid="count">${
        result.items.length ? t('count', result.items.length) : t('none')}</p>
      ${result.items.length ? html`<table class="cp-table" data-testid="complaint-list">
        <thead><tr>
          <th scope="col">${t('code')}</th><th scope="col">${t('service')}</th>
          <th scope="col">${t('agency')}</th><th scope="col">${t('state')}</th>
          <th scope="col">${t('filed')}</th><th scope="col">${t('deadline')}</th>
        </tr></thead>
        <tbody>${result.items.map((c) => html`
          <tr key=${c.id} data-testid="complaint-row" data-id=${c.id}>
            <th scope="row">
              <button type="button" class="cp-code" aria-expanded=${open === c.id}
                      aria-controls=${`cp-d-${c.id}`} aria-label=${open === c.id
                        ? t('hide', c.id) : t('show', c.id)}
                      onClick=${() => setOpen(open === c.id ? '' : c.id)}>${c.id}</button>
              ${c.title ? html`<div class="cp-title">${c.title}</div>` : null}
            </th>
            <td>${names.service(c.service_id)}</td>
            <td>${names.agency(c.agency_id)}</td>
            <td><${StateBadge} state=${c.state} /></td>
            <td>${date(c.file_time, { time: false })}</td>
            <td>${c.deadlines?.next ? date(c.deadlines.next, { time: false }) : '–'}
              ${c.overdue ? html` <span class="badge late">${t('overdue')}</span>` : null}</td>
          </tr>
          ${open === c.id ? html`<tr class="cp-detail-row" id=${`cp-d-${c.id}`}>
            <td colspan="6"><${Detail} id=${c.id} /></td></tr>` : null}`)}
        </tbody></table>` : null}
      <nav class="cp-pager" aria-label=${t('page', pageNo)}>
        <button type="button" class="secondary" disabled=${pageNo <= 1}
                onClick=${() => go(pageNo - 1)}>${t('prev')}</button>
        <span>${t('page', pageNo)}</span>
        <button type="button" class="secondary" disabled=${!result.next}
                data-testid="next-page" onClick=${() => go(pageNo + 1)}>${t('next')}</button>
      </nav>`}
  </section>`;
}

function withPage(query, n) {
  const q = new URLSearchParams(query);
  if (n <= 1) q.delete('page'); else q.set('page', String(n));
  return q.toString();
}
