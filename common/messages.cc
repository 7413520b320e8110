// The message catalogue and its matcher (common/messages.h).
#include "common/messages.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/status.h"

namespace simpul {
namespace {

// The catalogue. Keys group by where the text comes from. Keep the English templates exactly
// as the code renders them (the tests drive the code and fail on a text that does not fit).
const std::vector<Message>& Entries() {
  static const auto* entries = new std::vector<Message>{
      // Status messages built here.
      {"invalid", "invalid {0}: {1}", "{0} tidak valid: {1}"},
      {"more", "and {0} more", "dan {0} lainnya"},
      {"what.request", "request", "permintaan"},
      {"what.file", "FileComplaintRequest", "pengaduan"},
      {"what.track", "TrackComplaintRequest", "permintaan pelacakan"},
      {"what.reply", "ReplyToComplaintRequest", "balasan"},
      {"what.rate", "RateComplaintRequest", "penilaian"},
      {"what.reopen", "ReopenComplaintRequest", "permintaan pembukaan kembali"},
      {"what.list", "ListComplaintsRequest", "permintaan daftar pengaduan"},
      {"what.watch", "WatchComplaintEventsRequest", "permintaan umpan peristiwa"},
      {"what.open311", "Open311 request", "permintaan Open311"},
      {"what.open311_query", "Open311 query", "kueri Open311"},
      {"what.open311_list", "Open311 requests query", "kueri daftar permintaan Open311"},

      // Field rules every service shares (common/field_rules.cc, services' own checks).
      {"field.required", "required", "wajib diisi"},
      {"field.min_chars", "at least {0} characters", "minimal {0} karakter"},
      {"field.min_chars_got", "at least {0} characters, got {1}",
       "minimal {0} karakter, diterima {1}"},
      {"field.max_chars_got", "at most {0} characters, got {1}",
       "maksimal {0} karakter, diterima {1}"},
      {"field.max_bytes_got", "at most {0} bytes, got {1}", "maksimal {0} bita, diterima {1}"},
      {"field.max_got", "at most {0}, got {1}", "maksimal {0}, diterima {1}"},
      {"field.control_chars", "must not contain control characters",
       "tidak boleh berisi karakter kendali"},
      {"field.slug",
       "\"{0}\" is not a valid id: expected 3..64 characters of a-z, 0-9 and '-', starting and "
       "ending with a letter or digit",
       "\"{0}\" bukan id yang sah: harus 3..64 karakter a-z, 0-9 dan '-', diawali dan diakhiri "
       "huruf atau angka"},
      {"field.date", "not a valid date: {0}", "bukan tanggal yang sah: {0}"},
      {"field.future", "must not be in the future ({0} is after {1})",
       "tidak boleh di masa depan ({0} sesudah {1})"},
      {"field.page_size", "must be 1..500 (0 = default 50), got {0}",
       "harus 1..500 (0 = bawaan 50), diterima {0}"},
      {"field.within", "must be within {0}", "harus dalam rentang {0}"},
      {"field.range_got", "must be {0}, got {1}", "harus {0}, diterima {1}"},
      {"field.unknown_value", "unknown value {0}", "nilai tidak dikenal: {0}"},
      {"field.page_token", "not a page token returned by this API",
       "bukan token halaman yang diberikan API ini"},

      // Complaint filing and the complainant's actions (services/complaints).
      {"complaint.phone_chars", "only digits, spaces and + - ( ) are allowed",
       "hanya angka, spasi dan + - ( ) yang diperbolehkan"},
      {"complaint.phone_digits", "needs at least 5 digits", "minimal berisi 5 angka"},
      {"complaint.email", "not an e-mail address", "bukan alamat e-mail"},
      {"complaint.region_code",
       "\"{0}\" is not a Kemendagri region code (PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD)",
       "\"{0}\" bukan kode wilayah Kemendagri (PP, PP.KK, PP.KK.CC atau PP.KK.CC.DDDD)"},
      {"complaint.uri", "must be an absolute URI such as https://...",
       "harus berupa URI absolut seperti https://..."},
      {"complaint.idempotency_required",
       "required: a channel-chosen key, the same on every retry of one filing",
       "wajib diisi: kunci pilihan kanal, sama pada setiap pengulangan satu pengaduan"},
      {"complaint.idempotency_chars", "8..128 characters of A-Z a-z 0-9 - _ : .",
       "8..128 karakter A-Z a-z 0-9 - _ : ."},
      {"complaint.filing_window",
       "a complaint must be filed within {0} days of receiving the service; it was received on "
       "{1}",
       "pengaduan harus diajukan paling lambat {0} hari setelah layanan diterima; layanan "
       "diterima pada {1}"},
      {"complaint.tracking_code_form",
       "not a tracking code: expected 10 letters and digits such as 7KQ2M-XW9DT",
       "bukan kode pelacakan: harus 10 huruf dan angka seperti 7KQ2M-XW9DT"},
      {"complaint.report_type", "must be COMPLAINT, ASPIRATION or INFORMATION_REQUEST, got {0}",
       "harus COMPLAINT, ASPIRATION atau INFORMATION_REQUEST, diterima {0}"},
      {"complaint.channel", "must name the channel the complaint arrived through, got {0}",
       "harus menyebut kanal tempat pengaduan masuk, diterima {0}"},
      {"complaint.target", "either service_id or target_text is required",
       "service_id atau target_text wajib diisi"},
      {"complaint.not_found", "no complaint with tracking code {0}",
       "tidak ada pengaduan dengan kode pelacakan {0}"},
      {"complaint.not_found_secret", "no complaint with tracking code {0} and this secret",
       "tidak ada pengaduan dengan kode pelacakan {0} dan rahasia ini"},
      {"complaint.closed_reopen",
       "complaint {0} is {1}; a closed case takes no replies (use ReopenComplaint)",
       "pengaduan {0} berstatus {1}; pengaduan yang sudah ditutup tidak menerima balasan "
       "(gunakan ReopenComplaint)"},
      {"complaint.closed", "complaint {0} is {1}; a closed case takes no replies",
       "pengaduan {0} berstatus {1}; pengaduan yang sudah ditutup tidak menerima balasan"},
      {"complaint.rated", "complaint {0} is already rated {1} for this completion",
       "pengaduan {0} sudah diberi nilai {1} untuk penyelesaian ini"},
      {"complaint.reopen_window", "the reopen window of complaint {0} ended at {1}",
       "batas waktu membuka kembali pengaduan {0} berakhir pada {1}"},
      {"complaint.state", "{0} is allowed in state {1}; complaint {2} is {3}",
       "{0} hanya dapat dilakukan pada status {1}; pengaduan {2} berstatus {3}"},
      {"complaint.public_channel",
       "public callers file through channel WEB or MOBILE_APP; other channels need the "
       "channel's credentials",
       "pengadu tanpa kunci mengajukan melalui kanal WEB atau MOBILE_APP; kanal lain memerlukan "
       "kredensial kanal tersebut"},
      {"complaint.dashboard", "dashboards cannot file complaints",
       "dasbor tidak dapat mengajukan pengaduan"},
      {"complaint.scope_unreachable",
       "the registry cannot be reached to check that this channel may file for the service; "
       "retry",
       "registri tidak dapat dihubungi untuk memeriksa apakah kanal ini boleh mengajukan "
       "pengaduan untuk layanan tersebut; coba lagi"},
      {"complaint.scope_all",
       "this channel's key is bound to named agencies and units; {0} for a service no unit "
       "handles needs a key for every agency (scope_all_agencies)",
       "kunci kanal ini terikat pada instansi dan unit tertentu; {0} untuk layanan yang tidak "
       "ditangani unit mana pun memerlukan kunci untuk semua instansi (scope_all_agencies)"},
      {"complaint.scope_unit",
       "this channel's key is not bound to unit {0} of agency {1}; {2} there needs a key whose "
       "scope names that agency or unit",
       "kunci kanal ini tidak terikat pada unit {0} dari instansi {1}; {2} di sana memerlukan "
       "kunci yang cakupannya menyebut instansi atau unit tersebut"},
      {"complaint.filing", "filing complaints", "pengajuan pengaduan"},
      {"complaint.busy", "complaint {0} is changing too often right now; retry shortly",
       "pengaduan {0} sedang terlalu sering berubah; coba lagi sebentar lagi"},
      {"complaint.no_tracking_code", "could not draw a free tracking code; retry",
       "tidak dapat membuat kode pelacakan yang bebas; coba lagi"},

      // Answers to a service's questions (services/complaints/intake.cc).
      {"intake.one_value", "takes one value, got {0}", "hanya menerima satu nilai, diterima {0}"},
      {"intake.one_line", "one line: no line breaks", "satu baris: tanpa pindah baris"},
      {"intake.number",
       "\"{0}\" is not a number (digits, an optional sign and fraction, e.g. 12 or -3.5)",
       "\"{0}\" bukan angka (digit, boleh dengan tanda dan pecahan, misalnya 12 atau -3.5)"},
      {"intake.datetime",
       "\"{0}\" is not an RFC 3339 date and time, e.g. 2026-12-01T09:30:00+07:00",
       "\"{0}\" bukan tanggal dan waktu RFC 3339, misalnya 2026-12-01T09:30:00+07:00"},
      {"intake.max_values", "at most {0} values, got {1}", "maksimal {0} nilai, diterima {1}"},
      {"intake.not_a_key", "\"{0}\" is not one of the keys {1}",
       "\"{0}\" bukan salah satu kunci {1}"},
      {"intake.twice", "\"{0}\" is given twice", "\"{0}\" diberikan dua kali"},
      {"intake.unknown_datatype",
       "the service's question has a datatype this version does not know",
       "pertanyaan layanan ini memakai tipe data yang tidak dikenal versi ini"},
      {"intake.target_only",
       "answers are only taken with a service_id (they answer that service's questions); a "
       "filing with target_text only has none",
       "jawaban hanya diterima bersama service_id (jawaban atas pertanyaan layanan itu); "
       "pengaduan dengan target_text saja tidak memilikinya"},
      {"intake.max_answers", "at most {0} answers, got {1}", "maksimal {0} jawaban, diterima {1}"},
      {"intake.code", "\"{0}\" is not an attribute code (1..64 characters of A-Z a-z 0-9 _ -)",
       "\"{0}\" bukan kode atribut (1..64 karakter A-Z a-z 0-9 _ -)"},
      {"intake.answered_twice",
       "answered twice; send each code once (several values in one answer)",
       "dijawab dua kali; kirim setiap kode sekali (beberapa nilai dalam satu jawaban)"},
      {"intake.value_bytes", "a value has at most {0} bytes, got {1}",
       "satu nilai maksimal {0} bita, diterima {1}"},
      {"intake.no_questions", "the service asks no questions",
       "layanan ini tidak mengajukan pertanyaan"},
      {"intake.no_such_question", "the service has no such question; its codes are {0}",
       "layanan ini tidak memiliki pertanyaan itu; kodenya: {0}"},
      {"intake.informational", "is information for the complainant and takes no answer",
       "berisi keterangan untuk pelapor dan tidak perlu dijawab"},
      {"intake.required", "required: {0}", "wajib diisi: {0}"},
      {"intake.unreachable",
       "the registry cannot be reached to check the answers to the service's questions "
       "(attributes); retry shortly",
       "registri tidak dapat dihubungi untuk memeriksa jawaban atas pertanyaan layanan "
       "(attributes); coba lagi sebentar lagi"},

      // Where: areas of a list (services/complaints/geo.cc, gateway/open311.cc).
      {"geo.latitude", "must be a latitude in {0}", "harus lintang dalam rentang {0}"},
      {"geo.longitude", "must be a longitude in {0}", "harus bujur dalam rentang {0}"},
      {"geo.greater_lat", "must be greater than min_latitude",
       "harus lebih besar dari min_latitude"},
      {"geo.greater_long",
       "must be greater than min_longitude (a box may not cross the antimeridian: list each "
       "side separately)",
       "harus lebih besar dari min_longitude (kotak tidak boleh melintasi antimeridian: "
       "tampilkan tiap sisinya terpisah)"},
      {"geo.radius", "must be 1..50,000 metres", "harus 1..50.000 meter"},
      {"geo.one_area", "give within_box or near, not both",
       "berikan within_box atau near, tidak keduanya"},
      {"geo.with", "required with {0}", "wajib diisi bersama {0}"},
      {"geo.degrees", "must be decimal degrees, e.g. {0}; got \"{1}\"",
       "harus derajat desimal, misalnya {0}; diterima \"{1}\""},
      {"geo.metres", "must be metres, e.g. 500; got \"{0}\"",
       "harus dalam meter, misalnya 500; diterima \"{0}\""},
      {"geo.center", "needs lat and long (the center)", "memerlukan lat dan long (titik pusat)"},
      {"geo.bbox_or_radius", "give bbox or lat/long/radius, not both",
       "berikan bbox atau lat/long/radius, tidak keduanya"},
      {"geo.bbox",
       "must be minlong,minlat,maxlong,maxlat in decimal degrees, e.g. 106.7,-6.3,106.9,-6.1; "
       "got \"{0}\"",
       "harus minlong,minlat,maxlong,maxlat dalam derajat desimal, misalnya "
       "106.7,-6.3,106.9,-6.1; diterima \"{0}\""},

      {"geo.too_many",
       "the area holds more than {0} located cases this list may see; narrow it (a smaller box "
       "or radius)",
       "area ini memuat lebih dari {0} pengaduan berlokasi yang dapat dilihat daftar ini; "
       "persempit (kotak atau radius yang lebih kecil)"},
      {"geo.filling",
       "the index of cases by location is being filled after an upgrade; retry in a few seconds",
       "indeks pengaduan menurut lokasi sedang diisi setelah pemutakhiran; coba lagi dalam "
       "beberapa detik"},

      // Attachments (services/complaints/attachments.cc).
      {"attachment.none", "complaint {0} has no attachment {1}",
       "pengaduan {0} tidak memiliki lampiran {1}"},
      {"attachment.closed", "complaint {0} is {1}; a closed case takes no attachments",
       "pengaduan {0} berstatus {1}; pengaduan yang sudah ditutup tidak menerima lampiran"},
      {"attachment.full", "complaint {0} already has {1} attachments, the most a case takes",
       "pengaduan {0} sudah memiliki {1} lampiran, batas terbanyak untuk satu pengaduan"},
      {"attachment.empty", "required: the file's bytes (the upload is empty)",
       "wajib diisi: isi berkas (unggahan kosong)"},
      {"attachment.kind_declared",
       "must be a JPEG, PNG, GIF or WebP image or a PDF document; the content is {0} whatever "
       "its declared type or file name says",
       "harus gambar JPEG, PNG, GIF atau WebP atau dokumen PDF; isinya {0}, apa pun jenis atau "
       "nama berkas yang dinyatakan"},
      {"attachment.kind",
       "must be a JPEG, PNG, GIF or WebP image or a PDF document; the content "
       "is {0}",
       "harus gambar JPEG, PNG, GIF atau WebP atau dokumen PDF; isinya {0}"},
      {"attachment.redacted", "attachment {0} of complaint {1} was redacted; its content is gone",
       "lampiran {0} dari pengaduan {1} telah disunting; isinya sudah dihapus"},
      {"attachment.not_stored", "the attachment could not be stored; retry shortly",
       "lampiran tidak dapat disimpan; coba lagi sebentar lagi"},
      {"attachment.changed", "the case changed during the upload; retry",
       "pengaduan berubah selama pengunggahan; coba lagi"},
      {"attachment.unreadable", "the attachment's content cannot be read right now",
       "isi lampiran tidak dapat dibaca saat ini"},
      {"attachment.unconfigured", "attachments are not configured on this service (objects_dir)",
       "lampiran tidak diaktifkan pada layanan ini (objects_dir)"},

      // The gateway: authentication, policy, limits, the REST front.
      {"gateway.invalid_key",
       "invalid API key: expected a token \"<id>.<secret>\" as issued; this one is malformed, "
       "unknown or has a wrong secret",
       "kunci API tidak valid: harus token \"<id>.<secret>\" seperti yang diterbitkan; kunci "
       "ini salah bentuk, tidak dikenal atau rahasianya salah"},
      {"gateway.bearer", "the authorization header must be \"Bearer <API key>\"",
       "header authorization harus berbentuk \"Bearer <API key>\""},
      {"gateway.revoked", "API key {0} has been revoked", "kunci API {0} telah dicabut"},
      {"gateway.rate_limit", "rate limit of {0} exceeded; retry after {1} s",
       "batas laju {0} terlampaui; coba lagi setelah {1} detik"},
      {"gateway.needs_credentials",
       "{0} needs credentials: send an API key as \"authorization: Bearer <key>\"",
       "{0} memerlukan kredensial: kirim kunci API sebagai \"authorization: Bearer <key>\""},
      {"gateway.role", "the role {0} may not call {1}", "peran {0} tidak boleh memanggil {1}"},
      {"gateway.no_route_method", "no route for {0} {1}", "tidak ada rute untuk {0} {1}"},
      {"gateway.no_route", "no route for {0}", "tidak ada rute untuk {0}"},
      {"gateway.method", "{0} does not take {1}; it takes {2}",
       "{0} tidak menerima {1}; yang diterima: {2}"},
      {"gateway.json_body",
       "the body must be JSON with \"Content-Type: application/json\"; got \"{0}\"",
       "isi permintaan harus JSON dengan \"Content-Type: application/json\"; diterima \"{0}\""},
      {"gateway.body_limit", "the body is larger than the limit of {0} bytes",
       "isi permintaan melebihi batas {0} bita"},
      {"gateway.header_limit", "the request headers are larger than the limit of {0} bytes",
       "header permintaan melebihi batas {0} bita"},
      {"gateway.malformed", "malformed HTTP request: {0}", "permintaan HTTP salah bentuk: {0}"},

      // The web front and officer sessions (gateway/rest/web_front.cc, gateway/web_sessions.cc,
      // gateway/rest/web_http.cc).
      {"web.no_file", "no file {0}", "tidak ada berkas {0}"},
      {"web.malformed_path",
       "malformed path {0}: expected /-separated segments, percent-encoded once, without NUL or "
       "backslash",
       "jalur {0} salah bentuk: harus segmen yang dipisah /, dikodekan persen sekali, tanpa NUL "
       "atau garis miring terbalik"},
      {"web.no_session",
       "not signed in: the session cookie is missing, unknown or expired; sign in again",
       "belum masuk: cookie sesi tidak ada, tidak dikenal atau kedaluwarsa; silakan masuk lagi"},
      {"web.store", "the session store (Redis) cannot be reached; retry ({0})",
       "penyimpanan sesi (Redis) tidak dapat dihubungi; coba lagi ({0})"},
      {"web.role",
       "the console is for agency officers: the role {0} may not sign in (agency admins, agency "
       "operators and platform admins may)",
       "konsol ini untuk petugas instansi: peran {0} tidak boleh masuk (admin instansi, operator "
       "instansi dan admin platform boleh)"},
      {"web.csrf_missing",
       "the X-CSRF-Token header is required with the session cookie: send the csrf_token of "
       "/web/session",
       "header X-CSRF-Token wajib disertakan bersama cookie sesi: kirim csrf_token dari "
       "/web/session"},
      {"web.csrf_wrong", "the X-CSRF-Token header does not match this session's csrf_token",
       "header X-CSRF-Token tidak cocok dengan csrf_token sesi ini"},
      {"web.origin",
       "the Origin header {0} is not this gateway's own origin: the session works only from the "
       "web front",
       "header Origin {0} bukan asal gateway ini sendiri: sesi hanya berlaku dari situs web "
       "Simpul"},
      {"web.body", "expected a JSON object {\"api_key\": \"<token>\"}",
       "harus objek JSON {\"api_key\": \"<token>\"}"},
      {"web.unknown_field", "unknown field; the body is {\"api_key\": \"<token>\"}",
       "kolom tidak dikenal; isi permintaan adalah {\"api_key\": \"<token>\"}"},
      {"web.string", "expected a string", "harus berupa teks"},
      {"gateway.overloaded", "the gateway is overloaded or stopping; retry",
       "gateway sedang kelebihan beban atau berhenti; coba lagi"},
      {"gateway.stream_limit", "{0} (limit {1}); close one and retry",
       "{0} (batas {1}); tutup salah satu lalu coba lagi"},
      {"gateway.streams_public", "too many concurrent streams from anonymous callers",
       "terlalu banyak aliran serentak dari pemanggil anonim"},
      {"gateway.streams_key", "too many concurrent streams for this API key",
       "terlalu banyak aliran serentak untuk kunci API ini"},
      {"gateway.streams_address", "too many concurrent streams from the address {0}",
       "terlalu banyak aliran serentak dari alamat {0}"},
      {"gateway.connections_address", "too many concurrent connections from the address {0}",
       "terlalu banyak koneksi serentak dari alamat {0}"},
      {"gateway.lang", "expected \"id\" (Bahasa Indonesia) or \"en\" (English); got \"{0}\"",
       "harus \"id\" (Bahasa Indonesia) atau \"en\" (English); diterima \"{0}\""},

      // Open311 (gateway/open311*.cc).
      {"open311.service_code", "required: a service_code from services.json",
       "wajib diisi: service_code dari services.json"},
      {"open311.description", "required: what went wrong", "wajib diisi: apa yang terjadi"},
      {"open311.lat", "expected a latitude in -90..90 with long",
       "harus lintang dalam rentang -90..90 bersama long"},
      {"open311.long", "expected a longitude in -180..180 with lat",
       "harus bujur dalam rentang -180..180 bersama lat"},
      {"open311.datetime",
       "expected a W3C / RFC 3339 date-time with a time zone, e.g. 2026-11-05T08:15:30+07:00 or "
       "2026-11-05T01:15:30Z; got \"{0}\"",
       "harus tanggal-waktu W3C / RFC 3339 dengan zona waktu, misalnya "
       "2026-11-05T08:15:30+07:00 atau 2026-11-05T01:15:30Z; diterima \"{0}\""},
      {"open311.start_after_end", "must not be after end_date", "tidak boleh sesudah end_date"},
      {"open311.status", "expected open, closed or both; got \"{0}\"",
       "harus open, closed atau keduanya; diterima \"{0}\""},
      {"open311.no_code", "no {0} has this code; see services.json",
       "tidak ada {0} dengan kode ini; lihat services.json"},
      {"open311.notice",
       "Tracking code {0}. Keep it to follow the report; the complainant's secret is {1}.",
       "Kode pelacakan {0}. Simpan untuk mengikuti laporan; rahasia pelapor adalah {1}."},
      {"open311.notice_replay",
       "Tracking code {0}. Keep it to follow the report (a repeated filing: the secret was given "
       "the first time).",
       "Kode pelacakan {0}. Simpan untuk mengikuti laporan (pengajuan berulang: rahasia sudah "
       "diberikan pada pengajuan pertama)."},
      {"open311.what_service", "service", "layanan"},
      {"open311.what_jurisdiction", "jurisdiction (agency)", "yurisdiksi (instansi)"},
      {"open311.escape", "the path has a malformed % escape",
       "jalur berisi escape % yang salah bentuk"},
      {"open311.no_resource_ext", "no such resource: {0}; Open311 resources end in .json or .xml",
       "sumber daya tidak ada: {0}; sumber daya Open311 berakhiran .json atau .xml"},
      {"open311.no_resource",
       "no such resource: {0}; the Open311 GeoReport v2 API is at /open311/v2/ and its "
       "discovery document at /open311/discovery.json",
       "sumber daya tidak ada: {0}; API Open311 GeoReport v2 ada di /open311/v2/ dan dokumen "
       "penemuannya di /open311/discovery.json"},
      {"open311.no_such", "no such resource: {0}", "sumber daya tidak ada: {0}"},
      {"open311.method", "{0} does not take {1}", "{0} tidak menerima {1}"},
      {"open311.no_standard", "service {0} has no adopted standard yet and takes no requests",
       "layanan {0} belum memiliki standar yang ditetapkan dan belum menerima permintaan"},
      {"open311.form",
       "the body must be form-encoded (Content-Type: application/x-www-form-urlencoded); got "
       "\"{0}\"",
       "isi permintaan harus form-encoded (Content-Type: application/x-www-form-urlencoded); "
       "diterima \"{0}\""},
      {"open311.api_key", "api_key: required; a complaint channel files with its own key",
       "api_key: wajib diisi; kanal pengaduan mengajukan dengan kuncinya sendiri"},
      {"open311.channel",
       "attribute[channel]: unknown channel \"{0}\"; one of web, sms, mobile_app, social_media, "
       "email, phone, walk_in, complaint_box, partner_system",
       "attribute[channel]: kanal \"{0}\" tidak dikenal; salah satu dari web, sms, mobile_app, "
       "social_media, email, phone, walk_in, complaint_box, partner_system"},
      {"open311.unknown_id",
       "service_request_id: no request has the id \"{0}\" (or it is not a tracking code, e.g. "
       "7KQ2M-XW9DT)",
       "service_request_id: tidak ada permintaan dengan id \"{0}\" (atau bukan kode pelacakan, "
       "misalnya 7KQ2M-XW9DT)"},
      {"open311.max_ids", "service_request_id: at most {0} ids at once; got {1}",
       "service_request_id: maksimal {0} id sekaligus; diterima {1}"},
      {"open311.page_token", "not a token this list gave (X-Simpul-Next-Page-Token)",
       "bukan token yang diberikan daftar ini (X-Simpul-Next-Page-Token)"},

      // Status notes: what a case's state means to the complainant and the public.
      {"status.RECEIVED", "Received; waiting for verification.", "Diterima; menunggu verifikasi."},
      {"status.ON_HOLD", "On hold: the report needs more information from the complainant.",
       "Ditunda: laporan memerlukan keterangan tambahan dari pelapor."},
      {"status.VERIFIED", "Verified; being routed to the responsible unit.",
       "Terverifikasi; sedang diteruskan ke unit yang bertanggung jawab."},
      {"status.DISPOSED", "Routed to the responsible unit.",
       "Telah diteruskan ke unit yang bertanggung jawab."},
      {"status.FORWARDED", "Forwarded to the competent agency.",
       "Dilimpahkan ke instansi yang berwenang."},
      {"status.IN_PROGRESS", "The responsible unit is working on it.",
       "Sedang ditindaklanjuti oleh unit yang bertanggung jawab."},
      {"status.RESPONDED", "The unit has responded; the complainant may reply.",
       "Unit telah menanggapi; pelapor dapat membalas."},
      {"status.COMPLETED", "Completed.", "Selesai."},
      {"status.ARCHIVED", "Closed without action ({0}).", "Ditutup tanpa tindak lanjut ({0})."},
      {"status.ESCALATED", "Escalated: a deadline was missed and the coordinator intervenes.",
       "Dieskalasi: tenggat terlewati dan koordinator turun tangan."},
      {"status.unlisted_closed", "Closed.", "Ditutup."},
      {"status.unlisted_waiting", "Received; awaiting verification.",
       "Diterima; menunggu verifikasi."},
      {"status.unlisted_open", "Open; the case is not publicly listed.",
       "Terbuka; pengaduan ini tidak ditampilkan untuk umum."},
      {"archive.UNSPECIFIED", "UNSPECIFIED", "alasan tidak disebutkan"},
      {"archive.INCOMPLETE", "INCOMPLETE", "laporan tidak lengkap"},
      {"archive.OUT_OF_SCOPE", "OUT_OF_SCOPE", "di luar lingkup pelayanan publik"},
      {"archive.DUPLICATE", "DUPLICATE", "duplikat laporan lain"},
      {"archive.NO_RESPONSE", "NO_RESPONSE", "pelapor tidak menjawab"},
  };
  return *entries;
}

// A template as pieces: literal text, or an argument number.
struct Piece {
  std::string literal;
  int arg = -1;  // >= 0: a placeholder
};

std::vector<Piece> Parse(std::string_view text) {
  std::vector<Piece> out;
  std::string literal;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 2 < text.size() && absl::ascii_isdigit(text[i + 1]) &&
        text[i + 2] == '}') {
      if (!literal.empty()) out.push_back({std::move(literal), -1});
      literal.clear();
      out.push_back({"", text[i + 1] - '0'});
      i += 2;
    } else {
      literal.push_back(text[i]);
    }
  }
  if (!literal.empty()) out.push_back({std::move(literal), -1});
  return out;
}

struct Compiled {
  const Message* message;
  std::vector<Piece> en;
  std::vector<Piece> id;
  size_t fixed = 0;  // bytes of literal text in the English template
};

const std::vector<Compiled>& CompiledEntries() {
  static const auto* compiled = [] {
    auto* out = new std::vector<Compiled>;
    for (const Message& m : Entries()) {
      Compiled c{&m, Parse(m.en), Parse(m.id)};
      for (const Piece& p : c.en) c.fixed += p.literal.size();
      out->push_back(std::move(c));
    }
    return out;
  }();
  return *compiled;
}

// Match: does `text` from `pos` fit pieces[i..]? Arguments capture at least one character;
// a placeholder tries each place its following literal occurs.
bool Match(std::string_view text, size_t pos, const std::vector<Piece>& pieces, size_t i,
           std::vector<std::string>& args) {
  if (i == pieces.size()) return pos == text.size();
  const Piece& p = pieces[i];
  if (p.arg < 0) {
    if (text.substr(pos, p.literal.size()) != p.literal) return false;
    return Match(text, pos + p.literal.size(), pieces, i + 1, args);
  }
  if (static_cast<size_t>(p.arg) >= args.size()) args.resize(p.arg + 1);
  if (i + 1 == pieces.size()) {
    if (pos >= text.size()) return false;
    args[p.arg] = std::string(text.substr(pos));
    return true;
  }
  const std::string& next = pieces[i + 1].literal;  // two placeholders never touch
  for (size_t at = text.find(next, pos + 1); at != std::string_view::npos;
       at = text.find(next, at + 1)) {
    args[p.arg] = std::string(text.substr(pos, at - pos));
    if (Match(text, at, pieces, i + 1, args)) return true;
  }
  return false;
}

std::string Render(const std::vector<Piece>& pieces, const std::vector<std::string>& args) {
  std::string out;
  for (const Piece& p : pieces) {
    if (p.arg < 0) {
      out += p.literal;
    } else if (static_cast<size_t>(p.arg) < args.size()) {
      out += args[p.arg];
    }
  }
  return out;
}

const Compiled* Find(std::string_view key) {
  for (const Compiled& c : CompiledEntries()) {
    if (c.message->key == key) return &c;
  }
  return nullptr;
}

// Best is the template `english` fits with the most fixed text, and its arguments.
const Compiled* Best(std::string_view english, std::vector<std::string>* args_out) {
  const Compiled* best = nullptr;
  for (const Compiled& c : CompiledEntries()) {
    if (best != nullptr && c.fixed <= best->fixed) continue;
    std::vector<std::string> args;
    if (Match(english, 0, c.en, 0, args)) {
      best = &c;
      *args_out = std::move(args);
    }
  }
  return best;
}

// LocalizeArg translates an argument that is itself a catalogue text (e.g. "filing complaints"
// inside a scope message, or a stream limit's "too many concurrent streams ..."), one level
// deep; anything else (ids, numbers, states, the caller's input) stays. The field rules'
// short texts ("required") are never taken for an argument.
std::string LocalizeArg(const std::string& arg) {
  std::vector<std::string> args;
  const Compiled* c = Best(arg, &args);
  if (c == nullptr || c->message->key.substr(0, 6) == "field.") return arg;
  return Render(c->id, args);
}

}  // namespace

std::string_view LangTag(Lang lang) { return lang == Lang::kEnglish ? "en" : "id"; }

absl::StatusOr<Lang> ParseLangParam(std::string_view value) {
  const std::string lower = absl::AsciiStrToLower(AbslView(value));
  const std::string_view primary = std::string_view(lower).substr(0, lower.find('-'));
  if (primary == "id" || primary == "in") return Lang::kIndonesian;
  if (primary == "en") return Lang::kEnglish;
  return InvalidField("lang", Text("gateway.lang", Lang::kEnglish, {Excerpt(value, 40)}));
}

std::optional<Lang> PreferredLang(std::string_view accept_language) {
  std::optional<Lang> best;
  double best_q = 0;
  for (absl::string_view item : absl::StrSplit(AbslView(accept_language), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, ';');
    const std::string tag =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts.empty() ? "" : parts[0]));
    double q = 1;
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
      if (absl::StartsWithIgnoreCase(param, "q=")) {
        if (!absl::SimpleAtod(param.substr(2), &q) || q < 0 || q > 1) q = 0;
      }
    }
    const std::string_view primary = std::string_view(tag).substr(0, tag.find('-'));
    std::optional<Lang> lang;
    if (primary == "id" || primary == "in") lang = Lang::kIndonesian;
    if (primary == "en") lang = Lang::kEnglish;
    if (lang && q > best_q) {
      best = lang;
      best_q = q;
    }
  }
  return best;
}

const std::vector<Message>& Catalogue() { return Entries(); }

std::string Text(std::string_view key, Lang lang, const std::vector<std::string>& args) {
  const Compiled* c = Find(key);
  if (c == nullptr) return std::string(key);
  return Render(lang == Lang::kEnglish ? c->en : c->id, args);
}

std::string StatusNote(std::string_view state, std::string_view archive_reason, Lang lang) {
  const std::string key = absl::StrCat("status.", AbslView(state));
  if (state.empty() || !absl::ascii_isupper(static_cast<unsigned char>(state[0])) ||
      Find(key) == nullptr) {
    return "";
  }
  if (state == "ARCHIVED") {
    const std::string reason = absl::StrCat("archive.", AbslView(archive_reason));
    return Text(key, lang,
                {Find(reason) != nullptr ? Text(reason, lang) : std::string(archive_reason)});
  }
  return Text(key, lang);
}

std::optional<std::string> Translate(std::string_view english, Lang lang) {
  std::vector<std::string> args;
  const Compiled* best = Best(english, &args);
  if (best == nullptr) return std::nullopt;
  if (lang == Lang::kEnglish) return std::string(english);
  for (std::string& arg : args) arg = LocalizeArg(arg);
  return Render(best->id, args);
}

std::string Localize(std::string_view english, Lang lang) {
  if (lang == Lang::kEnglish) return std::string(english);
  std::optional<std::string> out = Translate(english, lang);
  return out ? *std::move(out) : std::string(english);
}

absl::Status LocalizeStatus(const absl::Status& status, Lang lang) {
  if (status.ok() || lang == Lang::kEnglish) return status;
  common::v1::BadRequest bad = BadRequestOf(status);
  std::string message;
  const std::string_view original = StdView(status.message());
  if (bad.field_violations_size() > 0 && original.substr(0, 8) == "invalid ") {
    // "invalid <what>: field: description; ..." is rebuilt from the localized violations.
    const size_t colon = original.find(": ", 8);
    const std::string what =
        std::string(original.substr(8, colon == std::string_view::npos ? 0 : colon - 8));
    std::vector<std::string> parts;
    for (auto& v : *bad.mutable_field_violations()) {
      v.set_description(Localize(v.description(), lang));
      parts.push_back(absl::StrCat(v.field(), ": ", v.description()));
    }
    if (const size_t last = original.rfind("; ");
        last != std::string_view::npos && original.substr(last + 2, 4) == "and ") {
      parts.push_back(Localize(original.substr(last + 2), lang));
    }
    message = BoundedText(Text("invalid", lang, {Localize(what, lang), absl::StrJoin(parts, "; ")}),
                          kMaxMessageBytes);
  } else {
    message = Localize(original, lang);
    for (auto& v : *bad.mutable_field_violations()) {
      v.set_description(Localize(v.description(), lang));
    }
  }
  absl::Status out(status.code(), AbslView(message));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  if (bad.field_violations_size() > 0) {
    out.SetPayload(AbslView(kBadRequestPayloadUrl), absl::Cord(bad.SerializeAsString()));
  }
  return out;
}

}  // namespace simpul
