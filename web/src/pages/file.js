// Page "file" (/pengaduan/baru): the complaint form of the web channel (FileComplaint as the
// public). The complainant picks a service (SearchStandards; ?service=<id> preselects it),
// answers its intake questions (Service.attributes), writes the complaint, may give a location
// and contact details and chooses how confidential the case is. Every submission carries one
// idempotency key (kept until a filing succeeds), so a double click or a retry files once; 36
// characters, so that a replay returns the secret again (docs/complaints.md). The API's field
// errors are shown next to their fields. On success the tracking code and the secret are shown
// once, with ways to keep them.
import './file.css';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { FieldError, fieldId, fieldProps, loadService, stateWords, t as ct, useNames,
         violations } from '../lib/complaints.js';
import { texts } from '../lib/i18n.js';
import { date, ErrorBox, html, Loading } from '../lib/ui.js';

const TEXT = {
  id: {
    title: 'Ajukan pengaduan',
    intro: 'Sampaikan pengaduan, aspirasi atau permintaan informasi tentang pelayanan publik. ' +
      'Isian bertanda (wajib) harus diisi.',
    required: '(wajib)',
    type: 'Jenis laporan',
    service: 'Layanan yang diadukan',
    search: 'Cari layanan',
    searchHint: 'Ketik nama layanan, misalnya "akta kelahiran", lalu tekan Cari.',
    searchButton: 'Cari',
    noResult: 'Tidak ada layanan yang cocok.',
    results: (n) => `${n} layanan ditemukan`,
    choose: 'Pilih',
    chooseLabel: (name) => `Pilih ${name}`,
    chosen: 'Layanan dipilih:',
    change: 'Ganti layanan',
    noService: 'Layanan tidak ada dalam daftar',
    unknownService: (id) => `Layanan "${id}" tidak ditemukan; cari layanan di bawah.`,
    targetText: 'Sebutkan instansi atau layanan yang diadukan',
    targetHint: 'Bila layanan tidak ditemukan, tuliskan namanya; koordinator akan meneruskan ' +
      'pengaduan ke instansi yang berwenang.',
    useSearch: 'Cari layanan lagi',
    questions: 'Pertanyaan dari instansi',
    questionsHint: 'Instansi memerlukan keterangan ini untuk menangani pengaduan tentang layanan ini.',
    choosePlaceholder: '— pilih —',
    complaint: 'Pengaduan',
    titleField: 'Judul (tidak wajib)',
    description: 'Uraian pengaduan',
    descriptionHint: 'Apa yang terjadi, kapan, dan di mana. Paling banyak 4.000 karakter.',
    remedy: 'Penyelesaian yang diharapkan (tidak wajib)',
    serviceDate: 'Tanggal menerima layanan (tidak wajib, 30 hari terakhir)',
    location: 'Lokasi (tidak wajib)',
    address: 'Alamat atau tempat kejadian',
    locate: 'Gunakan lokasi saya',
    located: (lat, lng) => `Titik lokasi: ${lat}, ${lng}`,
    unlocate: 'Hapus titik lokasi',
    noLocation: 'Lokasi Anda tidak dapat dibaca.',
    confidentiality: 'Kerahasiaan',
    confidentialityHint: 'Pilih siapa yang boleh melihat pengaduan dan identitas Anda. Petugas ' +
      'hanya dapat memperketat pilihan ini, tidak pernah melonggarkannya.',
    PUBLIC: 'Terbuka',
    PUBLIC_help: 'Setelah diverifikasi, pengaduan tampil di daftar pengaduan publik beserta nama ' +
      'Anda. Telepon, e-mail dan alamat Anda tidak pernah ditampilkan; instansi yang menangani ' +
      'melihat identitas dan kontak Anda.',
    SECRET: 'Rahasia',
    SECRET_help: 'Pengaduan tidak tampil di daftar publik. Identitas dan kontak Anda hanya dapat ' +
      'dilihat oleh instansi yang menangani pengaduan.',
    ANONYMOUS: 'Anonim',
    ANONYMOUS_help: 'Setelah diverifikasi, pengaduan tampil di daftar publik tanpa nama dan ' +
      'dengan lokasi yang disamarkan. Identitas Anda tidak disimpan sama sekali, juga tidak oleh ' +
      'instansi, sehingga instansi tidak dapat menghubungi Anda: ikuti pengaduan dengan kode ' +
      'pelacakan dan kode rahasia.',
    contact: 'Identitas dan kontak',
    contactHint: 'Tidak wajib, tetapi membantu instansi menghubungi Anda.',
    anonymousContact: 'Anda memilih anonim: identitas dan kontak tidak dikirim.',
    name: 'Nama',
    phone: 'Nomor telepon',
    email: 'E-mail',
    contactAddress: 'Alamat',
    submit: 'Kirim pengaduan',
    sending: 'Mengirim…',
    problems: 'Pengaduan belum terkirim. Perbaiki isian berikut:',
    field: 'Isian',
    // The result.
    done: 'Pengaduan Anda telah diterima',
    replayed: 'Pengaduan ini sudah terkirim sebelumnya; berikut hasilnya.',
    code: 'Kode pelacakan',
    secret: 'Kode rahasia',
    once: 'Simpan kode pelacakan dan kode rahasia sekarang. Kode rahasia hanya ditampilkan sekali ' +
      'ini dan tidak dapat dipulihkan: Simpul tidak menyimpannya. Tanpa kode rahasia Anda tidak ' +
      'dapat melihat perkembangan, membalas, menilai atau membuka kembali pengaduan.',
    noSecret: 'Kode rahasia tidak dapat ditampilkan lagi untuk pengiriman ulang ini.',
    copy: 'Salin',
    copied: 'Kode pelacakan dan kode rahasia telah disalin.',
    copyFailed: 'Tidak dapat menyalin otomatis; pilih dan salin teks di bawah.',
    download: 'Unduh sebagai berkas teks',
    print: 'Cetak',
    track: 'Lacak pengaduan ini',
    another: 'Ajukan pengaduan lain',
    state: 'Status',
    verifyBy: 'Batas verifikasi',
    duplicates: 'Mungkin sudah dilaporkan',
    duplicatesHint: 'Pengaduan publik berikut tentang layanan yang sama, di dekat lokasi Anda. ' +
      'Pengaduan Anda tetap diterima.',
    fileText: (code, secret, link) => `Simpul: pengaduan pelayanan publik\n` +
      `Kode pelacakan: ${code}\nKode rahasia: ${secret}\nLacak di: ${link}\n` +
      `Kode rahasia tidak dapat dipulihkan. Simpan berkas ini di tempat yang aman.\n`,
  },
  en: {
    title: 'File a complaint',
    intro: 'Send a complaint, a suggestion or an information request about a public service. ' +
      'Fields marked (required) must be filled in.',
    required: '(required)',
    type: 'Kind of report',
    service: 'The service complained about',
    search: 'Search for a service',
    searchHint: 'Type the service\'s name, e.g. "birth certificate" ("akta kelahiran"), then ' +
      'press Search.',
    searchButton: 'Search',
    noResult: 'No service matches.',
    results: (n) => `${n} services found`,
    choose: 'Choose',
    chooseLabel: (name) => `Choose ${name}`,
    chosen: 'Chosen service:',
    change: 'Change the service',
    noService: 'The service is not in the list',
    unknownService: (id) => `No service "${id}"; search for the service below.`,
    targetText: 'Name the agency or service complained about',
    targetHint: 'If you cannot find the service, write its name; a coordinator will pass the ' +
      'complaint to the competent agency.',
    useSearch: 'Search for a service again',
    questions: "The agency's questions",
    questionsHint: 'The agency needs these details to handle a complaint about this service.',
    choosePlaceholder: '— choose —',
    complaint: 'Complaint',
    titleField: 'Title (optional)',
    description: 'What happened',
    descriptionHint: 'What happened, when and where. At most 4,000 characters.',
    remedy: 'The remedy you ask for (optional)',
    serviceDate: 'Date you received the service (optional, last 30 days)',
    location: 'Location (optional)',
    address: 'Address or place',
    locate: 'Use my location',
    located: (lat, lng) => `Location point: ${lat}, ${lng}`,
    unlocate: 'Remove the location point',
    noLocation: 'Your location could not be read.',
    confidentiality: 'Confidentiality',
    confidentialityHint: 'Choose who may see the complaint and who you are. Officers can only ' +
      'make this stricter, never looser.',
    PUBLIC: 'Open',
    PUBLIC_help: 'Once verified, the complaint is shown in the public list with your name. Your ' +
      'phone, e-mail and address are never shown; the agency handling it sees who you are and ' +
      'how to reach you.',
    SECRET: 'Confidential',
    SECRET_help: 'The complaint is not shown in the public list. Only the agency handling it can ' +
      'see who you are and how to reach you.',
    ANONYMOUS: 'Anonymous',
    ANONYMOUS_help: 'Once verified, the complaint is shown in the public list without a name and ' +
      'with a coarsened location. Who you are is not stored at all, not even for the agency, so ' +
      'the agency cannot contact you: follow the complaint with its tracking code and secret.',
    contact: 'Who you are and how to reach you',
    contactHint: 'Optional, but it helps the agency to contact you.',
    anonymousContact: 'You chose anonymous: your identity and contact are not sent.',
    name: 'Name',
    phone: 'Phone number',
    email: 'E-mail',
    contactAddress: 'Address',
    submit: 'Send the complaint',
    sending: 'Sending…',
    problems: 'The complaint was not sent. Please correct these fields:',
    field: 'Field',
    done: 'Your complaint was received',
    replayed: 'This complaint had already been sent; here is the result.',
    code: 'Tracking code',
    secret: 'Secret',
    once: 'Keep the tracking code and the secret now. The secret is shown only this once and ' +
      'cannot be recovered: Simpul does not store it. Without it you cannot follow, reply to, ' +
      'rate or reopen the complaint.',
    noSecret: 'The secret cannot be shown again for this repeated submission.',
    copy: 'Copy',
    copied: 'The tracking code and the secret were copied.',
    copyFailed: 'Could not copy automatically; select and copy the text below.',
    download: 'Download as a text file',
    print: 'Print',
    track: 'Track this complaint',
    another: 'File another complaint',
    state: 'Status',
    verifyBy: 'Verification due',
    duplicates: 'Perhaps already reported',
    duplicatesHint: 'These public complaints are about the same service, near your location. ' +
      'Your complaint is accepted either way.',
    fileText: (code, secret, link) => `Simpul: public service complaint\n` +
      `Tracking code: ${code}\nSecret: ${secret}\nTrack at: ${link}\n` +
      `The secret cannot be recovered. Keep this file somewhere safe.\n`,
  },
};

const REPORT_TYPES = ['REPORT_TYPE_COMPLAINT', 'REPORT_TYPE_ASPIRATION',
                      'REPORT_TYPE_INFORMATION_REQUEST'];
const LEVELS = ['SECRET', 'PUBLIC', 'ANONYMOUS'];

// newKey is a fresh idempotency key: "web-" and 32 random hex digits (36 characters).
function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function ServicePicker({ service, onPick, targetMode, setTargetMode, target, setTarget, errors }) {
  const t = texts(TEXT);
  const names = useNames([]);
  const [keyword, setKeyword] = useState('');
  const [found, setFound] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const chosen = useRef(null);
  const picked = useRef(false);
  // After a pick from the results, the focus goes to the chosen service (the list is gone).
  useEffect(() => {
    if (service && picked.current) chosen.current?.focus();
    picked.current = false;
  }, [service]);
  const search = async (e) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api('/v1/standards', { query: { keyword: keyword.trim(),
                                                      'page.page_size': 20 } });
      setFound(r?.versions ?? []);
    } catch (err) {
      setError(err);
      setFound(null);
    } finally {
      setBusy(false);
    }
  };
  if (service) {
    return html`<div class="fl-chosen" data-testid="chosen-service">
      <p ref=${chosen} tabindex="-1"><span>${t('chosen')}</span> <strong>${service.name}</strong>
        <span class="muted"> · ${names.agency(service.agency_id)}</span></p>
      <button type="button" class="secondary" onClick=${() => { onPick(null); setFound(null); }}>
        ${t('change')}</button>
    </div>`;
  }
  if (targetMode) {
    return html`<div>
      <label for=${fieldId('target_text')}>${t('targetText')} <span class="fl-req">${
        t('required')}</span></label>
      <p class="muted" id="fl-target-hint">${t('targetHint')}</p>
      <input ...${fieldProps('target_text', errors, 'fl-target-hint')} maxlength="500"
             value=${target} onInput=${(e) => setTarget(e.currentTarget.value)} />
      <${FieldError} path="target_text" errors=${errors} />
      <p><button type="button" class="secondary" onClick=${() => setTargetMode(false)}>${
        t('useSearch')}</button></p>
    </div>`;
  }
  return html`<div>
    <label for=${fieldId('service_id')}>${t('search')} <span class="fl-req">${
      t('required')}</span></label>
    <p class="muted" id="fl-search-hint">${t('searchHint')}</p>
    <div class="fl-search">
      <input type="search" ...${fieldProps('service_id', errors, 'fl-search-hint')}
             data-testid="service-search" value=${keyword}
             onInput=${(e) => setKeyword(e.currentTarget.value)}
             onKeyDown=${(e) => { if (e.key === 'Enter') search(e); }} />
      <button type="button" onClick=${search} disabled=${busy}
              data-testid="service-search-button">${t('searchButton')}</button>
    </div>
    <${FieldError} path="service_id" errors=${errors} />
    <${ErrorBox} error=${error} />
    ${found ? html`<p role="status" class="muted">${found.length ? t('results', found.length)
                                                                   : t('noResult')}</p>` : null}
    ${found?.length ? html`<ul class="fl-results">${found.map((v) => html`
      <li key=${v.service_id}>
        <span><strong>${v.service_name}</strong>
          <span class="muted"> · ${names.agency(v.agency_id)}</span></span>
        <button type="button" class="secondary" data-testid="service-result"
                data-service=${v.service_id} aria-label=${t('chooseLabel', v.service_name)}
                onClick=${() => { picked.current = true; onPick(v.service_id); }}>${
                  t('choose')}</button>
      </li>`)}</ul>` : null}
    <p><button type="button" class="fl-link" onClick=${() => setTargetMode(true)}>${
      t('noService')}</button></p>
  </div>`;
}

// Question renders one intake question by its datatype.
function Question({ attr, value, onChange, errors }) {
  const t = texts(TEXT);
  const path = `attributes[${attr.code}]`;
  const hintId = attr.datatype_description ? `${fieldId(path)}-hint` : '';
  const req = attr.required ? html` <span class="fl-req">${t('required')}</span>` : null;
  const hint = hintId ? html`<p class="muted fl-hint" id=${hintId}>${
    attr.datatype_description}</p>` : null;
  const props = fieldProps(path, errors, hintId);
  const type = attr.datatype || 'ATTRIBUTE_DATATYPE_STRING';
  if (!attr.variable) return html`<p class="notice fl-info">${attr.description}</p>`;
  if (type === 'ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST' ||
      type === 'ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST') {
    const multi = type === 'ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST';
    const chosen = multi ? (value ?? []) : value ?? '';
    return html`<fieldset class="fl-question" id=${props.id}
        aria-describedby=${props['aria-describedby']} data-testid=${`question-${attr.code}`}>
      <legend>${attr.description}${req}</legend>
      ${hint}
      ${attr.values.map((v, i) => {
        const id = `${props.id}-${i}`;
        const checked = multi ? chosen.includes(v.key) : chosen === v.key;
        return html`<div class="fl-choice">
          <input type=${multi ? 'checkbox' : 'radio'} id=${id} name=${props.id} value=${v.key}
                 checked=${checked} onChange=${(e) => {
                   if (!multi) onChange(v.key);
                   else onChange(e.currentTarget.checked ? [...chosen, v.key]
                                                         : chosen.filter((k) => k !== v.key));
                 }} />
          <label for=${id}>${v.name}</label></div>`;
      })}
      <${FieldError} path=${path} errors=${errors} />
    </fieldset>`;
  }
  let input;
  const common = { ...props, 'data-testid': `question-${attr.code}`,
                   'aria-required': attr.required ? 'true' : undefined };
  if (type === 'ATTRIBUTE_DATATYPE_TEXT') {
    input = html`<textarea ...${common} maxlength=${attr.max_length || 4000} value=${value ?? ''}
                           onInput=${(e) => onChange(e.currentTarget.value)}></textarea>`;
  } else if (type === 'ATTRIBUTE_DATATYPE_NUMBER') {
    input = html`<input ...${common} inputmode="decimal" value=${value ?? ''}
                        onInput=${(e) => onChange(e.currentTarget.value)} />`;
  } else if (type === 'ATTRIBUTE_DATATYPE_DATETIME') {
    input = html`<input ...${common} type="datetime-local" value=${value ?? ''}
                        onInput=${(e) => onChange(e.currentTarget.value)} />`;
  } else {
    input = html`<input ...${common} maxlength=${attr.max_length || 500} value=${value ?? ''}
                        onInput=${(e) => onChange(e.currentTarget.value)} />`;
  }
  return html`<div class="fl-question">
    <label for=${props.id}>${attr.description}${req}</label>
    ${hint}
    ${input}
    <${FieldError} path=${path} errors=${errors} />
  </div>`;
}

// answersOf turns the form's answers into FileComplaintRequest.attributes.
function answersOf(attrs, answers) {
  const out = [];
  for (const a of attrs) {
    if (!a.variable) continue;
    let v = answers[a.code];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    if (a.datatype === 'ATTRIBUTE_DATATYPE_DATETIME') {
      const d = new Date(v);
      v = Number.isNaN(d.getTime()) ? v : d.toISOString();
    }
    out.push({ code: a.code, values: Array.isArray(v) ? v : [String(v).trim()] });
  }
  return out;
}

function Result({ data, onAnother }) {
  const t = texts(TEXT);
  const heading = useRef(null);
  const [copyState, setCopyState] = useState('');
  const names = useNames([data.complaint?.service_id,
                          ...(data.possible_duplicates ?? []).map((c) => c.service_id)]);
  const code = data.tracking_code;
  const secret = data.secret ?? '';
  const link = `${window.location.origin}/lacak?code=${encodeURIComponent(code)}`;
  const text = t('fileText', code, secret, link);
  const blobUrl = useMemo(() => (secret
    ? URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' })) : ''), [text]);
  useEffect(() => () => { if (blobUrl) URL.revokeObjectURL(blobUrl); }, [blobUrl]);
  useEffect(() => { heading.current?.focus(); }, []);
  const copy = async () => {
    try {
      if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      setCopyState('copied');
    } catch {
      const area = document.getElementById('fl-copy-text');
      let ok = false;
      if (area) {
        area.hidden = false;
        area.select();
        try { ok = document.execCommand('copy'); } catch { ok = false; }
      }
      setCopyState(ok ? 'copied' : 'failed');
    }
  };
  const c = data.complaint ?? {};
  return html`<section class="fl-result" data-testid="result">
    <h1 ref=${heading} tabindex="-1">${t('done')}</h1>
    ${data.replayed ? html`<p class="notice">${t('replayed')}</p>` : null}
    <dl class="fl-codes">
      <div><dt>${t('code')}</dt><dd data-testid="tracking-code">${code}</dd></div>
      ${secret ? html`<div><dt>${t('secret')}</dt><dd data-testid="secret">${secret}</dd></div>`
        : null}
    </dl>
    ${secret ? html`<p class="fl-warning" role="note"><strong>${t('once')}</strong></p>`
      : html`<p class="notice">${t('noSecret')}</p>`}
    ${secret ? html`<div class="fl-keep no-print">
      <button type="button" onClick=${copy} data-testid="copy">${t('copy')}</button>
      <a class="button secondary" href=${blobUrl} download=${`simpul-${code}.txt`}
         data-testid="download">${t('download')}</a>
      <button type="button" class="secondary" onClick=${() => window.print()}>${
        t('print')}</button>
    </div>
    <p role="status" class="no-print">${copyState === 'copied' ? t('copied')
      : copyState === 'failed' ? t('copyFailed') : ''}</p>
    <label class=${copyState === 'failed' ? 'no-print' : 'visually-hidden'}
           for="fl-copy-text">${t('code')} / ${t('secret')}</label>
    <textarea id="fl-copy-text" class=${copyState === 'failed' ? 'no-print'
      : 'fl-offscreen'} readonly value=${text} tabindex=${copyState === 'failed' ? 0 : -1}
      aria-hidden=${copyState === 'failed' ? undefined : 'true'}></textarea>` : null}
    <p>${t('state')}: <strong>${stateWords(c.state)}</strong>
      ${c.deadlines?.verify_by ? html` · ${t('verifyBy')}: ${date(c.deadlines.verify_by)}`
        : null}</p>
    <p class="no-print"><a class="button" href=${`/lacak?code=${encodeURIComponent(code)}`}
         data-testid="track-link">${t('track')}</a>${' '}
      <button type="button" class="secondary" onClick=${onAnother}>${t('another')}</button></p>
    ${data.possible_duplicates?.length ? html`<section class="no-print" data-testid="duplicates">
      <h2>${t('duplicates')}</h2>
      <p class="muted">${t('duplicatesHint')}</p>
      <ul>${data.possible_duplicates.map((d) => html`<li key=${d.id}>
        <strong>${d.id}</strong> ${d.title ? `· ${d.title}` : ''} · ${names.service(d.service_id)}
        · ${stateWords(d.state)} · ${date(d.file_time, { time: false })}</li>`)}</ul>
    </section>` : null}
  </section>`;
}

const EMPTY = { reportType: 'REPORT_TYPE_COMPLAINT', title: '', description: '', remedy: '',
                serviceDate: '', address: '', lat: '', lng: '', confidentiality: 'SECRET',
                name: '', phone: '', email: '', contactAddress: '' };

export default function Page({ query }) {
  const t = texts(TEXT);
  const preselect = query.get('service') ?? '';
  const [service, setService] = useState(null);
  const [serviceError, setServiceError] = useState(null);
  const [targetMode, setTargetMode] = useState(false);
  const [target, setTarget] = useState('');
  const [form, setForm] = useState(EMPTY);
  const [answers, setAnswers] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const [geoError, setGeoError] = useState('');
  const key = useRef(newKey());
  const inFlight = useRef(false);
  const summary = useRef(null);
  const errors = useMemo(() => violations(error), [error]);

  const pick = async (id) => {
    setServiceError(null);
    setAnswers({});
    if (!id) { setService(null); return; }
    const s = await loadService(id);
    if (s) setService(s);
    else setServiceError(new Error(t('unknownService', id)));
  };
  useEffect(() => { if (preselect) pick(preselect); }, [preselect]);

  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const attrs = [...(service?.attributes ?? [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));

  const locate = () => {
    setGeoError('');
    if (!navigator.geolocation) { setGeoError(t('noLocation')); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => setForm((f) => ({ ...f, lat: p.coords.latitude.toFixed(5),
                               lng: p.coords.longitude.toFixed(5) })),
      () => setGeoError(t('noLocation')), { timeout: 10000 });
  };

  const submit = async (e) => {
    e.preventDefault();
    if (inFlight.current) return;  // a double click: the first submission is on its way
    inFlight.current = true;
    setBusy(true);
    setError(null);
    const body = {
      idempotency_key: key.current,
      report_type: form.reportType,
      channel: 'CHANNEL_WEB',
      description: form.description,
      confidentiality: `CONFIDENTIALITY_${form.confidentiality}`,
    };
    if (service) {
      body.service_id = service.id;
      const a = answersOf(attrs, answers);
      if (a.length) body.attributes = a;
    } else if (targetMode) body.target_text = target;
    if (form.title.trim()) body.title = form.title;
    if (form.remedy.trim()) body.remedy_requested = form.remedy;
    if (form.serviceDate) {
      const [year, month, day] = form.serviceDate.split('-').map(Number);
      body.service_date = { year, month, day };
    }
    if (form.address.trim() || form.lat) {
      body.location = { address: form.address };
      if (form.lat && form.lng) {
        body.location.latitude = Number(form.lat);
        body.location.longitude = Number(form.lng);
      }
    }
    if (form.confidentiality !== 'ANONYMOUS') {
      const c = {};
      if (form.name.trim()) c.name = form.name;
      if (form.phone.trim()) c.phone = form.phone;
      if (form.email.trim()) c.email = form.email;
      if (form.contactAddress.trim()) c.address = form.contactAddress;
      if (Object.keys(c).length) body.complainant = c;
    }
    try {
      const r = await api('/v1/complaints', { method: 'POST', body });
      setResult(r);
      key.current = newKey();
    } catch (err) {
      setError(err);
      setTimeout(() => summary.current?.focus(), 0);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  if (result) {
    return html`<${Result} data=${result} onAnother=${() => {
      setResult(null); setForm(EMPTY); setAnswers({}); setService(null); setTarget('');
      setTargetMode(false); setError(null);
    }} />`;
  }

  const fieldLabels = {
    description: t('description'), title: t('titleField'), remedy_requested: t('remedy'),
    service_id: t('service'), target_text: t('targetText'), service_date: t('serviceDate'),
    'location.address': t('address'), 'complainant.name': t('name'),
    'complainant.phone': t('phone'), 'complainant.email': t('email'),
    'complainant.address': t('contactAddress'), confidentiality: t('confidentiality'),
    report_type: t('type'),
  };
  for (const a of attrs) fieldLabels[`attributes[${a.code}]`] = a.description;
  const rendered = (path) => path in fieldLabels &&
    (!path.startsWith('complainant.') || form.confidentiality !== 'ANONYMOUS') &&
    (path !== 'target_text' || targetMode) && (path !== 'service_id' || !service);

  return html`<section class="fl-form">
    <h1>${t('title')}</h1>
    <p>${t('intro')}</p>
    ${error ? html`<div class="error" role="alert" tabindex="-1" ref=${summary}
                       data-testid="form-error">
      <p><strong>${error.fieldViolations?.length ? t('problems') : error.message}</strong></p>
      ${error.fieldViolations?.length ? html`<ul>${error.fieldViolations.map((v) => html`<li>
        ${rendered(v.field) ? html`<a href=${`#${fieldId(v.field)}`}>${fieldLabels[v.field]}</a>`
          : html`<code>${v.field}</code>`}: ${v.description}</li>`)}</ul>` : null}
      ${error.requestId ? html`<p class="muted">ID: ${error.requestId}</p>` : null}
    </div>` : null}
    <form onSubmit=${submit} novalidate data-testid="complaint-form">
      <fieldset>
        <legend>${t('type')}</legend>
        ${REPORT_TYPES.map((rt) => html`<div class="fl-choice">
          <input type="radio" id=${`fl-${rt}`} name="report_type" value=${rt}
                 checked=${form.reportType === rt} onChange=${set('reportType')} />
          <label for=${`fl-${rt}`}>${ct(rt)}</label></div>`)}
      </fieldset>

      <fieldset>
        <legend>${t('service')}</legend>
        ${serviceError ? html`<${ErrorBox} error=${serviceError} />` : null}
        ${preselect && !service && !serviceError && !targetMode ? html`<${Loading} />` : null}
        <${ServicePicker} service=${service} onPick=${pick} targetMode=${targetMode}
          setTargetMode=${setTargetMode} target=${target} setTarget=${setTarget}
          errors=${errors} />
      </fieldset>

      ${attrs.length ? html`<fieldset data-testid="questions">
        <legend>${t('questions')}</legend>
        <p class="muted">${t('questionsHint')}</p>
        ${attrs.map((a) => html`<${Question} key=${a.code} attr=${a} value=${answers[a.code]}
          errors=${errors} onChange=${(v) => setAnswers((old) => ({ ...old, [a.code]: v }))} />`)}
      </fieldset>` : null}

      <fieldset>
        <legend>${t('complaint')}</legend>
        <label for=${fieldId('title')}>${t('titleField')}</label>
        <input ...${fieldProps('title', errors)} maxlength="200" value=${form.title}
               onInput=${set('title')} />
        <${FieldError} path="title" errors=${errors} />
        <label for=${fieldId('description')}>${t('description')} <span class="fl-req">${
          t('required')}</span></label>
        <p class="muted fl-hint" id="fl-description-hint">${t('descriptionHint')}</p>
        <textarea ...${fieldProps('description', errors, 'fl-description-hint')}
                  aria-required="true" maxlength="4000" data-testid="description"
                  value=${form.description} onInput=${set('description')}></textarea>
        <${FieldError} path="description" errors=${errors} />
        <label for=${fieldId('remedy_requested')}>${t('remedy')}</label>
        <textarea ...${fieldProps('remedy_requested', errors)} class="fl-short" maxlength="1000"
                  value=${form.remedy} onInput=${set('remedy')}></textarea>
        <${FieldError} path="remedy_requested" errors=${errors} />
        <label for=${fieldId('service_date')}>${t('serviceDate')}</label>
        <input type="date" ...${fieldProps('service_date', errors)} value=${form.serviceDate}
               onInput=${set('serviceDate')} />
        <${FieldError} path="service_date" errors=${errors} />
      </fieldset>

      <fieldset>
        <legend>${t('location')}</legend>
        <label for=${fieldId('location.address')}>${t('address')}</label>
        <input ...${fieldProps('location.address', errors)} maxlength="500"
               value=${form.address} onInput=${set('address')} />
        <${FieldError} path="location.address" errors=${errors} />
        ${form.lat ? html`<p>${t('located', form.lat, form.lng)}${' '}
            <button type="button" class="secondary" onClick=${() => setForm(
              { ...form, lat: '', lng: '' })}>${t('unlocate')}</button></p>`
          : html`<p><button type="button" class="secondary" onClick=${locate}>${
              t('locate')}</button></p>`}
        ${geoError ? html`<p class="error" role="alert">${geoError}</p>` : null}
        <${FieldError} path="location.latitude" errors=${errors} />
      </fieldset>

      <fieldset data-testid="confidentiality" aria-describedby="fl-conf-hint">
        <legend>${t('confidentiality')} <span class="fl-req">${t('required')}</span></legend>
        <p class="muted" id="fl-conf-hint">${t('confidentialityHint')}</p>
        ${LEVELS.map((level) => html`<div class="fl-level">
          <input type="radio" id=${`fl-conf-${level}`} name="confidentiality" value=${level}
                 data-testid=${`confidentiality-${level}`}
                 aria-describedby=${`fl-conf-${level}-help`}
                 checked=${form.confidentiality === level} onChange=${set('confidentiality')} />
          <label for=${`fl-conf-${level}`}>${t(level)}</label>
          <p class="fl-help" id=${`fl-conf-${level}-help`}>${t(`${level}_help`)}</p>
        </div>`)}
        <${FieldError} path="confidentiality" errors=${errors} />
      </fieldset>

      <fieldset>
        <legend>${t('contact')}</legend>
        ${form.confidentiality === 'ANONYMOUS'
          ? html`<p class="notice" data-testid="anonymous-contact">${t('anonymousContact')}</p>`
          : html`<p class="muted">${t('contactHint')}</p>
            ${[['name', 'name', 'name', 200], ['phone', 'phone', 'tel', 32],
               ['email', 'email', 'email', 254], ['contactAddress', 'address',
                                                  'street-address', 500]].map(
              ([k, f, auto, max]) => html`
              <label for=${fieldId(`complainant.${f}`)}>${t(k)}</label>
              <input ...${fieldProps(`complainant.${f}`, errors)} autocomplete=${auto}
                     type=${f === 'email' ? 'email' : f === 'phone' ? 'tel' : 'text'}
                     maxlength=${max} value=${form[k]} onInput=${set(k)}
                     data-testid=${`contact-${f}`} />
              <${FieldError} path=${`complainant.${f}`} errors=${errors} />`)}`}
      </fieldset>

      <p><button type="submit" disabled=${busy} data-testid="submit">${
        busy ? t('sending') : t('submit')}</button></p>
    </form>
  </section>`;
}
