// Shared pieces of the public complaint pages (the list, the form, tracking): a case's state,
// confidentiality and history in words, its deadlines, names of agencies and services, and
// field errors of the API placed next to their fields.
import './complaints.css';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { texts } from './i18n.js';
import { date, html } from './ui.js';

const TEXT = {
  id: {
    // The state in words, as the message catalogue of the API says it (common/messages.cc).
    'STATE_RECEIVED': 'Diterima',
    'STATE_ON_HOLD': 'Ditunda',
    'STATE_VERIFIED': 'Terverifikasi',
    'STATE_DISPOSED': 'Diteruskan ke unit',
    'STATE_FORWARDED': 'Dilimpahkan',
    'STATE_IN_PROGRESS': 'Sedang ditindaklanjuti',
    'STATE_RESPONDED': 'Telah ditanggapi',
    'STATE_COMPLETED': 'Selesai',
    'STATE_ARCHIVED': 'Ditutup',
    'STATE_ESCALATED': 'Dieskalasi',
    'note.STATE_RECEIVED': 'Diterima; menunggu verifikasi.',
    'note.STATE_ON_HOLD': 'Ditunda: laporan memerlukan keterangan tambahan dari pelapor.',
    'note.STATE_VERIFIED': 'Terverifikasi; sedang diteruskan ke unit yang bertanggung jawab.',
    'note.STATE_DISPOSED': 'Telah diteruskan ke unit yang bertanggung jawab.',
    'note.STATE_FORWARDED': 'Dilimpahkan ke instansi yang berwenang.',
    'note.STATE_IN_PROGRESS': 'Sedang ditindaklanjuti oleh unit yang bertanggung jawab.',
    'note.STATE_RESPONDED': 'Unit telah menanggapi; pelapor dapat membalas.',
    'note.STATE_COMPLETED': 'Selesai.',
    'note.STATE_ARCHIVED': 'Ditutup tanpa tindak lanjut.',
    'note.STATE_ESCALATED': 'Dieskalasi: tenggat terlewati dan koordinator turun tangan.',
    'ARCHIVE_REASON_UNCLEAR': 'laporan tidak jelas',
    'ARCHIVE_REASON_OUT_OF_SCOPE': 'bukan urusan pelayanan publik',
    'ARCHIVE_REASON_DUPLICATE': 'duplikat pengaduan lain',
    'ARCHIVE_REASON_NO_RESPONSE': 'pelapor tidak menjawab dalam 30 hari',
    'REPORT_TYPE_COMPLAINT': 'Pengaduan',
    'REPORT_TYPE_ASPIRATION': 'Aspirasi',
    'REPORT_TYPE_INFORMATION_REQUEST': 'Permintaan informasi',
    'CONFIDENTIALITY_PUBLIC': 'Terbuka',
    'CONFIDENTIALITY_SECRET': 'Rahasia',
    'CONFIDENTIALITY_ANONYMOUS': 'Anonim',
    verify_by: 'Batas verifikasi',
    dispose_by: 'Batas disposisi ke unit',
    respond_by: 'Batas tanggapan unit',
    resolve_by: 'Batas penyelesaian',
    auto_complete_at: 'Selesai otomatis bila tidak dibalas',
    auto_archive_at: 'Ditutup otomatis bila tidak dilengkapi',
    reopen_until: 'Dapat dibuka kembali sampai',
    deadlines: 'Tenggat waktu',
    overdue: 'terlambat',
    next: 'tenggat berikutnya',
    noDeadline: 'Tidak ada tenggat yang berlaku saat ini.',
    // History actions.
    FileComplaint: 'Pengaduan diajukan',
    RouteComplaint: 'Diarahkan ke instansi',
    HoldComplaint: 'Ditunda: keterangan tambahan diminta',
    VerifyComplaint: 'Diverifikasi',
    DisposeComplaint: 'Diteruskan ke unit',
    ForwardComplaint: 'Dilimpahkan ke instansi lain',
    StartWork: 'Mulai ditindaklanjuti',
    PostFollowUp: 'Tanggapan unit',
    ReplyToComplaint: 'Balasan pelapor',
    CompleteComplaint: 'Diselesaikan',
    RateComplaint: 'Penilaian pelapor',
    ReopenComplaint: 'Dibuka kembali oleh pelapor',
    ArchiveComplaint: 'Ditutup',
    EscalateComplaint: 'Dieskalasi',
    ResumeComplaint: 'Penanganan dilanjutkan',
    AutoComplete: 'Selesai otomatis',
    AutoArchive: 'Ditutup otomatis',
    Escalate: 'Dieskalasi otomatis (tenggat terlewati)',
    fieldError: 'Kesalahan',
  },
  en: {
    'STATE_RECEIVED': 'Received',
    'STATE_ON_HOLD': 'On hold',
    'STATE_VERIFIED': 'Verified',
    'STATE_DISPOSED': 'Routed to the unit',
    'STATE_FORWARDED': 'Forwarded',
    'STATE_IN_PROGRESS': 'In progress',
    'STATE_RESPONDED': 'Responded',
    'STATE_COMPLETED': 'Completed',
    'STATE_ARCHIVED': 'Closed',
    'STATE_ESCALATED': 'Escalated',
    'note.STATE_RECEIVED': 'Received; waiting for verification.',
    'note.STATE_ON_HOLD': 'On hold: the report needs more information from the complainant.',
    'note.STATE_VERIFIED': 'Verified; being routed to the responsible unit.',
    'note.STATE_DISPOSED': 'Routed to the responsible unit.',
    'note.STATE_FORWARDED': 'Forwarded to the competent agency.',
    'note.STATE_IN_PROGRESS': 'The responsible unit is working on it.',
    'note.STATE_RESPONDED': 'The unit has responded; the complainant may reply.',
    'note.STATE_COMPLETED': 'Completed.',
    'note.STATE_ARCHIVED': 'Closed without action.',
    'note.STATE_ESCALATED': 'Escalated: a deadline was missed and the coordinator intervenes.',
    'ARCHIVE_REASON_UNCLEAR': 'the report is unclear',
    'ARCHIVE_REASON_OUT_OF_SCOPE': 'not a public-service matter',
    'ARCHIVE_REASON_DUPLICATE': 'a duplicate of another complaint',
    'ARCHIVE_REASON_NO_RESPONSE': 'no answer from the complainant within 30 days',
    'REPORT_TYPE_COMPLAINT': 'Complaint',
    'REPORT_TYPE_ASPIRATION': 'Suggestion',
    'REPORT_TYPE_INFORMATION_REQUEST': 'Information request',
    'CONFIDENTIALITY_PUBLIC': 'Open',
    'CONFIDENTIALITY_SECRET': 'Confidential',
    'CONFIDENTIALITY_ANONYMOUS': 'Anonymous',
    verify_by: 'Verification due',
    dispose_by: 'Routing to the unit due',
    respond_by: "Unit's response due",
    resolve_by: 'Resolution due',
    auto_complete_at: 'Completed automatically without a reply on',
    auto_archive_at: 'Closed automatically if not completed on',
    reopen_until: 'Can be reopened until',
    deadlines: 'Deadlines',
    overdue: 'overdue',
    next: 'next deadline',
    noDeadline: 'No deadline applies now.',
    FileComplaint: 'Complaint filed',
    RouteComplaint: 'Routed to an agency',
    HoldComplaint: 'On hold: more information asked',
    VerifyComplaint: 'Verified',
    DisposeComplaint: 'Routed to the unit',
    ForwardComplaint: 'Forwarded to another agency',
    StartWork: 'Work started',
    PostFollowUp: "The unit's response",
    ReplyToComplaint: "The complainant's reply",
    CompleteComplaint: 'Completed',
    RateComplaint: "The complainant's rating",
    ReopenComplaint: 'Reopened by the complainant',
    ArchiveComplaint: 'Closed',
    EscalateComplaint: 'Escalated',
    ResumeComplaint: 'Handling resumed',
    AutoComplete: 'Completed automatically',
    AutoArchive: 'Closed automatically',
    Escalate: 'Escalated automatically (a deadline was missed)',
    fieldError: 'Error',
  },
};

export const t = texts(TEXT);

export const STATES = ['STATE_RECEIVED', 'STATE_ON_HOLD', 'STATE_VERIFIED', 'STATE_DISPOSED',
  'STATE_FORWARDED', 'STATE_IN_PROGRESS', 'STATE_RESPONDED', 'STATE_COMPLETED',
  'STATE_ARCHIVED', 'STATE_ESCALATED'];

// stateWords is a state in a few words ("Sedang ditindaklanjuti").
export function stateWords(state) { return state ? t(state) : ''; }

// stateNote is what the state means to the complainant: the API's status_note when it sends
// one, else the catalogue's sentence kept here.
export function stateNote(complaint, apiNote) {
  if (apiNote) return apiNote;
  if (!complaint?.state) return '';
  const note = t(`note.${complaint.state}`);
  if (complaint.state === 'STATE_ARCHIVED' && complaint.archive_reason &&
      complaint.archive_reason !== 'ARCHIVE_REASON_UNSPECIFIED') {
    return `${note.replace(/\.$/, '')} (${t(complaint.archive_reason)}).`;
  }
  return note;
}

export function StateBadge({ state }) {
  const kind = state === 'STATE_COMPLETED' ? 'ok'
    : state === 'STATE_ESCALATED' || state === 'STATE_ARCHIVED' ? 'late' : '';
  return html`<span class=${`badge ${kind}`} data-testid="state" data-state=${state}>${
    stateWords(state)}</span>`;
}

const DEADLINES = ['verify_by', 'dispose_by', 'respond_by', 'resolve_by', 'auto_complete_at',
                   'auto_archive_at', 'reopen_until'];

// Deadlines lists the deadlines a case has, the next one marked and flagged when overdue.
export function Deadlines({ deadlines, overdue, heading = 'h2' }) {
  const d = deadlines ?? {};
  const rows = DEADLINES.filter((k) => d[k]);
  const H = heading;
  return html`<section class="cp-deadlines" aria-labelledby="cp-deadlines-h">
    <${H} id="cp-deadlines-h">${t('deadlines')}</${H}>
    ${rows.length === 0 ? html`<p class="muted">${t('noDeadline')}</p>` : html`
    <dl data-testid="deadlines">${rows.map((k) => {
      const isNext = d.next && d.next === d[k];
      return html`<div class=${isNext ? 'cp-next' : ''}>
        <dt>${t(k)}</dt>
        <dd><time datetime=${d[k]}>${date(d[k])}</time>
          ${isNext ? html` <span class="badge">${t('next')}</span>` : null}
          ${isNext && overdue ? html` <span class="badge late" data-testid="overdue">${
            t('overdue')}</span>` : null}</dd>
      </div>`;
    })}</dl>`}
  </section>`;
}

// actionWords is a history entry's action in words.
export function actionWords(action) {
  const words = t(action);
  return words === action ? action : words;
}

// Names of agencies and services, read once per page load (the registry is public).
const agencyCache = new Map();
const serviceCache = new Map();
let agenciesLoad = null;

export function loadAgencies() {
  if (!agenciesLoad) {
    agenciesLoad = (async () => {
      const all = [];
      let token = '';
      for (let i = 0; i < 20; i++) {
        const r = await api('/v1/agencies', { query: { 'page.page_size': 500,
                                                       'page.page_token': token } });
        all.push(...(r?.agencies ?? []));
        token = r?.next_page_token ?? '';
        if (!token) break;
      }
      for (const a of all) agencyCache.set(a.id, a.name);
      return all;
    })().catch((e) => { agenciesLoad = null; throw e; });
  }
  return agenciesLoad;
}

export function loadService(id) {
  if (!serviceCache.has(id)) {
    serviceCache.set(id, api(`/v1/services/${encodeURIComponent(id)}`)
      .then((r) => r?.service ?? null)
      .catch(() => null));
  }
  return serviceCache.get(id);
}

// useNames returns { agency(id), service(id) }: the names once known, the ids until then.
export function useNames(serviceIds) {
  const [, setVersion] = useState(0);
  const [services, setServices] = useState({});
  const key = [...new Set(serviceIds.filter(Boolean))].sort().join(',');
  useEffect(() => {
    let live = true;
    loadAgencies().then(() => live && setVersion((v) => v + 1), () => {});
    return () => { live = false; };
  }, []);
  useEffect(() => {
    let live = true;
    const ids = key ? key.split(',') : [];
    Promise.all(ids.map((id) => loadService(id).then((s) => [id, s?.name])))
      .then((pairs) => {
        if (!live) return;
        setServices((old) => {
          const next = { ...old };
          for (const [id, name] of pairs) if (name) next[id] = name;
          return next;
        });
      });
    return () => { live = false; };
  }, [key]);
  return {
    agency: (id) => (id ? agencyCache.get(id) ?? id : ''),
    service: (id) => (id ? services[id] ?? id : ''),
  };
}

// Field errors: the API names fields by their proto path ("description",
// "complainant.email", "attributes[application_number]"); each form field has the id
// fieldId(path) and its error line the id errorId(path).
export function fieldId(path) { return `f-${path.replace(/[^A-Za-z0-9_-]+/g, '-')}`; }
export function errorId(path) { return `${fieldId(path)}-error`; }

// violations maps an ApiError's field violations by field path.
export function violations(error) {
  const map = {};
  for (const v of error?.fieldViolations ?? []) {
    map[v.field] = map[v.field] ? `${map[v.field]}; ${v.description}` : v.description;
  }
  return map;
}

// FieldError is the error line under a field (empty and absent when there is none).
export function FieldError({ path, errors }) {
  const text = errors?.[path];
  if (!text) return null;
  return html`<p class="cp-field-error" id=${errorId(path)} data-testid=${`error-${path}`}>
    <strong>${t('fieldError')}:</strong> ${text}</p>`;
}

// fieldProps are the accessibility attributes of a field: its id, aria-invalid and
// aria-describedby (the error line, then any hint).
export function fieldProps(path, errors, hint) {
  const described = [errors?.[path] ? errorId(path) : '', hint ?? ''].filter(Boolean).join(' ');
  return {
    id: fieldId(path),
    'aria-invalid': errors?.[path] ? 'true' : undefined,
    'aria-describedby': described || undefined,
  };
}
