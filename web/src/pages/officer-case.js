// One case in the officer console (/petugas/kasus/<id>): GET /v1/complaints/{id} and its
// /history as the signed-in officer (the service decides the view: the identity only where the
// role may see it), and the actions the role may take in the case's current state
// (docs/complaints.md "Lifecycle", services/complaints/lifecycle.cc). Each action sends the
// revision the officer read (expected_revision), so a stale view is refused by the server
// (ABORTED) and the refusal is shown as it came.
import { useEffect, useRef, useState } from 'preact/hooks';
import { texts } from '../lib/i18n.js';
import { checkFullView, officerApi } from '../lib/session.js';
import { date, ErrorBox, html, Loading } from '../lib/ui.js';
import { Flag, flagOf, word } from './officer-common.js';

const TEXT = {
  id: {
    back: '← Kembali ke kotak masuk',
    title: (id) => `Kasus ${id}`,
    details: 'Rincian',
    reportType: 'Jenis laporan',
    channel: 'Kanal',
    state: 'Status',
    confidentiality: 'Kerahasiaan',
    service: 'Layanan',
    target: 'Sasaran (teks bebas)',
    agency: 'Instansi',
    unit: 'Unit',
    unrouted: 'Belum diarahkan (menunggu koordinator)',
    standard: 'Standar yang berlaku',
    resolution: 'Kelas penyelesaian',
    days: (n) => `${n} hari kerja`,
    revision: 'Revisi',
    description: 'Uraian',
    remedy: 'Penyelesaian yang diharapkan',
    location: 'Lokasi',
    answers: 'Jawaban pertanyaan layanan',
    possibleDuplicates: 'Kemungkinan duplikat',
    deadlines: 'Tenggat',
    verify_by: 'Verifikasi', dispose_by: 'Disposisi', respond_by: 'Tindak lanjut pertama',
    resolve_by: 'Penyelesaian', auto_complete_at: 'Selesai otomatis',
    auto_archive_at: 'Arsip otomatis', reopen_until: 'Batas pembukaan kembali',
    next: 'Tenggat berikutnya',
    identity: 'Identitas pelapor',
    name: 'Nama', phone: 'Telepon', email: 'Surel', address: 'Alamat',
    withheld: 'Identitas ada tetapi tidak ditampilkan untuk peran Anda (kerahasiaan kasus).',
    anonymous: 'Pelapor anonim: identitas tidak disimpan.',
    noIdentity: 'Pelapor tidak memberikan identitas.',
    attachments: 'Lampiran',
    noAttachments: 'Tidak ada lampiran.',
    redacted: 'isi dihapus',
    published: 'dipublikasikan',
    reference: 'tautan',
    timeline: 'Riwayat dan tindak lanjut',
    actions: 'Tindakan',
    noActions: 'Tidak ada tindakan yang dapat Anda lakukan pada status ini.',
    done: (what) => `${what}: berhasil. Kasus dimuat ulang.`,
    cancel: 'Batal',
    send: 'Kirim',
    sending: 'Mengirim…',
    optional: '(opsional)',
    keep: 'Tetap seperti sekarang',
    noneChosen: '— tidak dipilih —',
    routedUnit: '— unit yang sudah ditetapkan —',
    // Actions
    verify: 'Verifikasi', hold: 'Tunda (minta kelengkapan)', dispose: 'Disposisikan ke unit',
    forward: 'Teruskan ke instansi lain', route: 'Arahkan (koordinator)', startWork: 'Mulai tangani',
    followUp: 'Kirim tindak lanjut', complete: 'Selesaikan', archive: 'Arsipkan',
    resume: 'Lanjutkan dari eskalasi',
    // Fields
    f_note: 'Catatan', f_message_hold: 'Apa yang kurang (dikirim ke pelapor)',
    f_message_followUp: 'Tindak lanjut (dikirim ke pelapor)',
    followUpHelp: 'API hanya punya tindak lanjut yang dibaca pelapor (tidak ada catatan internal): ' +
      'tulis seperti kepada pelapor. Catatan internal dapat ditulis pada tindakan lain.',
    f_confidentiality: 'Kerahasiaan (hanya dapat diperketat)', f_resolution_class: 'Kelas penyelesaian',
    f_unit_id: 'Unit', f_to_agency_id: 'Instansi tujuan', f_to_unit_id: 'Unit tujuan',
    f_reason: 'Alasan', f_reason_archive: 'Alasan pengarsipan', f_duplicate_of: 'Duplikat dari (kode kasus)',
    f_service_id: 'ID layanan (registri)', f_resolve_within_working_days: 'Selesaikan dalam (hari kerja, 1–60)',
    f_note_complete: 'Catatan penyelesaian',
    routeHelp: 'Isi ID layanan atau pilih unit.',
    completeHelp: 'Jawaban kepada pelapor adalah tindak lanjut terakhir; catatan ini melengkapi riwayat.',
  },
  en: {
    back: '← Back to the inbox',
    title: (id) => `Case ${id}`,
    details: 'Details',
    reportType: 'Report type',
    channel: 'Channel',
    state: 'State',
    confidentiality: 'Confidentiality',
    service: 'Service',
    target: 'Target (free text)',
    agency: 'Agency',
    unit: 'Unit',
    unrouted: 'Not routed yet (waiting for a coordinator)',
    standard: 'Standard in force',
    resolution: 'Resolution class',
    days: (n) => `${n} working days`,
    revision: 'Revision',
    description: 'Description',
    remedy: 'Remedy requested',
    location: 'Location',
    answers: 'Answers to the service\'s questions',
    possibleDuplicates: 'Possible duplicates',
    deadlines: 'Deadlines',
    verify_by: 'Verification', dispose_by: 'Disposition', respond_by: 'First follow-up',
    resolve_by: 'Resolution', auto_complete_at: 'Automatic completion',
    auto_archive_at: 'Automatic archiving', reopen_until: 'Reopen until',
    next: 'Next deadline',
    identity: 'Complainant\'s identity',
    name: 'Name', phone: 'Phone', email: 'E-mail', address: 'Address',
    withheld: 'An identity exists but is not shown to your role (the case\'s confidentiality).',
    anonymous: 'Anonymous complainant: no identity is stored.',
    noIdentity: 'The complainant gave no identity.',
    attachments: 'Attachments',
    noAttachments: 'No attachments.',
    redacted: 'content deleted',
    published: 'published',
    reference: 'link',
    timeline: 'History and follow-ups',
    actions: 'Actions',
    noActions: 'There is nothing you can do in this state.',
    done: (what) => `${what}: done. The case was reloaded.`,
    cancel: 'Cancel',
    send: 'Send',
    sending: 'Sending…',
    optional: '(optional)',
    keep: 'Keep as it is',
    noneChosen: '— none —',
    routedUnit: '— the unit already set —',
    verify: 'Verify', hold: 'Put on hold (ask for more)', dispose: 'Pass to a unit',
    forward: 'Forward to another agency', route: 'Route (coordinator)', startWork: 'Start work',
    followUp: 'Post a follow-up', complete: 'Complete', archive: 'Archive',
    resume: 'Resume from escalation',
    f_note: 'Note', f_message_hold: 'What is missing (sent to the complainant)',
    f_message_followUp: 'Follow-up (sent to the complainant)',
    followUpHelp: 'The API has only follow-ups the complainant reads (no internal notes): write ' +
      'as to the complainant. Internal notes go with the other actions.',
    f_confidentiality: 'Confidentiality (may only be tightened)', f_resolution_class: 'Resolution class',
    f_unit_id: 'Unit', f_to_agency_id: 'Agency to forward to', f_to_unit_id: 'Unit of that agency',
    f_reason: 'Reason', f_reason_archive: 'Why it is archived', f_duplicate_of: 'Duplicate of (case code)',
    f_service_id: 'Service id (registry)', f_resolve_within_working_days: 'Resolve within (working days, 1–60)',
    f_note_complete: 'Closing note',
    routeHelp: 'Give a service id or choose a unit.',
    completeHelp: 'The answer to the complainant is the last follow-up; this note completes the history.',
  },
};

const STRICTNESS = ['CONFIDENTIALITY_PUBLIC', 'CONFIDENTIALITY_SECRET', 'CONFIDENTIALITY_ANONYMOUS'];

// Option loaders (cached per page load): agencies, an agency's units, a standard's classes.
const cache = new Map();
function cached(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch((e) => { cache.delete(key); throw e; }));
  return cache.get(key);
}
const agencies = () => cached('agencies', async () =>
  (await officerApi('/v1/agencies', { query: { 'page.page_size': 500 } }))?.agencies ?? []);
const units = (agencyId) => cached(`units:${agencyId}`, async () =>
  (await officerApi('/v1/units', { query: { agency_id: agencyId || undefined,
                                            'page.page_size': 500 } }))?.units ?? []);
const classes = (versionId) => cached(`classes:${versionId}`, async () => {
  const answer = await officerApi(`/v1/standards/${encodeURIComponent(versionId)}`);
  return answer?.version?.components?.complaint_handling?.resolution_classes ?? [];
});

// The actions: who may take each in which state (as the service decides it), and its fields.
// `who` is { handler, coordinator, admin }.
function actionsFor(c, who) {
  const s = c.state;
  const routed = !!c.agency_id;
  const t = texts(TEXT);
  const list = [];
  if (who.handler && s === 'STATE_RECEIVED') {
    list.push({ key: 'verify', path: ':verify', fields: [
      { name: 'confidentiality', type: 'select', label: t('f_confidentiality'),
        options: async () => [['', t('keep')], ...STRICTNESS
          .slice(STRICTNESS.indexOf(c.confidentiality) + 1).map((v) => [v, word(v)])] },
      ...(c.standard_version_id ? [{ name: 'resolution_class', type: 'select', label: t('f_resolution_class'),
        options: async () => [['', t('noneChosen')], ...(await classes(c.standard_version_id))
          .map((k) => [k.name, `${k.name} (${t('days', k.working_days)})`])] }] : []),
      { name: 'note', type: 'textarea', label: t('f_note'), optional: true },
    ] });
  }
  if ((who.handler || (who.coordinator && !routed)) && s === 'STATE_RECEIVED') {
    list.push({ key: 'hold', path: ':hold', fields: [
      { name: 'message', type: 'textarea', label: t('f_message_hold'), required: true },
    ] });
  }
  if ((who.handler || (who.coordinator && s === 'STATE_ESCALATED')) &&
      ['STATE_VERIFIED', 'STATE_FORWARDED', 'STATE_ESCALATED'].includes(s)) {
    list.push({ key: 'dispose', path: ':dispose', fields: [
      { name: 'unit_id', type: 'select', label: t('f_unit_id'),
        options: async () => [['', c.unit_id ? `${t('routedUnit')} (${c.unit_id})` : t('noneChosen')],
          ...(await units(c.agency_id)).map((u) => [u.id, u.name || u.id])] },
      { name: 'note', type: 'textarea', label: t('f_note'), optional: true },
    ] });
  }
  if ((who.handler || who.coordinator) && routed && ['STATE_RECEIVED', 'STATE_VERIFIED',
    'STATE_DISPOSED', 'STATE_FORWARDED', 'STATE_ESCALATED'].includes(s)) {
    list.push({ key: 'forward', path: ':forward', fields: [
      { name: 'to_agency_id', type: 'select', label: t('f_to_agency_id'), required: true,
        options: async () => [['', t('noneChosen')], ...(await agencies())
          .filter((a) => a.id !== c.agency_id).map((a) => [a.id, a.name || a.id])] },
      { name: 'to_unit_id', type: 'select', label: t('f_to_unit_id'), optional: true,
        dependsOn: 'to_agency_id',
        options: async (values) => [['', t('noneChosen')], ...(values.to_agency_id
          ? (await units(values.to_agency_id)).map((u) => [u.id, u.name || u.id]) : [])] },
      { name: 'reason', type: 'textarea', label: t('f_reason'), required: true },
    ] });
  }
  if (who.coordinator && !routed && ['STATE_RECEIVED', 'STATE_ESCALATED'].includes(s)) {
    list.push({ key: 'route', path: ':route', help: t('routeHelp'), fields: [
      { name: 'service_id', type: 'text', label: t('f_service_id'), optional: true },
      { name: 'unit_id', type: 'select', label: t('f_unit_id'), optional: true,
        options: async () => [['', t('noneChosen')], ...(await units(''))
          .map((u) => [u.id, `${u.name || u.id} (${u.agency_id})`])] },
      { name: 'reason', type: 'textarea', label: t('f_reason'), optional: true },
    ] });
  }
  if (who.handler && s === 'STATE_DISPOSED') {
    list.push({ key: 'startWork', path: ':startWork', fields: [
      { name: 'note', type: 'textarea', label: t('f_note'), optional: true },
    ] });
  }
  if (who.handler && ['STATE_IN_PROGRESS', 'STATE_RESPONDED', 'STATE_ESCALATED'].includes(s)) {
    list.push({ key: 'followUp', path: '/followUps', help: t('followUpHelp'), fields: [
      { name: 'message', type: 'textarea', label: t('f_message_followUp'), required: true },
    ] });
  }
  if (who.handler && s === 'STATE_RESPONDED') {
    list.push({ key: 'complete', path: ':complete', help: t('completeHelp'), fields: [
      { name: 'note', type: 'textarea', label: t('f_note_complete'), optional: true },
    ] });
  }
  if ((who.handler || (who.coordinator && !routed)) &&
      ['STATE_RECEIVED', 'STATE_ON_HOLD', 'STATE_VERIFIED', 'STATE_FORWARDED'].includes(s)) {
    list.push({ key: 'archive', path: ':archive', fields: [
      { name: 'reason', type: 'select', label: t('f_reason_archive'), required: true,
        options: async () => ['ARCHIVE_REASON_UNCLEAR', 'ARCHIVE_REASON_OUT_OF_SCOPE',
          'ARCHIVE_REASON_DUPLICATE'].map((v) => [v, word(v)]) },
      { name: 'duplicate_of', type: 'text', label: t('f_duplicate_of'),
        showIf: (values) => values.reason === 'ARCHIVE_REASON_DUPLICATE',
        suggestions: c.possible_duplicate_ids ?? [] },
      { name: 'note', type: 'textarea', label: t('f_note'), optional: true },
    ] });
  }
  if ((who.coordinator || (who.admin && who.handler)) && s === 'STATE_ESCALATED') {
    list.push({ key: 'resume', path: ':resume', fields: [
      { name: 'resolve_within_working_days', type: 'number', label: t('f_resolve_within_working_days'),
        required: true, min: 1, max: 60 },
      { name: 'note', type: 'textarea', label: t('f_note'), optional: true },
    ] });
  }
  return list;
}

function Options({ field, values }) {
  const [options, setOptions] = useState(null);
  const [error, setError] = useState(null);
  const dep = field.dependsOn ? values[field.dependsOn] : '';
  useEffect(() => {
    let live = true;
    field.options(values).then((o) => live && setOptions(o), (e) => live && setError(e));
    return () => { live = false; };
  }, [dep]);
  if (error) return html`<option value="">${error.message}</option>`;
  if (!options) return html`<option value="">…</option>`;
  return options.map(([v, label]) => html`<option value=${v}>${label}</option>`);
}

function ActionForm({ action, complaint, onDone, onCancel }) {
  const t = texts(TEXT);
  const initial = {};
  for (const f of action.fields) {
    initial[f.name] = f.name === 'reason' && f.type === 'select' ? 'ARCHIVE_REASON_UNCLEAR' : '';
  }
  const [values, setValues] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const first = useRef(null);
  useEffect(() => { first.current?.focus(); }, []);
  const base = `officer-${action.key}`;

  async function submit(event) {
    event.preventDefault();
    const body = { expected_revision: complaint.revision };
    for (const f of action.fields) {
      if (f.showIf && !f.showIf(values)) continue;
      const v = values[f.name];
      if (v === '' || v === undefined) continue;
      body[f.name] = f.type === 'number' ? Number(v) : v;
    }
    setBusy(true);
    setError(null);
    try {
      await officerApi(`/v1/complaints/${encodeURIComponent(complaint.id)}${action.path}`,
                       { method: 'POST', body });
      onDone(action.key);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  const violation = (name) => error?.fieldViolations?.find((v) => v.field === name ||
    v.field.endsWith(`.${name}`));
  let firstSet = false;
  return html`<form class="officer-action card" onSubmit=${submit} novalidate
                    data-testid=${`action-form-${action.key}`}>
    <h3>${t(action.key)}</h3>
    ${action.help ? html`<p class="muted">${action.help}</p>` : null}
    ${action.fields.map((f) => {
      if (f.showIf && !f.showIf(values)) return null;
      const id = `${base}-${f.name}`;
      const bad = violation(f.name);
      const ref = firstSet ? undefined : first;
      firstSet = true;
      const set = (e) => setValues({ ...values, [f.name]: e.currentTarget.value,
        ...(f.name === 'to_agency_id' ? { to_unit_id: '' } : {}) });
      const common = { id, name: f.name, value: values[f.name], onInput: set, ref,
                       'aria-invalid': bad ? 'true' : undefined,
                       'aria-describedby': bad ? `${id}-error` : undefined,
                       'data-testid': `field-${f.name}` };
      let control;
      if (f.type === 'textarea') control = html`<textarea ...${common} required=${!!f.required} />`;
      else if (f.type === 'select') {
        control = html`<select ...${common} onChange=${set} required=${!!f.required}>
          <${Options} field=${f} values=${values} /></select>`;
      } else if (f.type === 'number') {
        control = html`<input ...${common} type="number" min=${f.min} max=${f.max}
                              required=${!!f.required} inputmode="numeric" />`;
      } else {
        control = html`<input ...${common} type="text" autocomplete="off"
                              list=${f.suggestions?.length ? `${id}-list` : undefined} />
          ${f.suggestions?.length ? html`<datalist id=${`${id}-list`}>${f.suggestions.map(
            (s) => html`<option value=${s} />`)}</datalist>` : null}`;
      }
      return html`<div class="officer-field">
        <label for=${id}>${f.label}${f.optional ? html` <span class="muted">${t('optional')}</span>` : null}</label>
        ${control}
        ${bad ? html`<p id=${`${id}-error`} class="officer-field-error">${bad.description}</p>` : null}
      </div>`;
    })}
    <${ErrorBox} error=${error} />
    <div class="officer-buttons">
      <button type="submit" disabled=${busy} data-testid=${`action-submit-${action.key}`}>
        ${busy ? t('sending') : t('send')}</button>
      <button type="button" class="secondary" onClick=${onCancel}>${t('cancel')}</button>
    </div>
  </form>`;
}

function Actions({ complaint, principal, onDone }) {
  const t = texts(TEXT);
  const [open, setOpen] = useState('');
  const role = principal.role;
  const coordinator = role === 'ROLE_PLATFORM_ADMIN';
  const handler = !coordinator && !!principal.agency_id && principal.agency_id === complaint.agency_id;
  const list = actionsFor(complaint, { handler, coordinator, admin: role === 'ROLE_AGENCY_ADMIN' });
  const current = list.find((a) => a.key === open);
  return html`<section aria-labelledby="officer-actions-h">
    <h2 id="officer-actions-h">${t('actions')}</h2>
    ${list.length === 0 ? html`<p class="muted" data-testid="no-actions">${t('noActions')}</p>` : html`
      <div class="officer-buttons" data-testid="actions">${list.map((a) => html`
        <button type="button" class=${open === a.key ? '' : 'secondary'} aria-expanded=${open === a.key}
                aria-controls="officer-action-panel" data-testid=${`action-${a.key}`}
                onClick=${() => setOpen(open === a.key ? '' : a.key)}>${t(a.key)}</button>`)}
      </div>`}
    <div id="officer-action-panel">
      ${current ? html`<${ActionForm} key=${`${current.key}:${complaint.revision}`} action=${current}
        complaint=${complaint} onCancel=${() => setOpen('')}
        onDone=${(key) => { setOpen(''); onDone(key); }} />` : null}
    </div>
  </section>`;
}

function Identity({ c }) {
  const t = texts(TEXT);
  const who = c.complainant ?? {};
  const has = who.name || who.phone || who.email || who.address;
  return html`<section aria-labelledby="officer-identity-h" data-testid="identity">
    <h2 id="officer-identity-h">${t('identity')}</h2>
    ${has ? html`<dl class="officer-dl">
        ${['name', 'phone', 'email', 'address'].filter((k) => who[k]).map((k) => html`
          <dt>${t(k)}</dt><dd data-testid=${`identity-${k}`}>${who[k]}</dd>`)}
      </dl>`
      : c.identity_withheld ? html`<p data-testid="identity-withheld">${t('withheld')}</p>`
      : c.confidentiality === 'CONFIDENTIALITY_ANONYMOUS' ? html`<p>${t('anonymous')}</p>`
      : html`<p class="muted">${t('noIdentity')}</p>`}
  </section>`;
}

function Attachments({ c }) {
  const t = texts(TEXT);
  const all = [...(c.attachments ?? []), ...(c.uploaded_attachments ?? [])];
  return html`<section aria-labelledby="officer-att-h">
    <h2 id="officer-att-h">${t('attachments')}</h2>
    ${all.length === 0 ? html`<p class="muted">${t('noAttachments')}</p>` : html`<ul data-testid="attachments">
      ${all.map((a) => html`<li>
        ${a.description || a.id || a.uri} <span class="muted">${a.media_type}
        ${a.size_bytes ? ` · ${Math.ceil(Number(a.size_bytes) / 1024)} KB` : ''}
        ${a.uri ? ` · ${t('reference')}: ${a.uri}` : ''}</span>
        ${a.redacted ? html` <span class="badge late">${t('redacted')}${
          a.redaction?.reason ? `: ${a.redaction.reason}` : ''}</span>` : null}
        ${a.published ? html` <span class="badge ok">${t('published')}</span>` : null}
      </li>`)}</ul>`}
  </section>`;
}

function Timeline({ entries }) {
  const t = texts(TEXT);
  return html`<section aria-labelledby="officer-timeline-h">
    <h2 id="officer-timeline-h">${t('timeline')}</h2>
    <ol class="officer-timeline" data-testid="timeline">${entries.map((e) => html`
      <li data-testid="timeline-entry" data-action=${e.action}>
        <p><strong>${word(e.action)}</strong>${' '}
          <span class="muted">${date(e.time)} · ${word(e.actor_kind)}${e.actor ? ` (${e.actor})` : ''}</span></p>
        ${e.to_state ? html`<p class="muted">${e.from_state ? `${word(e.from_state)} → ` : ''}${word(e.to_state)}
          ${e.to_agency_id || e.to_unit_id ? ` · ${[e.to_agency_id, e.to_unit_id].filter(Boolean).join(' / ')}` : ''}</p>` : null}
        ${e.reason ? html`<p>${e.reason}</p>` : null}
        ${e.message ? html`<blockquote>${e.message}</blockquote>` : null}
        ${e.rating ? html`<p>★ ${e.rating}/5</p>` : null}
      </li>`)}</ol>
  </section>`;
}

export default function Case({ id, principal }) {
  const t = texts(TEXT);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [done, setDone] = useState('');

  async function load() {
    try {
      const [one, history] = await Promise.all([
        officerApi(`/v1/complaints/${encodeURIComponent(id)}`),
        officerApi(`/v1/complaints/${encodeURIComponent(id)}/history`),
      ]);
      if (!one?.complaint) {  // the public view: the session is gone
        await checkFullView();
        return;
      }
      setData({ c: one.complaint, entries: history?.entries ?? [] });
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => { setData(null); setDone(''); load(); }, [id]);

  const back = html`<p><a href="/petugas">${t('back')}</a></p>`;
  if (error && !data) return html`${back}<h1>${t('title', id)}</h1><${ErrorBox} error=${error} />`;
  if (!data) return html`${back}<h1>${t('title', id)}</h1><${Loading} />`;
  const { c, entries } = data;
  const flag = flagOf(c);
  const deadlineKeys = ['verify_by', 'dispose_by', 'respond_by', 'resolve_by', 'auto_complete_at',
                        'auto_archive_at', 'reopen_until', 'next'].filter((k) => c.deadlines?.[k]);
  return html`${back}
    <h1 data-testid="case-title">${t('title', c.id)}${c.title ? html`: ${c.title}` : null}</h1>
    <p class="officer-state">
      <span class="badge" data-testid="case-state" data-state=${c.state}>${word(c.state)}</span>
      ${' '}<${Flag} flag=${flag} /></p>
    <p role="status" class=${done ? 'notice' : 'visually-hidden'} data-testid="action-done">
      ${done ? t('done', t(done)) : ''}</p>
    <${ErrorBox} error=${error} />
    <div class="officer-case">
      <div>
        <section aria-labelledby="officer-details-h">
          <h2 id="officer-details-h">${t('details')}</h2>
          <dl class="officer-dl">
            <dt>${t('reportType')}</dt><dd>${word(c.report_type)}</dd>
            <dt>${t('channel')}</dt><dd>${word(c.channel)}${c.channel_name ? ` (${c.channel_name})` : ''}</dd>
            <dt>${t('confidentiality')}</dt><dd data-testid="case-confidentiality">${word(c.confidentiality)}</dd>
            ${c.service_id ? html`<dt>${t('service')}</dt><dd><a href=${`/standar/${encodeURIComponent(c.service_id)}`}>${c.service_id}</a></dd>` : null}
            ${c.target_text ? html`<dt>${t('target')}</dt><dd>${c.target_text}</dd>` : null}
            <dt>${t('agency')}</dt><dd>${c.agency_id || t('unrouted')}</dd>
            ${c.unit_id ? html`<dt>${t('unit')}</dt><dd>${c.unit_id}</dd>` : null}
            ${c.standard_version_id ? html`<dt>${t('standard')}</dt><dd>${c.standard_version_id}</dd>` : null}
            ${c.resolution_class ? html`<dt>${t('resolution')}</dt><dd>${c.resolution_class}${
              c.resolution_working_days ? ` (${t('days', c.resolution_working_days)})` : ''}</dd>` : null}
            <dt>${t('revision')}</dt><dd data-testid="case-revision">${c.revision}</dd>
          </dl>
          <h3>${t('description')}</h3>
          <p class="officer-text" data-testid="case-description">${c.description}</p>
          ${c.remedy_requested ? html`<h3>${t('remedy')}</h3><p class="officer-text">${c.remedy_requested}</p>` : null}
          ${c.location?.address ? html`<h3>${t('location')}</h3><p>${c.location.address}</p>` : null}
          ${c.attributes?.length ? html`<h3>${t('answers')}</h3><dl class="officer-dl">${c.attributes.map(
            (a) => html`<dt><code>${a.code}</code></dt><dd>${(a.values ?? []).join(', ')}</dd>`)}</dl>` : null}
          ${c.possible_duplicate_ids?.length ? html`<h3>${t('possibleDuplicates')}</h3><ul>${c.possible_duplicate_ids.map(
            (d) => html`<li><a href=${`/petugas/kasus/${encodeURIComponent(d)}`}><code>${d}</code></a></li>`)}</ul>` : null}
        </section>
        <${Identity} c=${c} />
        <${Attachments} c=${c} />
      </div>
      <div>
        <section aria-labelledby="officer-deadlines-h">
          <h2 id="officer-deadlines-h">${t('deadlines')}</h2>
          ${deadlineKeys.length ? html`<dl class="officer-dl" data-testid="case-deadlines">${deadlineKeys.map(
            (k) => html`<dt>${t(k)}</dt><dd>${date(c.deadlines[k])}</dd>`)}</dl>` : html`<p class="muted">–</p>`}
        </section>
        <${Actions} complaint=${c} principal=${principal}
          onDone=${(key) => { setDone(key); load(); }} />
      </div>
    </div>
    <${Timeline} entries=${entries} />`;
}
