// Open311 GeoReport v2 transcoding.
#include "gateway/open311.h"

#include <openssl/sha.h>

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/status.h"
#include "gateway/url.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace simpul::gateway {
namespace {

namespace cv1 = ::simpul::complaints::v1;
using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

void Put(Struct& s, const std::string& key, std::string_view value) {
  (*s.mutable_fields())[key].set_string_value(std::string(value));
}
void PutNumber(Struct& s, const std::string& key, double value) {
  (*s.mutable_fields())[key].set_number_value(value);
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  google::protobuf::Timestamp whole = t;
  whole.set_nanos(0);
  return google::protobuf::util::TimeUtil::ToString(whole);
}

std::string Field(const std::map<std::string, std::string>& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> FormFields(std::string_view encoded) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(AbslView(encoded), '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    std::optional<std::string> key = PercentDecode(StdView(kv.first), /*plus_is_space=*/true);
    std::optional<std::string> value = PercentDecode(StdView(kv.second), /*plus_is_space=*/true);
    if (!key || !value) {
      return absl::InvalidArgumentError(absl::StrCat("malformed form field \"",
                                                     Excerpt(StdView(kv.first)),
                                                     "\": a % escape is not two hex digits"));
    }
    out.emplace(*std::move(key), *std::move(value));
  }
  return out;
}

std::string Open311Error(int http_status, std::string_view description) {
  ListValue list;
  Struct* e = list.add_values()->mutable_struct_value();
  PutNumber(*e, "code", http_status);
  Put(*e, "description", BoundedText(description));  // valid UTF-8, bounded
  return Json(list);
}

std::string Open311ErrorOf(const absl::Status& status, int http_status) {
  // The filing's fields as Open311 names them (Open311FileRequest's mapping, reversed).
  static const auto* const kNames = new std::map<std::string, std::string, std::less<>>{
      {"service_id", "service_code"},
      {"location.latitude", "lat"},
      {"location.longitude", "long"},
      {"location.address", "address_string"},
      {"complainant.name", "first_name"},
      {"complainant.email", "email"},
      {"complainant.phone", "phone"},
      {"attachments[0].uri", "media_url"},
      {"idempotency_key", "attribute[idempotency_key]"},
      {"id", "service_request_id"},
      {"filed_after", "start_date"},
      {"filed_before", "end_date"},
      {"agency_id", "jurisdiction_id"}};
  const common::v1::BadRequest bad = BadRequestOf(status);
  if (bad.field_violations_size() == 0) {
    return Open311Error(http_status, status.message().empty()
                                         ? absl::StatusCodeToString(status.code())
                                         : std::string(status.message()));
  }
  ListValue list;
  for (const auto& v : bad.field_violations()) {
    if (list.values_size() == 20) break;  // the first 20 are enough to act on
    auto it = kNames->find(v.field());
    Struct* e = list.add_values()->mutable_struct_value();
    PutNumber(*e, "code", http_status);
    Put(*e, "description",
        BoundedText(
            absl::StrCat(it == kNames->end() ? v.field() : it->second, ": ", v.description())));
  }
  return Json(list);
}

std::string Open311Services(const std::vector<registry::v1::Service>& services) {
  ListValue list;
  for (const registry::v1::Service& s : services) {
    Struct* o = list.add_values()->mutable_struct_value();
    Put(*o, "service_code", s.id());
    Put(*o, "service_name", s.name());
    Put(*o, "description", s.description());
    (*o->mutable_fields())["metadata"].set_bool_value(false);
    Put(*o, "type", "realtime");
    Put(*o, "keywords", s.agency_id());
    Put(*o, "group", s.unit_id());
  }
  return Json(list);
}

std::string Open311ServiceDefinition(const registry::v1::Service& service) {
  Struct o;
  Put(o, "service_code", service.id());
  (*o.mutable_fields())["attributes"].mutable_list_value();
  return Json(o);
}

absl::StatusOr<cv1::FileComplaintRequest> Open311FileRequest(
    const std::map<std::string, std::string>& fields, cv1::Channel channel) {
  FieldViolations v;
  cv1::FileComplaintRequest req;
  req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  req.set_channel(channel);
  const std::string code = Field(fields, "service_code");
  if (code.empty()) v.Add("service_code", "required: a service_code from services.json");
  req.set_service_id(code);
  const std::string description = Field(fields, "description");
  if (description.empty()) v.Add("description", "required: what went wrong");
  req.set_description(description);
  const std::string lat = Field(fields, "lat");
  const std::string lon = Field(fields, "long");
  if (!lat.empty() || !lon.empty()) {
    double la = 0, lo = 0;
    // Written so that NaN (SimpleAtod reads "nan") fails the range check too.
    if (!absl::SimpleAtod(lat, &la) || !(la >= -90 && la <= 90)) {
      v.Add("lat", "expected a latitude in -90..90 with long");
    }
    if (!absl::SimpleAtod(lon, &lo) || !(lo >= -180 && lo <= 180)) {
      v.Add("long", "expected a longitude in -180..180 with lat");
    }
    req.mutable_location()->set_latitude(la);
    req.mutable_location()->set_longitude(lo);
  }
  if (const std::string address = Field(fields, "address_string"); !address.empty()) {
    req.mutable_location()->set_address(address);
  }
  const std::string name = std::string(absl::StripAsciiWhitespace(
      absl::StrCat(Field(fields, "first_name"), " ", Field(fields, "last_name"))));
  const std::string email = Field(fields, "email");
  const std::string phone = Field(fields, "phone");
  if (!name.empty() || !email.empty() || !phone.empty()) {
    req.mutable_complainant()->set_name(name);
    req.mutable_complainant()->set_email(email);
    req.mutable_complainant()->set_phone(phone);
    req.set_confidentiality(cv1::CONFIDENTIALITY_SECRET);
  } else {
    req.set_confidentiality(cv1::CONFIDENTIALITY_ANONYMOUS);
  }
  if (const std::string media = Field(fields, "media_url"); !media.empty()) {
    req.add_attachments()->set_uri(media);
  }
  std::string key = Field(fields, "attribute[idempotency_key]");
  if (key.empty()) {
    // A channel that retries the same report must not file it twice: the key is a digest of
    // everything the report says (the api_key excluded: it is the same channel anyway).
    std::string material = absl::StrCat("channel=", static_cast<int>(channel));
    for (const auto& [k, value] : fields) {
      if (k == "api_key") continue;
      absl::StrAppend(&material, "\n", k.size(), ":", k, "=", value.size(), ":", value);
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    key = "o311:";
    for (int i = 0; i < 20; ++i) {
      key.push_back(kHex[digest[i] >> 4]);
      key.push_back(kHex[digest[i] & 15]);
    }
  }
  req.set_idempotency_key(key);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("Open311 request"));
  return req;
}

std::string_view Open311Status(cv1::State state) {
  return state == cv1::STATE_COMPLETED || state == cv1::STATE_ARCHIVED ? "closed" : "open";
}

std::string Open311StatusNotes(const cv1::PublicComplaint& c) {
  switch (c.state()) {
    case cv1::STATE_RECEIVED:
      return "Received; waiting for verification.";
    case cv1::STATE_ON_HOLD:
      return "On hold: the report needs more information from the complainant.";
    case cv1::STATE_VERIFIED:
      return "Verified; being routed to the responsible unit.";
    case cv1::STATE_DISPOSED:
      return "Routed to the responsible unit.";
    case cv1::STATE_FORWARDED:
      return "Forwarded to the competent agency.";
    case cv1::STATE_IN_PROGRESS:
      return "The responsible unit is working on it.";
    case cv1::STATE_RESPONDED:
      return "The unit has responded; the complainant may reply.";
    case cv1::STATE_COMPLETED:
      return "Completed.";
    case cv1::STATE_ARCHIVED:
      return absl::StrCat("Closed without action (",
                          cv1::ArchiveReason_Name(c.archive_reason()).substr(15), ").");
    case cv1::STATE_ESCALATED:
      return "Escalated: a deadline was missed and the coordinator intervenes.";
    default:
      return "";
  }
}

std::string Open311RequestJson(const cv1::PublicComplaint& c) {
  Struct o;
  Put(o, "service_request_id", c.id());
  Put(o, "status", Open311Status(c.state()));
  Put(o, "status_notes", Open311StatusNotes(c));
  Put(o, "service_code", c.service_id());
  Put(o, "description", c.description());
  Put(o, "agency_responsible", c.agency_id());
  Put(o, "requested_datetime", Time(c.file_time()));
  Put(o, "updated_datetime", Time(c.update_time()));
  if (!c.location().address().empty()) Put(o, "address", c.location().address());
  if (c.location().latitude() != 0 || c.location().longitude() != 0) {
    PutNumber(o, "lat", c.location().latitude());
    PutNumber(o, "long", c.location().longitude());
  }
  return Json(o);
}

std::string Open311Created(const cv1::FileComplaintResponse& filed) {
  ListValue list;
  Struct* o = list.add_values()->mutable_struct_value();
  Put(*o, "service_request_id", filed.tracking_code());
  Put(*o, "service_notice",
      absl::StrCat("Tracking code ", filed.tracking_code(),
                   ". Keep it to follow the report; the complainant's secret is ", filed.secret(),
                   "."));
  return Json(list);
}

}  // namespace simpul::gateway
