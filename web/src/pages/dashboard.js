// Page "/kinerja": the performance dashboard of a unit, an agency, a region (a Kemendagri code
// prefix: a province "13", a regency or city "13.05") or the nation, for a month, quarter,
// semester or year (?scope=&id=&period=). It shows the satisfaction index (IKM, grade, the
// nine SKM elements, respondents against the minimum sample), delivery times against the
// promised times, complaint figures, the PEKPPP service-policy indicators with what lacks
// evidence, time series (uPlot, with tables), and a ranking of units. Figures follow the
// Watch stream (GET /v1/figures:watch, NDJSON) while the page is open.
import './dashboard.css';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, stream } from '../lib/api.js';
import { count, currentPeriod, decimal, fixed, fromApi, periodBegun, parsePeriod, periodKey, periodLabel,
         periodQuery, REGION_PATTERN, SCOPES, scopeQuery, SERIES_LENGTH, shift, whole }
  from '../lib/dashboard.js';
import { lang, locale, texts } from '../lib/i18n.js';
import { navigate } from '../lib/router.js';
import { agencies, completionTime, unit as readUnit, unitNames } from '../lib/standards.js';
import { ErrorBox, html, Loading } from '../lib/ui.js';

const TEXT = {
  id: {
    title: 'Kinerja pelayanan publik',
    choose: 'Pilih cakupan dan periode',
    scope: 'Cakupan',
    national: 'Nasional',
    region: 'Wilayah',
    agency: 'Instansi',
    unit: 'Unit pelayanan',
    regionCode: 'Kode wilayah (Kemendagri)',
    regionHint: 'Provinsi, mis. 13 (Sumatera Barat), atau kabupaten/kota, mis. 13.05.',
    regionBad: 'Kode wilayah tidak sah: gunakan PP, PP.KK, PP.KK.CC atau PP.KK.CC.DDDD.',
    chooseAgency: 'Pilih instansi',
    chooseUnit: 'Pilih unit',
    periodKind: 'Jenis periode',
    M: 'Bulan', Q: 'Triwulan', S: 'Semester', Y: 'Tahun',
    year: 'Tahun',
    index: 'Periode ke',
    show: 'Tampilkan',
    scopeNational: 'Seluruh Indonesia',
    scopeRegion: (code) => `Wilayah ${code}`,
    live: (time) => `Angka langsung; diperbarui pada ${time}.`,
    connecting: 'Menghubungkan pembaruan langsung…',
    liveLost: 'Pembaruan langsung terputus; mencoba lagi…',
    liveOff: (why) => `Pembaruan langsung tidak tersedia: ${why}`,
    computed: (time) => `Dihitung pada ${time}`,
    ikm: 'Indeks Kepuasan Masyarakat (IKM)',
    ikmShort: 'IKM',
    grade: 'Mutu',
    noIkm: 'Belum ada responden pada periode ini.',
    gradeLabel: { A: 'sangat baik', B: 'baik', C: 'kurang baik', D: 'tidak baik' },
    respondents: 'Responden',
    ofMinimum: (min) => `sampel minimum ${min}`,
    underSampled: 'Sampel kurang',
    underSampledWhy: (n, min, pop) => `${n} responden, di bawah sampel minimum ${min} untuk ` +
      `${pop} pengguna layanan pada periode ini (rumus Krejcie–Morgan, PermenPANRB 14/2017). ` +
      'Nilai IKM tetap ditampilkan, tetapi belum mewakili seluruh pengguna layanan.',
    noPopulation: 'Belum ada penyelesaian layanan tercatat pada periode ini, sehingga sampel ' +
      'minimum tidak dapat dihitung.',
    enough: (n, min, pop) => `${n} responden memenuhi sampel minimum ${min} untuk ${pop} ` +
      'pengguna layanan.',
    voided: (n) => `${n} isian dibatalkan (tidak dihitung).`,
    elements: 'Sembilan unsur SKM',
    element: 'Unsur',
    name: 'Nama',
    nrr: 'NRR',
    elementIkm: 'Nilai (NRR × 25)',
    unanswered: (list) => `Unsur tanpa jawaban: ${list}.`,
    U1: 'Persyaratan', U2: 'Sistem, mekanisme, dan prosedur', U3: 'Waktu penyelesaian',
    U4: 'Biaya/tarif', U5: 'Produk spesifikasi jenis pelayanan', U6: 'Kompetensi pelaksana',
    U7: 'Perilaku pelaksana', U8: 'Sarana dan prasarana',
    U9: 'Penanganan pengaduan, saran dan masukan',
    delivery: 'Ketepatan waktu pelayanan',
    onTime: 'Selesai tepat waktu',
    onTimeOf: (a, b) => `${a} dari ${b} permohonan selesai sesuai janji waktu standar`,
    noOnTime: 'Belum ada permohonan selesai yang dinilai terhadap janji waktu.',
    received: 'Permohonan diterima',
    completed: 'Permohonan selesai',
    median: 'Median waktu penyelesaian',
    p90: 'Persentil ke-90 waktu penyelesaian',
    open: 'Masih berjalan',
    overdue: 'Lewat batas waktu',
    notApplicable: (r, c) => `${r} diterima dan ${c} selesai tanpa janji waktu standar yang ` +
      'berlaku (dihitung volumenya saja).',
    promised: 'Janji waktu standar',
    promisedTime: 'Jangka waktu penyelesaian',
    promisedIntro: 'Setiap permohonan dinilai terhadap jangka waktu penyelesaian standar yang ' +
      'berlaku saat diterima.',
    judgedBy: 'Versi standar yang menilai',
    version: 'Versi standar',
    complaints: 'Pengaduan',
    cReceived: 'Pengaduan diterima',
    cResolved: 'Selesai',
    cResolvedOnTime: 'Selesai tepat waktu',
    cFirstResponse: 'Median hari kerja sampai tanggapan pertama',
    cCompletion: 'Median hari kerja sampai selesai',
    cEscalations: 'Eskalasi',
    cRating: 'Rata-rata penilaian pengadu',
    cRatings: (n) => `dari ${n} penilaian`,
    cBacklog: 'Belum selesai',
    byChannel: 'Menurut kanal',
    byType: 'Menurut jenis',
    noneYet: 'Tidak ada.',
    standards: 'Kebijakan pelayanan (PEKPPP)',
    standardsIntro: (s, a, u) => `${s} layanan, ${a} dengan standar berlaku; ${u} unit.`,
    completeness: 'Rata-rata kelengkapan standar (0–5)',
    reviewOverdue: 'Standar lewat jadwal peninjauan',
    indicator: 'Indikator',
    weight: 'Bobot',
    value: 'Nilai',
    evidence: 'Bukti',
    evidenced: 'ada bukti',
    missing: 'tanpa bukti',
    missingNote: (n) => `${n} indikator belum memiliki bukti di Simpul; nilainya tidak dihitung.`,
    trends: 'Perkembangan',
    chartIkm: 'IKM per periode',
    chartOnTime: 'Persentase selesai tepat waktu',
    chartComplaints: 'Pengaduan diterima',
    seriesSummary: (last, label) => (last === null ? 'Belum ada data.'
      : `Terakhir: ${last} (${label}).`),
    ranking: 'Peringkat unit',
    metric: 'Ukuran',
    METRIC_IKM: 'IKM',
    METRIC_DELIVERY_ON_TIME_SHARE: 'Selesai tepat waktu (%)',
    METRIC_COMPLAINTS_RESOLVED_ON_TIME_SHARE: 'Pengaduan selesai tepat waktu (%)',
    METRIC_COMPLAINTS_RECEIVED: 'Pengaduan diterima',
    METRIC_AVERAGE_RATING: 'Rata-rata penilaian',
    bottom: 'Terendah dahulu',
    rank: 'Peringkat',
    noRanking: 'Tidak ada unit dengan data untuk ukuran ini.',
    unitScopeRanking: 'Peringkat tersedia untuk instansi, wilayah dan nasional.',
    minutes: (n) => `${n} menit`,
    hours: (n) => `${n} jam`,
    days: (n) => `${n} hari`,
    pickScope: 'Lengkapi pilihan cakupan untuk menampilkan angka.',
    notBegun: (label) => `Periode ${label} belum dimulai: pilih periode yang sudah berjalan.`,
  },
  en: {
    title: 'Public service performance',
    choose: 'Choose a scope and period',
    scope: 'Scope',
    national: 'National',
    region: 'Region',
    agency: 'Agency',
    unit: 'Service unit',
    regionCode: 'Region code (Kemendagri)',
    regionHint: 'A province, e.g. 13 (West Sumatra), or a regency or city, e.g. 13.05.',
    regionBad: 'Not a region code: use PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD.',
    chooseAgency: 'Choose an agency',
    chooseUnit: 'Choose a unit',
    periodKind: 'Kind of period',
    M: 'Month', Q: 'Quarter', S: 'Semester', Y: 'Year',
    year: 'Year',
    index: 'Which',
    show: 'Show',
    scopeNational: 'All of Indonesia',
    scopeRegion: (code) => `Region ${code}`,
    live: (time) => `Live figures; updated at ${time}.`,
    connecting: 'Connecting live updates…',
    liveLost: 'Live updates interrupted; retrying…',
    liveOff: (why) => `Live updates unavailable: ${why}`,
    computed: (time) => `Computed at ${time}`,
    ikm: 'Community Satisfaction Index (IKM)',
    ikmShort: 'IKM',
    grade: 'Grade',
    noIkm: 'No respondents in this period yet.',
    gradeLabel: { A: 'very good', B: 'good', C: 'fair', D: 'poor' },
    respondents: 'Respondents',
    ofMinimum: (min) => `minimum sample ${min}`,
    underSampled: 'Under-sampled',
    underSampledWhy: (n, min, pop) => `${n} respondents, below the minimum sample of ${min} ` +
      `for ${pop} service users in this period (Krejcie–Morgan, PermenPANRB 14/2017). The index ` +
      'is shown, but it does not yet represent all service users.',
    noPopulation: 'No completed services are recorded in this period, so the minimum sample ' +
      'cannot be computed.',
    enough: (n, min, pop) => `${n} respondents meet the minimum sample of ${min} for ${pop} ` +
      'service users.',
    voided: (n) => `${n} questionnaires voided (not counted).`,
    elements: 'The nine SKM elements',
    element: 'Element',
    name: 'Name',
    nrr: 'NRR',
    elementIkm: 'Score (NRR × 25)',
    unanswered: (list) => `Elements nobody answered: ${list}.`,
    U1: 'Requirements', U2: 'System, mechanism and procedure', U3: 'Completion time',
    U4: 'Fee', U5: 'Product specification', U6: 'Staff competence', U7: 'Staff behaviour',
    U8: 'Facilities and infrastructure', U9: 'Handling of complaints, suggestions and input',
    delivery: 'Timeliness of service delivery',
    onTime: 'Completed on time',
    onTimeOf: (a, b) => `${a} of ${b} applications completed within the standard's promised time`,
    noOnTime: 'No completed application was judged against a promised time yet.',
    received: 'Applications received',
    completed: 'Applications completed',
    median: 'Median completion time',
    p90: '90th percentile completion time',
    open: 'Still open',
    overdue: 'Past the deadline',
    notApplicable: (r, c) => `${r} received and ${c} completed with no standard promise in force ` +
      '(counted for volume only).',
    promised: 'Promised times of the standards',
    promisedTime: 'Promised time',
    promisedIntro: 'Each application is judged against the completion time of the standard in ' +
      'force when it was received.',
    judgedBy: 'Standard versions that judged',
    version: 'Standard version',
    complaints: 'Complaints',
    cReceived: 'Complaints received',
    cResolved: 'Resolved',
    cResolvedOnTime: 'Resolved on time',
    cFirstResponse: 'Median working days to first response',
    cCompletion: 'Median working days to completion',
    cEscalations: 'Escalations',
    cRating: 'Average rating by complainants',
    cRatings: (n) => `from ${n} rating${n === 1 ? '' : 's'}`,
    cBacklog: 'Open',
    byChannel: 'By channel',
    byType: 'By type',
    noneYet: 'None.',
    standards: 'Service policy (PEKPPP)',
    standardsIntro: (s, a, u) => `${s} service${s === 1 ? '' : 's'}, ${a} with a standard in ` +
      `force; ${u} unit${u === 1 ? '' : 's'}.`,
    completeness: 'Mean completeness of standards (0–5)',
    reviewOverdue: 'Standards overdue for review',
    indicator: 'Indicator',
    weight: 'Weight',
    value: 'Value',
    evidence: 'Evidence',
    evidenced: 'evidenced',
    missing: 'no evidence',
    missingNote: (n) => `${n} indicator${n === 1 ? ' has' : 's have'} no evidence in Simpul; ` +
      'no value is computed for them.',
    trends: 'Trends',
    chartIkm: 'IKM per period',
    chartOnTime: 'Share completed on time',
    chartComplaints: 'Complaints received',
    seriesSummary: (last, label) => (last === null ? 'No data yet.' : `Latest: ${last} (${label}).`),
    ranking: 'Ranking of units',
    metric: 'Metric',
    METRIC_IKM: 'IKM',
    METRIC_DELIVERY_ON_TIME_SHARE: 'Completed on time (%)',
    METRIC_COMPLAINTS_RESOLVED_ON_TIME_SHARE: 'Complaints resolved on time (%)',
    METRIC_COMPLAINTS_RECEIVED: 'Complaints received',
    METRIC_AVERAGE_RATING: 'Average rating',
    bottom: 'Lowest first',
    rank: 'Rank',
    noRanking: 'No unit has data for this metric.',
    unitScopeRanking: 'Rankings are available for agencies, regions and the nation.',
    minutes: (n) => `${n} min`,
    hours: (n) => `${n} h`,
    days: (n) => `${n} days`,
    pickScope: 'Complete the scope to show figures.',
    notBegun: (label) => `${label} has not begun yet: choose a period that has.`,
  },
};

// The PEKPPP service-policy indicators in Indonesian (the API names and explains them in
// English); an indicator not listed here shows the API's own text.
const INDICATORS_ID = {
  standard_available: ['Standar pelayanan tersedia',
                       'rata-rata skor kelengkapan standar (0–5) layanan pada cakupan ini'],
  community_involved: ['Pelibatan masyarakat',
                       'persen layanan yang standarnya mencatat konsultasi publik'],
  publication_media: ['Media publikasi', 'persen layanan yang standarnya mencatat media publikasi'],
  periodic_review: ['Peninjauan berkala',
                    'persen layanan yang standarnya tidak melewati jadwal peninjauan'],
  maklumat: ['Maklumat pelayanan', 'persen unit yang maklumat pelayanannya dipublikasikan'],
  skm_done: ['Survei kepuasan dilaksanakan', 'persen unit yang memiliki responden SKM pada periode ini'],
  skm_published: ['Hasil survei dipublikasikan',
                  'Simpul tidak memiliki catatan publikasi hasil survei'],
  skm_follow_up_share: ['Tindak lanjut hasil survei',
                        'Simpul tidak memiliki catatan tindak lanjut hasil survei'],
  skm_follow_up_speed: ['Kecepatan tindak lanjut survei',
                        'Simpul tidak memiliki catatan tindak lanjut hasil survei'],
};

function indicatorText(i, l) {
  const id = l === 'id' ? INDICATORS_ID[i.key] : null;
  return id ? { name: id[0], evidence: id[1] } : { name: i.name, evidence: i.evidence };
}

const ELEMENTS = ['U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'U7', 'U8', 'U9'];
const METRICS = ['METRIC_IKM', 'METRIC_DELIVERY_ON_TIME_SHARE',
                 'METRIC_COMPLAINTS_RESOLVED_ON_TIME_SHARE', 'METRIC_COMPLAINTS_RECEIVED',
                 'METRIC_AVERAGE_RATING'];
const CHANNELS = {
  id: { WEB: 'Situs web', SMS: 'SMS 1708', MOBILE_APP: 'Aplikasi seluler', SOCIAL_MEDIA: 'Media sosial',
        EMAIL: 'Surel', PHONE: 'Telepon', WALK_IN: 'Datang langsung', COMPLAINT_BOX: 'Kotak pengaduan',
        PARTNER_SYSTEM: 'Sistem mitra', COMPLAINT: 'Pengaduan', ASPIRATION: 'Aspirasi',
        INFORMATION_REQUEST: 'Permintaan informasi' },
  en: { WEB: 'Website', SMS: 'SMS 1708', MOBILE_APP: 'Mobile app', SOCIAL_MEDIA: 'Social media',
        EMAIL: 'Email', PHONE: 'Phone', WALK_IN: 'Walk-in', COMPLAINT_BOX: 'Complaint box',
        PARTNER_SYSTEM: 'Partner system', COMPLAINT: 'Complaint', ASPIRATION: 'Aspiration',
        INFORMATION_REQUEST: 'Information request' },
};

function readUrl(query) {
  const scope = SCOPES.includes(query.get('scope')) ? query.get('scope') : 'national';
  const id = scope === 'national' ? '' : (query.get('id') ?? '').trim();
  const period = parsePeriod(query.get('period')) ?? currentPeriod('M');
  return { scope, id, period };
}

function dashboardPath({ scope, id, period }) {
  const p = new URLSearchParams({ scope });
  if (scope !== 'national') p.set('id', id);
  p.set('period', periodKey(period));
  return `/kinerja?${p}`;
}

function duration(minutes, t) {
  const m = count(minutes);
  if (m < 60) return t('minutes', m);
  if (m < 24 * 60) return t('hours', fixed(m / 60, 1));
  return t('days', fixed(m / (24 * 60), 1));
}

function clock(date) {
  return date.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// --- Pickers ---------------------------------------------------------------------------------

// The pickers' lists (agencies, units) are read once the charts have their data (`start`),
// or at once when the scope is changed: they are not on the way to the first figures.
function Pickers({ value, start, t }) {
  const [draft, setDraft] = useState(value);
  const [agencyList, setAgencyList] = useState([]);
  const [unitList, setUnitList] = useState([]);
  const [regionError, setRegionError] = useState('');
  useEffect(() => { setDraft(value); setRegionError(''); },
            [value.scope, value.id, periodKey(value.period)]);
  const wanted = start || draft.scope !== value.scope;
  useEffect(() => {
    if (!wanted) return undefined;
    let live = true;
    agencies().then((list) => live && setAgencyList(list), () => {});
    return () => { live = false; };
  }, [wanted]);
  useEffect(() => {
    if (draft.scope !== 'unit' || !wanted) return undefined;
    let live = true;
    api('/v1/units', { query: { 'page.page_size': 500 } }).then(
      (r) => live && setUnitList((r?.units ?? []).sort((a, b) => a.name.localeCompare(b.name, 'id'))),
      () => {});
    return () => { live = false; };
  }, [draft.scope, wanted]);

  const regions = useMemo(() => {
    const codes = new Set();
    for (const a of agencyList) {
      if (!a.region_code) continue;
      codes.add(a.region_code.slice(0, 2));
      codes.add(a.region_code);
    }
    return [...codes].sort();
  }, [agencyList]);

  const p = draft.period;
  const years = [];
  for (let y = currentPeriod('Y').year; y >= 2020; y--) years.push(y);
  if (!years.includes(p.year)) years.unshift(p.year);
  const setKind = (k) => {
    const now = currentPeriod(k);
    setDraft({ ...draft, period: { k, year: p.year, index: p.year === now.year ? now.index
      : (k === 'Y' ? 0 : 1) } });
  };
  const submit = (event) => {
    event.preventDefault();
    if (draft.scope === 'region' && !REGION_PATTERN.test(draft.id)) {
      setRegionError(t('regionBad'));
      return;
    }
    navigate(dashboardPath(draft));
  };
  const indexChoices = p.k === 'Y' ? [] : Array.from({ length: { M: 12, Q: 4, S: 2 }[p.k] },
                                                     (_, i) => ({ k: p.k, year: p.year, index: i + 1 }));
  return html`<form class="dash-form" onSubmit=${submit} aria-labelledby="dash-choose"
                    data-testid="dashboard-pickers">
    <h2 id="dash-choose" class="visually-hidden">${t('choose')}</h2>
    <div>
      <label for="dash-scope">${t('scope')}</label>
      <select id="dash-scope" value=${draft.scope} data-testid="scope-picker"
              onChange=${(e) => setDraft({ ...draft, scope: e.currentTarget.value, id: '' })}>
        ${SCOPES.map((s) => html`<option value=${s}>${t(s)}</option>`)}
      </select>
    </div>
    ${draft.scope === 'region' ? html`<div>
      <label for="dash-region">${t('regionCode')}</label>
      <input id="dash-region" value=${draft.id} list="dash-regions" inputmode="decimal"
             data-testid="region-input" aria-describedby="dash-region-hint dash-region-error"
             aria-invalid=${regionError ? 'true' : undefined}
             onInput=${(e) => setDraft({ ...draft, id: e.currentTarget.value.trim() })} />
      <datalist id="dash-regions">${regions.map((c) => html`<option value=${c} />`)}</datalist>
      <p id="dash-region-hint" class="muted hint">${t('regionHint')}</p>
      <p id="dash-region-error" class="field-error" role="alert">${regionError}</p>
    </div>` : null}
    ${draft.scope === 'agency' ? html`<div>
      <label for="dash-agency">${t('agency')}</label>
      <select id="dash-agency" value=${draft.id} required data-testid="agency-picker"
              onChange=${(e) => setDraft({ ...draft, id: e.currentTarget.value })}>
        <option value="">${t('chooseAgency')}</option>
        ${agencyList.map((a) => html`<option value=${a.id}>${a.name}</option>`)}
      </select>
    </div>` : null}
    ${draft.scope === 'unit' ? html`<div>
      <label for="dash-unit">${t('unit')}</label>
      <select id="dash-unit" value=${draft.id} required data-testid="unit-picker"
              onChange=${(e) => setDraft({ ...draft, id: e.currentTarget.value })}>
        <option value="">${t('chooseUnit')}</option>
        ${unitList.map((u) => html`<option value=${u.id}>${u.name}</option>`)}
        ${draft.id && !unitList.some((u) => u.id === draft.id)
          ? html`<option value=${draft.id}>${draft.id}</option>` : null}
      </select>
    </div>` : null}
    <div>
      <label for="dash-kind">${t('periodKind')}</label>
      <select id="dash-kind" value=${p.k} data-testid="period-kind"
              onChange=${(e) => setKind(e.currentTarget.value)}>
        ${['M', 'Q', 'S', 'Y'].map((k) => html`<option value=${k}>${t(k)}</option>`)}
      </select>
    </div>
    <div>
      <label for="dash-year">${t('year')}</label>
      <select id="dash-year" value=${String(p.year)} data-testid="period-year"
              onChange=${(e) => setDraft({ ...draft, period: { ...p, year: Number(e.currentTarget.value) } })}>
        ${years.map((y) => html`<option value=${String(y)}>${y}</option>`)}
      </select>
    </div>
    ${p.k !== 'Y' ? html`<div>
      <label for="dash-index">${t(p.k)}</label>
      <select id="dash-index" value=${String(p.index)} data-testid="period-index"
              onChange=${(e) => setDraft({ ...draft, period: { ...p, index: Number(e.currentTarget.value) } })}>
        ${indexChoices.map((c) => html`<option value=${String(c.index)}>${periodLabel(c)}</option>`)}
      </select>
    </div>` : null}
    <div class="dash-submit"><button type="submit" data-testid="dashboard-show">${t('show')}</button></div>
  </form>`;
}

// --- Figures ---------------------------------------------------------------------------------

function Stat({ label, value, detail, testid, tone }) {
  return html`<div class=${`card dash-stat ${tone ?? ''}`}>
    <p class="dash-stat-label">${label}</p>
    <p class="dash-stat-value" data-testid=${testid}>${value}</p>
    ${detail ? html`<p class="dash-stat-detail">${detail}</p>` : null}
  </div>`;
}

function Survey({ s, t }) {
  const respondents = count(s?.respondents);
  const min = count(s?.minimum_sample);
  const pop = count(s?.population);
  const ikm = decimal(s?.ikm);
  const byElement = Object.fromEntries((s?.elements ?? []).map((e) => [e.element, e]));
  let sampleNote;
  if (!pop) sampleNote = t('noPopulation');
  else if (s?.under_sampled) sampleNote = t('underSampledWhy', respondents, min, pop);
  else sampleNote = t('enough', respondents, min, pop);
  return html`<section aria-labelledby="dash-ikm" data-testid="survey">
    <h2 id="dash-ikm">${t('ikm')}</h2>
    <div class="cards dash-stats">
      <${Stat} label=${t('ikmShort')} testid="ikm" value=${ikm === null ? '–' : fixed(ikm)}
               detail=${ikm === null ? t('noIkm') : html`${t('grade')} <span class="dash-grade"
                 data-testid="grade">${s.grade}</span> (${t('gradeLabel')[s.grade] ??
                 s.grade_label})`} />
      <${Stat} label=${t('respondents')} testid="respondents"
               value=${whole(respondents)}
               tone=${s?.under_sampled ? 'warn' : ''}
               detail=${html`${min ? t('ofMinimum', whole(min)) : ''}${
                 s?.under_sampled ? html` <span class="badge late" data-testid="under-sampled"
                   >${t('underSampled')}</span>` : null}`} />
    </div>
    <p class=${s?.under_sampled ? 'notice warn' : 'muted'} data-testid="sample-note">${sampleNote}
      ${count(s?.voided) ? ` ${t('voided', count(s.voided))}` : ''}</p>
    <div class="dash-scroll"><table data-testid="elements">
      <caption>${t('elements')}</caption>
      <thead><tr><th scope="col">${t('element')}</th><th scope="col">${t('name')}</th>
        <th scope="col">${t('respondents')}</th><th scope="col">${t('nrr')}</th>
        <th scope="col">${t('elementIkm')}</th></tr></thead>
      <tbody>${ELEMENTS.map((code) => {
        const e = byElement[code];
        return html`<tr data-testid=${`element-${code}`}><th scope="row">${code}</th>
          <td>${t(code)}</td><td>${whole(count(e?.respondents))}</td>
          <td>${e?.nrr ? fixed(e.nrr) : '–'}</td><td>${e?.ikm ? fixed(e.ikm) : '–'}</td></tr>`;
      })}</tbody>
    </table></div>
    ${s?.unanswered_elements?.length
      ? html`<p class="notice">${t('unanswered', s.unanswered_elements.join(', '))}</p>` : null}
  </section>`;
}

function Delivery({ d, promised, t }) {
  const share = decimal(d?.on_time_share);
  const judged = count(d?.completed) - count(d?.completed_not_applicable);
  return html`<section aria-labelledby="dash-dlv" data-testid="delivery">
    <h2 id="dash-dlv">${t('delivery')}</h2>
    <div class="cards dash-stats">
      <${Stat} label=${t('onTime')} testid="on-time-share"
               value=${share === null ? '–' : `${fixed(share)}%`}
               detail=${judged > 0 ? t('onTimeOf', count(d?.completed_on_time), judged) : t('noOnTime')} />
      <${Stat} label=${t('received')} value=${whole(count(d?.received))}
               testid="delivery-received" />
      <${Stat} label=${t('completed')} value=${whole(count(d?.completed))} />
      <${Stat} label=${t('median')} value=${count(d?.completed) ? duration(d.median_minutes, t) : '–'}
               detail=${count(d?.completed) ? `${t('p90')}: ${duration(d.p90_minutes, t)}` : null} />
      <${Stat} label=${t('open')} value=${whole(count(d?.open))}
               tone=${count(d?.open_overdue) ? 'warn' : ''}
               detail=${`${t('overdue')}: ${whole(count(d?.open_overdue))}`} />
    </div>
    ${count(d?.received_not_applicable) || count(d?.completed_not_applicable)
      ? html`<p class="notice">${t('notApplicable', count(d.received_not_applicable),
                                   count(d.completed_not_applicable))}</p>` : null}
    <p class="muted">${t('promisedIntro')}</p>
    ${promised?.length ? html`<div class="dash-scroll"><table data-testid="promised">
      <caption>${t('promised')}</caption>
      <thead><tr><th scope="col">${t('version')}</th><th scope="col">${t('promisedTime')}</th>
        <th scope="col">${t('completed')}</th><th scope="col">${t('onTime')}</th></tr></thead>
      <tbody>${promised.map((row) => html`<tr><th scope="row"><a href=${`/standar/${
        encodeURIComponent(row.serviceId)}`}>${row.name}</a></th><td>${row.time}</td>
        <td>${row.completed ?? '–'}</td><td>${row.onTime ?? '–'}</td></tr>`)}</tbody>
    </table></div>` : null}
  </section>`;
}

function Breakdown({ title, map, lang: l, t }) {
  const entries = Object.entries(map ?? {}).sort((a, b) => Number(b[1]) - Number(a[1]));
  return html`<div><h3>${title}</h3>${entries.length ? html`<ul class="dash-breakdown">${entries
    .map(([k, v]) => html`<li><span>${CHANNELS[l]?.[k] ?? k}</span> <strong>${whole(v)}</strong>
      </li>`)}</ul>` : html`<p class="muted">${t('noneYet')}</p>`}
  </div>`;
}

function Complaints({ c, t, l }) {
  const share = decimal(c?.resolved_on_time_share);
  const rating = decimal(c?.average_rating);
  return html`<section aria-labelledby="dash-cmp" data-testid="complaints">
    <h2 id="dash-cmp">${t('complaints')}</h2>
    <div class="cards dash-stats">
      <${Stat} label=${t('cReceived')} testid="complaints-received"
               value=${whole(count(c?.received))} />
      <${Stat} label=${t('cResolved')} value=${whole(count(c?.resolved))}
               detail=${`${t('cResolvedOnTime')}: ${count(c?.resolved_on_time)}${
                 share === null ? '' : ` (${fixed(share)}%)`}`} />
      <${Stat} label=${t('cBacklog')} value=${whole(count(c?.open_backlog))}
               detail=${`${t('cEscalations')}: ${count(c?.escalations)}`} />
      <${Stat} label=${t('cFirstResponse')} value=${count(c?.received)
        ? whole(count(c?.median_working_days_to_first_response)) : '–'} />
      <${Stat} label=${t('cCompletion')} value=${count(c?.resolved)
        ? whole(count(c?.median_working_days_to_completion)) : '–'} />
      <${Stat} label=${t('cRating')} value=${rating === null ? '–' : `${fixed(rating)} / 5`}
               detail=${count(c?.ratings) ? t('cRatings', count(c.ratings)) : null} />
    </div>
    <div class="dash-two">
      <${Breakdown} title=${t('byChannel')} map=${c?.by_channel} lang=${l} t=${t} />
      <${Breakdown} title=${t('byType')} map=${c?.by_type} lang=${l} t=${t} />
    </div>
  </section>`;
}

function Policy({ s, t, l }) {
  const indicators = s?.indicators ?? [];
  const missing = indicators.filter((i) => !i.evidenced).length;
  return html`<section aria-labelledby="dash-pol" data-testid="policy">
    <h2 id="dash-pol">${t('standards')}</h2>
    <p>${t('standardsIntro', count(s?.services), count(s?.services_with_adopted_standard),
          count(s?.units))}
      ${' '}${t('completeness')}: <strong>${s?.average_completeness ? fixed(s.average_completeness) : '–'}</strong>;
      ${' '}${t('reviewOverdue')}: <strong>${count(s?.review_overdue)}</strong>.</p>
    ${missing ? html`<p class="notice" data-testid="missing-evidence">${t('missingNote', missing)}</p>`
      : null}
    ${indicators.length ? html`<div class="dash-scroll"><table>
      <caption class="visually-hidden">${t('standards')}</caption>
      <thead><tr><th scope="col">${t('indicator')}</th><th scope="col">${t('weight')}</th>
        <th scope="col">${t('value')}</th><th scope="col">${t('evidence')}</th></tr></thead>
      <tbody>${indicators.map((i) => html`<tr><th scope="row">${indicatorText(i, l).name}</th>
        <td>${i.weight_percent ?? 0}%</td>
        <td>${i.evidenced ? fixed(i.value) : html`<span class="badge late">${t('missing')}</span>`}</td>
        <td>${indicatorText(i, l).evidence}</td></tr>`)}</tbody>
    </table></div>` : null}
  </section>`;
}

const RANKING_SIZE = 10;

// The ranking is read after the figures and series (`start`): it is further down the page.
function Ranking({ value, start, t }) {
  const [metric, setMetric] = useState('METRIC_IKM');
  const [bottom, setBottom] = useState(false);
  const [state, setState] = useState({ rows: null, error: null });
  const [names, setNames] = useState({});
  const key = `${value.scope}|${value.id}|${periodKey(value.period)}`;
  useEffect(() => {
    if (value.scope === 'unit' || !start) return undefined;
    const controller = new AbortController();
    setState((s) => ({ ...s, error: null }));
    api('/v1/rankings', { signal: controller.signal, query: {
      ...scopeQuery(value), ...periodQuery(value.period), metric, limit: RANKING_SIZE,
      bottom: bottom ? 'true' : undefined } })
      .then((r) => {
        const rows = r?.units ?? [];
        setState({ rows, error: null });
        unitNames(rows.map((row) => row.unit_id), {
          agencyId: value.scope === 'agency' ? value.id : '',
          regionPrefix: value.scope === 'region' ? value.id : '',
          signal: controller.signal,
          onName: (id, name) => !controller.signal.aborted && setNames((n) => ({ ...n, [id]: name })),
        });
      }, (error) => { if (error.name !== 'AbortError') setState({ rows: null, error }); });
    return () => controller.abort();
  }, [key, metric, bottom, start]);

  if (value.scope === 'unit') return null;
  return html`<section aria-labelledby="dash-rank" data-testid="ranking">
    <h2 id="dash-rank">${t('ranking')}</h2>
    <div class="dash-rank-controls">
      <div><label for="dash-metric">${t('metric')}</label>
        <select id="dash-metric" value=${metric} onChange=${(e) => setMetric(e.currentTarget.value)}>
          ${METRICS.map((m) => html`<option value=${m}>${t(m)}</option>`)}
        </select></div>
      <div class="dash-check"><input type="checkbox" id="dash-bottom" checked=${bottom}
        onChange=${(e) => setBottom(e.currentTarget.checked)} />
        <label for="dash-bottom">${t('bottom')}</label></div>
    </div>
    ${state.error ? html`<${ErrorBox} error=${state.error} />` : !state.rows ? html`<${Loading} />`
      : !state.rows.length ? html`<p class="muted">${t('noRanking')}</p>`
      : html`<div class="dash-scroll"><table data-testid="ranking-table">
        <caption class="visually-hidden">${t('ranking')}: ${t(metric)}</caption>
        <thead><tr><th scope="col">${t('rank')}</th><th scope="col">${t('unit')}</th>
          <th scope="col">${t(metric)}</th></tr></thead>
        <tbody>${state.rows.map((row, i) => html`<tr><td>${i + 1}</td>
          <th scope="row"><a href=${dashboardPath({ scope: 'unit', id: row.unit_id,
            period: value.period })}>${names[row.unit_id] ?? row.unit_id}</a></th>
          <td>${fixed(row.value)}</td></tr>`)}</tbody></table></div>`}
  </section>`;
}

// --- Time series -----------------------------------------------------------------------------

const SERIES = [
  ['ikm', 'METRIC_IKM', 'chartIkm'],
  ['ontime', 'METRIC_DELIVERY_ON_TIME_SHARE', 'chartOnTime'],
  ['complaints', 'METRIC_COMPLAINTS_RECEIVED', 'chartComplaints'],
];

// The chosen period's point of each series follows the live figures.
function liveValue(id, figures) {
  if (!figures) return undefined;
  if (id === 'ikm') return decimal(figures.survey?.ikm);
  if (id === 'ontime') return decimal(figures.delivery?.on_time_share);
  return count(figures.complaints?.received);
}

// uPlot (most of this page's code) is its own chunk, loaded while the data is on its way
// rather than before the first request leaves.
const chartsLoading = import('../lib/charts.js');
let LoadedChart = null;
chartsLoading.then((m) => { LoadedChart = m.Chart; }, () => {});

function useChart() {
  const [chart, setChart] = useState(() => LoadedChart);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (chart) return undefined;
    let live = true;
    chartsLoading.then((m) => live && setChart(() => m.Chart), (e) => live && setError(e));
    return () => { live = false; };
  }, []);
  return [chart, error];
}

function Trends({ series, figures, t }) {
  const [Chart, chartError] = useChart();
  if (chartError) return html`<${ErrorBox} error=${chartError} />`;
  if (!series || !Chart) return html`<${Loading} />`;
  return html`<section aria-labelledby="dash-trend" data-testid="trends">
    <h2 id="dash-trend">${t('trends')}</h2>
    <div class="dash-charts">${SERIES.map(([id, , title]) => {
      const s = series[id];
      if (s.error) return html`<div><h3>${t(title)}</h3><${ErrorBox} error=${s.error} /></div>`;
      const labels = s.points.map((p) => periodLabel(fromApi(p.period), { short: true }));
      const values = s.points.map((p) => decimal(p.value));
      const live = liveValue(id, figures);
      if (values.length && live !== undefined) values[values.length - 1] = live;
      const last = [...values].reverse().find((v) => v !== null) ?? null;
      const lastIndex = values.lastIndexOf(last);
      const fmt = id === 'complaints' ? (v) => whole(v)
        : id === 'ontime' ? (v) => `${fixed(v, 0)}%` : (v) => fixed(v, 0);
      const exact = id === 'complaints' ? fmt : id === 'ontime' ? (v) => `${fixed(v)}%` : (v) => fixed(v);
      return html`<${Chart} key=${id} id=${id} title=${t(title)} labels=${labels}
        series=${[{ label: t(title), values }]} format=${fmt}
        range=${id === 'ikm' ? [25, 100] : id === 'ontime' ? [0, 100] : undefined}
        summary=${t('seriesSummary', last === null ? null : exact(last), labels[lastIndex])} />`;
    })}</div>
  </section>`;
}

// --- Page ------------------------------------------------------------------------------------

// sameFigures: equal but for the time they were computed.
function sameFigures(a, b) {
  if (!a || !b) return false;
  return JSON.stringify({ ...a, computed_time: '' }) === JSON.stringify({ ...b, computed_time: '' });
}

const SERIES_WAIT_MS = 300;
const delay = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

const keyOf = (value) => `${value.scope}|${value.id}|${periodKey(value.period)}`;

// startLoad asks for the figures and the time series of a scope and period at once.
function startLoad(value) {
  const sq = scopeQuery(value);
  const figures = api('/v1/figures', { query: { ...sq, ...periodQuery(value.period) } });
  const n = SERIES_LENGTH[value.period.k];
  const from = shift(value.period, -(n - 1));
  const series = Promise.all(SERIES.map(([id, metric]) => api('/v1/timeSeries', { query: {
    ...sq, metric, ...periodQuery(from, 'from'), count: n } }).then(
    (r) => [id, { points: r?.points ?? [], error: null }],
    (error) => [id, { points: [], error }])));
  figures.catch(() => {});  // handled by the page; not an unhandled rejection meanwhile
  return { key: keyOf(value), figures, series, at: Date.now() };
}

// Opened directly on /kinerja: the data is asked for as soon as this module runs, before the
// first render, which saves a frame and the effect's delay on the way to the first chart.
let prefetched = null;
if (window.location.pathname === '/kinerja') {
  const value = readUrl(new URLSearchParams(window.location.search));
  if ((value.scope === 'national' || value.id) && periodBegun(value.period)) {
    prefetched = startLoad(value);
  }
}


function scopeName(value, names, t) {
  if (value.scope === 'national') return t('scopeNational');
  if (value.scope === 'region') return t('scopeRegion', value.id);
  return names[value.id] ?? value.id;
}

export default function Page({ query }) {
  const t = texts(TEXT);
  const l = lang();
  const value = readUrl(query);
  const key = keyOf(value);
  const begun = periodBegun(value.period);
  const ready = (value.scope === 'national' || Boolean(value.id)) && begun;

  const [figures, setFigures] = useState({ data: null, error: null });
  const [series, setSeries] = useState(null);
  const [live, setLive] = useState({ state: 'connecting', at: null, why: '' });
  const [names, setNames] = useState({});
  const [promisedRows, setPromisedRows] = useState(null);

  // Figures, series and the name of the scope: all at once (prefetched when the page was
  // opened directly).
  useEffect(() => {
    if (!ready) return undefined;
    let live = true;
    const controller = new AbortController();
    const { signal } = controller;
    setFigures({ data: null, error: null });
    setSeries(null);
    setPromisedRows(null);
    const loading = prefetched?.key === key && Date.now() - prefetched.at < 10000 ? prefetched
      : startLoad(value);
    prefetched = null;
    // Figures and series are shown together (one render and layout, not two) when the series
    // follow the figures closely; the figures never wait more than SERIES_WAIT_MS for them.
    let seriesShown = false;
    const showSeries = (entries) => {
      if (!live || seriesShown) return;
      seriesShown = true;
      setSeries(Object.fromEntries(entries));
    };
    loading.figures.then((r) => ({ r }), (error) => ({ error })).then((got) => Promise.race([
      loading.series, delay(SERIES_WAIT_MS)]).then((entries) => {
      if (!live) return;
      if (entries) showSeries(entries);
      if (got.error) setFigures({ data: null, error: got.error });
      else {
        setFigures((f) => (f.data && f.data.computed_time > (got.r?.figures?.computed_time ?? '')
          ? f : { data: got.r?.figures ?? null, error: null }));
      }
    }));
    loading.series.then(showSeries);
    if (value.scope === 'agency') {
      agencies().then((list) => {
        const a = list.find((x) => x.id === value.id);
        if (a && live) setNames((m) => ({ ...m, [a.id]: a.name }));
      }, () => {});
    }
    if (value.scope === 'unit') {
      readUnit(value.id).then((u) => live && setNames((m) => ({ ...m, [u.id]: u.name })),
                              () => {});
      // The promised times of the unit's standards, for the delivery section.
      api('/v1/standards', { signal, query: { unit_id: value.id, 'page.page_size': 100 } }).then(
        (r) => live && setPromisedRows((r?.versions ?? []).map((v) => ({
          id: v.id, serviceId: v.service_id, name: `${v.service_name} (v${v.version_number})`,
          completion: v.components?.completion_time }))), () => {});
    }
    return () => { live = false; controller.abort(); };
  }, [key]);

  // Live updates: the Watch stream, opened once the first figures have come (its first
  // message is the current figures, so nothing in between is missed, and it does not compete
  // with the first requests), reopened after a pause when it ends or breaks.
  const firstFigures = Boolean(figures.data || figures.error);
  useEffect(() => {
    if (!ready || !firstFigures) return undefined;
    const controller = new AbortController();
    let timer = null;
    let first = true;
    const open = () => {
      setLive((s) => ({ ...s, state: first ? 'connecting' : 'lost' }));
      stream('/v1/figures:watch', {
        signal: controller.signal,
        query: { ...scopeQuery(value), ...periodQuery(value.period) },
        onItem: (item) => {
          if (!item?.figures) return;
          first = false;
          // The same figures again (the stream's first message repeats GetFigures) change
          // nothing on the page: the sections below are not rendered again.
          setFigures((prev) => (sameFigures(prev.data, item.figures) ? prev
            : { data: item.figures, error: null }));
          setLive({ state: 'live', at: new Date(), why: '' });
        },
      }).then(() => {
        if (!controller.signal.aborted) timer = setTimeout(open, 3000);
      }, (error) => {
        if (controller.signal.aborted) return;
        // A refused watch (bad scope or period) is not retried; a busy gateway (429: too
        // many streams or calls) and a broken connection are, after a pause.
        if (error instanceof ApiError && error.status >= 400 && error.status < 500 &&
            error.status !== 429) {
          setLive({ state: 'off', at: null, why: error.message });
        } else {
          setLive((s) => ({ ...s, state: 'lost' }));
          timer = setTimeout(open, error?.status === 429 ? 10000 : 3000);
        }
      });
    };
    open();
    return () => { controller.abort(); clearTimeout(timer); };
  }, [key, firstFigures]);

  const f = figures.data;
  // Promised times joined with the completions each version judged (unit scope).
  const promised = useMemo(() => {
    if (!promisedRows) return null;
    const judged = Object.fromEntries((f?.delivery?.judged_by ?? [])
      .map((j) => [j.standard_version_id, j]));
    const extra = Object.keys(judged).filter((id) => !promisedRows.some((r) => r.id === id));
    return [...promisedRows, ...extra.map((id) => ({ id, serviceId: id.replace(/\.v\d+$/, ''),
                                                      name: id }))]
      .map((row) => {
        const j = judged[row.id];
        return { ...row, time: row.completion ? completionTime(row.completion) : '–',
                 completed: j ? whole(count(j.completed)) : null,
                 onTime: j ? whole(count(j.completed_on_time)) : null };
      });
  }, [promisedRows, f, l]);

  // The sections are rendered again only when their data or the language change, not on
  // every tick of the live status line.
  const figureSections = useMemo(() => (figures.error ? html`<${ErrorBox} error=${figures.error} />`
    : !f ? html`<${Loading} />` : html`
      <${Survey} s=${f.survey} t=${t} />
      <${Delivery} d=${f.delivery} promised=${promised} t=${t} />
      <${Complaints} c=${f.complaints} t=${t} l=${l} />`), [figures, promised, l]);
  const trends = useMemo(() => html`<${Trends} series=${series} figures=${f} t=${t} />`,
                         [series, f, l]);
  const policy = useMemo(() => (f ? html`<${Policy} s=${f.standards} t=${t} l=${l} />` : null),
                         [f, l]);

  return html`<section class="dash" data-testid="dashboard">
    <h1>${t('title')}</h1>
    <${Pickers} value=${value} start=${!ready || Boolean(series) || Boolean(figures.error)} t=${t} />
    ${!begun ? html`<p class="notice" data-testid="not-begun">${t('notBegun',
      periodLabel(value.period))}</p>` : !ready ? html`<p class="notice">${t('pickScope')}</p>` : html`
      <h2 class="dash-scope" data-testid="scope-title">${scopeName(value, names, t)} ·
        ${' '}${periodLabel(value.period)}</h2>
      <p class="dash-live" aria-live="polite" data-testid="live-status" data-state=${live.state}>${
        live.state === 'live' ? t('live', clock(live.at))
        : live.state === 'off' ? t('liveOff', live.why)
        : live.state === 'lost' ? t('liveLost') : t('connecting')}</p>
      ${figureSections}
      ${trends}
      ${policy}
      <${Ranking} value=${value} start=${Boolean(series)} t=${t} />
      ${f?.computed_time ? html`<p class="muted">${t('computed',
        new Date(f.computed_time).toLocaleString(locale()))}</p>` : null}`}
  </section>`;
}

