// Field checks of the complaint service's requests.
#include "services/complaints/validation.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/field_rules.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/complaints/intake.h"
#include "services/complaints/tracking.h"

namespace simpul::complaints {
namespace {

constexpr size_t kMaxAttachments = 10;

size_t Utf8Length(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// CheckChars is CheckText counting characters (UTF-8 code points) instead of bytes.
bool IsIdempotencyKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
         c == '.';
}

void CheckPhone(FieldViolations& v, const std::string& field, absl::string_view phone) {
  if (phone.empty()) return;
  if (phone.size() > 32) {
    v.Add(field, absl::StrCat("at most 32 characters, got ", phone.size()));
    return;
  }
  int digits = 0;
  for (char c : phone) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')') {
      v.Add(field, "only digits, spaces and + - ( ) are allowed");
      return;
    }
  }
  if (digits < 5) v.Add(field, "needs at least 5 digits");
}

void CheckEmail(FieldViolations& v, const std::string& field, absl::string_view email) {
  if (email.empty()) return;
  size_t at = email.find('@');
  if (email.size() > 254 || at == absl::string_view::npos || at == 0 || at + 1 == email.size() ||
      email.find(' ') != absl::string_view::npos) {
    v.Add(field, "not an e-mail address");
  }
}

void CheckLocation(FieldViolations& v, const v1::Location& loc) {
  CheckText(v, "location.address", loc.address(), 0, 500);
  if (!loc.region_code().empty() && !IsValidRegionCode(loc.region_code())) {
    v.Add(
        "location.region_code",
        absl::StrCat("\"", Excerpt(loc.region_code(), 40),
                     "\" is not a Kemendagri region code (PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD)"));
  }
  if (!(loc.latitude() >= -90 && loc.latitude() <= 90)) {
    v.Add("location.latitude", "must be within -90..90");
  }
  if (!(loc.longitude() >= -180 && loc.longitude() <= 180)) {
    v.Add("location.longitude", "must be within -180..180");
  }
}

void CheckAttachments(FieldViolations& v,
                      const google::protobuf::RepeatedPtrField<v1::Attachment>& attachments) {
  if (static_cast<size_t>(attachments.size()) > kMaxAttachments) {
    v.Add("attachments", absl::StrCat("at most ", kMaxAttachments, ", got ", attachments.size()));
    return;
  }
  for (int i = 0; i < attachments.size(); ++i) {
    const auto& a = attachments[i];
    std::string path = absl::StrCat("attachments[", i, "].");
    CheckText(v, path + "uri", a.uri(), 1, 1000);
    size_t colon = a.uri().find(':');
    if (!a.uri().empty() && (colon == std::string::npos || colon == 0)) {
      v.Add(path + "uri", "must be an absolute URI such as https://...");
    }
    CheckText(v, path + "media_type", a.media_type(), 0, 100);
    CheckText(v, path + "description", a.description(), 0, 200);
  }
}

void CheckIdempotencyKey(FieldViolations& v, const std::string& key) {
  if (key.size() < 8 || key.size() > 128 ||
      !std::all_of(key.begin(), key.end(), IsIdempotencyKeyChar)) {
    v.Add("idempotency_key",
          key.empty() ? "required: a channel-chosen key, the same on every retry of one filing"
                      : "8..128 characters of A-Z a-z 0-9 - _ : .");
  }
}

// CheckServiceDate: a valid date, not in the future and within the filing window.
void CheckServiceDate(FieldViolations& v, const common::v1::Date& date, absl::Time now,
                      int filing_window_days) {
  // The complainant's local date is not known before routing: judge leniently, with the
  // latest date in Indonesia (WIT) for "not in the future" and the earliest (WIB) for the
  // filing window, so that no complainant is refused for their time zone.
  const absl::CivilDay latest_today = absl::ToCivilDay(now, absl::FixedTimeZone(9 * 3600));
  const absl::CivilDay earliest_today = absl::ToCivilDay(now, absl::FixedTimeZone(7 * 3600));
  const int before = v.proto().field_violations_size();
  CheckDate(v, "service_date", date, false, &latest_today);
  if (v.proto().field_violations_size() == before) {  // a valid date, not in the future
    absl::CivilDay day = ToCivilDay(date);
    if (earliest_today - day > filing_window_days) {
      v.Add("service_date", absl::StrCat("a complaint must be filed within ", filing_window_days,
                                         " days of receiving the service; it was received on ",
                                         absl::FormatCivilTime(day)));
    }
  }
}

}  // namespace

void CheckChars(FieldViolations& v, const std::string& field, absl::string_view text, size_t min,
                size_t max) {
  size_t n = Utf8Length(text);
  if (n < min) {
    v.Add(field, min == 1 ? "required" : absl::StrCat("at least ", min, " characters"));
  } else if (n > max) {
    v.Add(field, absl::StrCat("at most ", max, " characters, got ", n));
  } else {
    CheckText(v, field, text, 0, text.size());
  }
}

absl::StatusOr<std::string> ParseId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(std::string(field), "required");
  std::optional<std::string> code = NormalizeTrackingCode(StdView(id));
  if (!code) {
    return InvalidField(std::string(field),
                        "not a tracking code: expected 10 letters and digits such as 7KQ2M-XW9DT");
  }
  return *code;
}

std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

// NextDue sets deadlines.next to the deadline the scanner acts on in the case's state.
absl::Status ValidateFiling(const v1::FileComplaintRequest& req, absl::Time now,
                            int filing_window_days) {
  FieldViolations v;
  CheckIdempotencyKey(v, req.idempotency_key());
  if (req.report_type() == v1::REPORT_TYPE_UNSPECIFIED ||
      !v1::ReportType_IsValid(req.report_type())) {
    v.Add("report_type", absl::StrCat("must be COMPLAINT, ASPIRATION or INFORMATION_REQUEST, got ",
                                      req.report_type()));
  }
  if (req.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(req.channel())) {
    v.Add("channel",
          absl::StrCat("must name the channel the complaint arrived through, got ", req.channel()));
  }
  if (req.service_id().empty() && req.target_text().empty()) {
    v.Add("service_id", "either service_id or target_text is required");
  }
  if (!req.service_id().empty()) CheckSlug(v, "service_id", req.service_id());
  CheckChars(v, "target_text", req.target_text(), 0, 500);
  CheckChars(v, "title", req.title(), 0, 200);
  CheckChars(v, "description", req.description(), 1, 4000);
  CheckChars(v, "remedy_requested", req.remedy_requested(), 0, 1000);
  CheckLocation(v, req.location());
  CheckAttachments(v, req.attachments());
  CheckChars(v, "complainant.name", req.complainant().name(), 0, 200);
  CheckPhone(v, "complainant.phone", req.complainant().phone());
  CheckEmail(v, "complainant.email", req.complainant().email());
  CheckChars(v, "complainant.address", req.complainant().address(), 0, 500);
  if (!v1::Confidentiality_IsValid(req.confidentiality())) {
    v.Add("confidentiality", absl::StrCat("unknown value ", req.confidentiality()));
  }
  if (req.has_service_date()) CheckServiceDate(v, req.service_date(), now, filing_window_days);
  CheckAnswerShape(v, req);
  return v.ToStatus(req.GetDescriptor()->name());
}

}  // namespace simpul::complaints
