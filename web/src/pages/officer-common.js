// Shared pieces of the officer console (pages/officer*.js): the words for states, actions,
// roles, channels and confidentiality, and the deadline flags.
import { texts } from '../lib/i18n.js';
import { html } from '../lib/ui.js';

// The states of complaints.proto, in lifecycle order.
export const STATES = ['STATE_RECEIVED', 'STATE_ON_HOLD', 'STATE_VERIFIED', 'STATE_DISPOSED',
  'STATE_FORWARDED', 'STATE_IN_PROGRESS', 'STATE_RESPONDED', 'STATE_ESCALATED',
  'STATE_COMPLETED', 'STATE_ARCHIVED'];

const WORDS = {
  id: {
    STATE_RECEIVED: 'Menunggu verifikasi',
    STATE_ON_HOLD: 'Ditunda (menunggu kelengkapan)',
    STATE_VERIFIED: 'Terverifikasi',
    STATE_DISPOSED: 'Didisposisikan ke unit',
    STATE_FORWARDED: 'Diteruskan ke instansi',
    STATE_IN_PROGRESS: 'Sedang ditindaklanjuti',
    STATE_RESPONDED: 'Sudah ditanggapi',
    STATE_ESCALATED: 'Dieskalasi',
    STATE_COMPLETED: 'Selesai',
    STATE_ARCHIVED: 'Diarsipkan',
    ROLE_AGENCY_ADMIN: 'Admin instansi',
    ROLE_AGENCY_OPERATOR: 'Operator instansi',
    ROLE_PLATFORM_ADMIN: 'Admin platform (koordinator)',
    CONFIDENTIALITY_PUBLIC: 'Terbuka (nama boleh tampil)',
    CONFIDENTIALITY_SECRET: 'Rahasia (identitas hanya untuk instansi penanganan)',
    CONFIDENTIALITY_ANONYMOUS: 'Anonim (identitas tidak disimpan)',
    CHANNEL_WEB: 'Web', CHANNEL_SMS: 'SMS 1708', CHANNEL_MOBILE_APP: 'Aplikasi seluler',
    CHANNEL_SOCIAL_MEDIA: 'Media sosial', CHANNEL_EMAIL: 'Surel', CHANNEL_PHONE: 'Telepon',
    CHANNEL_WALK_IN: 'Datang langsung', CHANNEL_COMPLAINT_BOX: 'Kotak pengaduan',
    CHANNEL_PARTNER_SYSTEM: 'Sistem mitra',
    REPORT_TYPE_COMPLAINT: 'Pengaduan', REPORT_TYPE_ASPIRATION: 'Aspirasi',
    REPORT_TYPE_INFORMATION_REQUEST: 'Permintaan informasi',
    ARCHIVE_REASON_UNCLEAR: 'Tidak jelas', ARCHIVE_REASON_OUT_OF_SCOPE: 'Bukan urusan pelayanan publik',
    ARCHIVE_REASON_DUPLICATE: 'Duplikat kasus lain',
    ARCHIVE_REASON_NO_RESPONSE: 'Pelapor tidak melengkapi dalam 30 hari',
    ACTOR_KIND_COMPLAINANT: 'Pelapor', ACTOR_KIND_CHANNEL: 'Kanal', ACTOR_KIND_AGENCY: 'Instansi',
    ACTOR_KIND_COORDINATOR: 'Koordinator', ACTOR_KIND_SYSTEM: 'Sistem',
    FileComplaint: 'Pengaduan diajukan', RouteComplaint: 'Diarahkan', HoldComplaint: 'Ditunda',
    VerifyComplaint: 'Diverifikasi', DisposeComplaint: 'Didisposisikan',
    ForwardComplaint: 'Diteruskan', StartWork: 'Mulai ditangani',
    PostFollowUp: 'Tindak lanjut', CompleteComplaint: 'Diselesaikan',
    ArchiveComplaint: 'Diarsipkan', EscalateComplaint: 'Dieskalasi', ResumeComplaint: 'Dilanjutkan',
    ReplyToComplaint: 'Balasan pelapor', RateComplaint: 'Dinilai pelapor',
    ReopenComplaint: 'Dibuka kembali', UploadAttachment: 'Lampiran diunggah',
    RedactAttachment: 'Lampiran dihapus isinya', PublishAttachment: 'Lampiran dipublikasikan',
    AutoComplete: 'Selesai otomatis', AutoArchive: 'Diarsipkan otomatis', Escalate: 'Eskalasi otomatis',
    overdue: 'Terlambat', dueSoon: 'Segera jatuh tempo', onTime: 'Sesuai waktu',
    none: '–',
  },
  en: {
    STATE_RECEIVED: 'Awaiting verification',
    STATE_ON_HOLD: 'On hold (more information asked)',
    STATE_VERIFIED: 'Verified',
    STATE_DISPOSED: 'Passed to a unit',
    STATE_FORWARDED: 'Forwarded to an agency',
    STATE_IN_PROGRESS: 'In progress',
    STATE_RESPONDED: 'Responded',
    STATE_ESCALATED: 'Escalated',
    STATE_COMPLETED: 'Completed',
    STATE_ARCHIVED: 'Archived',
    ROLE_AGENCY_ADMIN: 'Agency admin',
    ROLE_AGENCY_OPERATOR: 'Agency operator',
    ROLE_PLATFORM_ADMIN: 'Platform admin (coordinator)',
    CONFIDENTIALITY_PUBLIC: 'Public (the name may be shown)',
    CONFIDENTIALITY_SECRET: 'Secret (identity for the handling agency only)',
    CONFIDENTIALITY_ANONYMOUS: 'Anonymous (identity not stored)',
    CHANNEL_WEB: 'Web', CHANNEL_SMS: 'SMS 1708', CHANNEL_MOBILE_APP: 'Mobile app',
    CHANNEL_SOCIAL_MEDIA: 'Social media', CHANNEL_EMAIL: 'E-mail', CHANNEL_PHONE: 'Phone',
    CHANNEL_WALK_IN: 'Walk-in', CHANNEL_COMPLAINT_BOX: 'Complaint box',
    CHANNEL_PARTNER_SYSTEM: 'Partner system',
    REPORT_TYPE_COMPLAINT: 'Complaint', REPORT_TYPE_ASPIRATION: 'Aspiration',
    REPORT_TYPE_INFORMATION_REQUEST: 'Information request',
    ARCHIVE_REASON_UNCLEAR: 'Unclear', ARCHIVE_REASON_OUT_OF_SCOPE: 'Not a public-service matter',
    ARCHIVE_REASON_DUPLICATE: 'Duplicate of another case',
    ARCHIVE_REASON_NO_RESPONSE: 'No answer from the complainant in 30 days',
    ACTOR_KIND_COMPLAINANT: 'Complainant', ACTOR_KIND_CHANNEL: 'Channel', ACTOR_KIND_AGENCY: 'Agency',
    ACTOR_KIND_COORDINATOR: 'Coordinator', ACTOR_KIND_SYSTEM: 'System',
    FileComplaint: 'Filed', RouteComplaint: 'Routed', HoldComplaint: 'Put on hold',
    VerifyComplaint: 'Verified', DisposeComplaint: 'Passed to a unit',
    ForwardComplaint: 'Forwarded', StartWork: 'Work started',
    PostFollowUp: 'Follow-up', CompleteComplaint: 'Completed',
    ArchiveComplaint: 'Archived', EscalateComplaint: 'Escalated', ResumeComplaint: 'Resumed',
    ReplyToComplaint: 'Complainant replied', RateComplaint: 'Rated by the complainant',
    ReopenComplaint: 'Reopened', UploadAttachment: 'Attachment uploaded',
    RedactAttachment: 'Attachment redacted', PublishAttachment: 'Attachment published',
    AutoComplete: 'Completed automatically', AutoArchive: 'Archived automatically',
    Escalate: 'Escalated automatically',
    overdue: 'Overdue', dueSoon: 'Due soon', onTime: 'On time',
    none: '–',
  },
};

// word names an enum value or action in the current language (the value itself if unknown).
export function word(value) {
  if (!value) return '';
  return texts(WORDS)(value);
}

// Due soon: the next deadline falls within this window.
export const DUE_SOON_MS = 2 * 24 * 60 * 60 * 1000;

// flagOf is 'overdue', 'dueSoon', 'onTime' or '' (no deadline applies) for a case, from the
// deadlines the API returned (deadlines.next, the earliest that applies in the current state)
// as of `now`; the service's own `overdue` counts too.
export function flagOf(complaint, now = Date.now()) {
  const next = complaint?.deadlines?.next;
  if (complaint?.overdue) return 'overdue';
  if (!next) return '';
  const at = Date.parse(next);
  if (Number.isNaN(at)) return '';
  if (at < now) return 'overdue';
  if (at - now <= DUE_SOON_MS) return 'dueSoon';
  return 'onTime';
}

export function Flag({ flag }) {
  if (!flag) return null;
  const cls = flag === 'overdue' ? 'badge late' : flag === 'dueSoon' ? 'badge soon' : 'badge ok';
  return html`<span class=${cls} data-testid=${`flag-${flag}`}>${word(flag)}</span>`;
}
