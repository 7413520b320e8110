// Where: areas, geo indexes and possible duplicates (geo.h).
#include "services/complaints/geo.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "services/complaints/store.h"

namespace simpul::complaints {
namespace {

constexpr double kPi = 3.14159265358979323846;

double Radians(double degrees) { return degrees * kPi / 180.0; }

// A search shape is widened by this much (relative, plus a metre), so rounding in Redis'
// geohash cells and in either side's arithmetic never leaves a point of the area out.
constexpr double kSearchMargin = 0.001;

bool InRange(double x, double lo, double hi) { return std::isfinite(x) && x >= lo && x <= hi; }

void CheckBox(FieldViolations& v, const v1::GeoBox& b) {
  const bool lat_ok = InRange(b.min_latitude(), -90, 90) && InRange(b.max_latitude(), -90, 90);
  if (!InRange(b.min_latitude(), -90, 90)) {
    v.Add("within_box.min_latitude", "must be a latitude in -90..90");
  }
  if (!InRange(b.max_latitude(), -90, 90)) {
    v.Add("within_box.max_latitude", "must be a latitude in -90..90");
  }
  if (!InRange(b.min_longitude(), -180, 180)) {
    v.Add("within_box.min_longitude", "must be a longitude in -180..180");
  }
  if (!InRange(b.max_longitude(), -180, 180)) {
    v.Add("within_box.max_longitude", "must be a longitude in -180..180");
  }
  if (lat_ok && b.min_latitude() >= b.max_latitude()) {
    v.Add("within_box.max_latitude", "must be greater than min_latitude");
  }
  if (InRange(b.min_longitude(), -180, 180) && InRange(b.max_longitude(), -180, 180) &&
      b.min_longitude() >= b.max_longitude()) {
    v.Add("within_box.max_longitude",
          "must be greater than min_longitude (a box may not cross the antimeridian: list "
          "each side separately)");
  }
}

void CheckCircle(FieldViolations& v, const v1::GeoCircle& c) {
  if (!InRange(c.latitude(), -kMaxGeoLatitude, kMaxGeoLatitude)) {
    v.Add("near.latitude",
          absl::StrCat("must be a latitude in -", kMaxGeoLatitude, "..", kMaxGeoLatitude));
  }
  if (!InRange(c.longitude(), -180, 180)) {
    v.Add("near.longitude", "must be a longitude in -180..180");
  }
  if (!InRange(c.radius_meters(), 1, kMaxRadiusMeters)) {
    v.Add("near.radius_meters", "must be 1..50,000 metres");
  }
}

}  // namespace

bool HasPoint(const v1::Location& location) {
  return location.latitude() != 0 || location.longitude() != 0;
}

bool GeoIndexed(const v1::Complaint& complaint) {
  const v1::Location& l = complaint.location();
  return HasPoint(l) && InRange(l.latitude(), -kMaxGeoLatitude, kMaxGeoLatitude) &&
         InRange(l.longitude(), -180, 180);
}

double DistanceMeters(double lat1, double lon1, double lat2, double lon2) {
  const double phi1 = Radians(lat1), phi2 = Radians(lat2);
  const double u = std::sin((phi2 - phi1) / 2);
  const double w = std::sin(Radians(lon2 - lon1) / 2);
  const double a = u * u + std::cos(phi1) * std::cos(phi2) * w * w;
  return 2.0 * kEarthRadiusMeters * std::asin(std::sqrt(std::min(1.0, a)));
}

void ValidateArea(FieldViolations& v, const v1::ListComplaintsRequest& req) {
  if (req.has_within_box() && req.has_near()) {
    v.Add("near", "give within_box or near, not both");
    return;
  }
  if (req.has_within_box()) CheckBox(v, req.within_box());
  if (req.has_near()) CheckCircle(v, req.near());
}

std::optional<GeoArea> AreaOf(const v1::ListComplaintsRequest& req) {
  GeoArea area;
  if (req.has_within_box()) {
    area.kind = GeoArea::Kind::kBox;
    area.box = req.within_box();
    return area;
  }
  if (req.has_near()) {
    area.kind = GeoArea::Kind::kCircle;
    area.circle = req.near();
    return area;
  }
  return std::nullopt;
}

bool Contains(const GeoArea& area, const v1::Location& location) {
  if (!HasPoint(location)) return false;
  const double lat = location.latitude(), lon = location.longitude();
  if (area.kind == GeoArea::Kind::kBox) {
    const v1::GeoBox& b = area.box;
    return lat >= b.min_latitude() && lat <= b.max_latitude() && lon >= b.min_longitude() &&
           lon <= b.max_longitude();
  }
  const v1::GeoCircle& c = area.circle;
  return DistanceMeters(c.latitude(), c.longitude(), lat, lon) <= c.radius_meters();
}

GeoSearchShape SearchShapeOf(const GeoArea& area) {
  GeoSearchShape shape;
  if (area.kind == GeoArea::Kind::kCircle) {
    shape.latitude = area.circle.latitude();
    shape.longitude = area.circle.longitude();
    shape.radius_m = area.circle.radius_meters() * (1 + kSearchMargin) + 1;
    return shape;
  }
  // Redis' box is centred on a point: a point is in it when its north-south distance from the
  // center's latitude is at most height/2 and its distance from the center's meridian, along
  // its own latitude (great circle), at most width/2. The widest part of a lat/long box is at
  // its latitude nearest the equator, so the width is taken there. Latitudes beyond the index's
  // range hold no indexed case: the box is clipped to it.
  const v1::GeoBox& b = area.box;
  const double min_lat = std::max(b.min_latitude(), -kMaxGeoLatitude);
  const double max_lat = std::min(b.max_latitude(), kMaxGeoLatitude);
  shape.latitude = (min_lat + max_lat) / 2;
  shape.longitude = (b.min_longitude() + b.max_longitude()) / 2;
  const double half_height =
      std::max(std::abs(max_lat - shape.latitude), std::abs(shape.latitude - min_lat));
  const double equatorward =
      (min_lat <= 0 && max_lat >= 0) ? 0 : std::min(std::abs(min_lat), std::abs(max_lat));
  const double half_width =
      DistanceMeters(equatorward, shape.longitude, equatorward, b.max_longitude());
  shape.height_m = (2 * Radians(half_height) * kEarthRadiusMeters) * (1 + kSearchMargin) + 2;
  shape.width_m = 2 * half_width * (1 + kSearchMargin) + 2;
  return shape;
}

std::string GeoAllIndex() { return "geo:all"; }
std::string GeoAgencyIndex(std::string_view agency_id) {
  return absl::StrCat("geo:a:", AbslView(agency_id));
}
std::string GeoPublicIndex() { return "geo:pub"; }

std::vector<std::string> GeoIndexesOf(const v1::Complaint& c) {
  std::vector<std::string> out;
  if (!GeoIndexed(c)) return out;
  out.push_back(GeoAllIndex());
  if (!c.agency_id().empty()) out.push_back(GeoAgencyIndex(c.agency_id()));
  // Publicly listed: verified, not archived, not SECRET (store.h's IsPubliclyListed; repeated
  // here so the geo code does not depend on the store).
  if (c.confidentiality() != v1::CONFIDENTIALITY_SECRET) {
    switch (c.state()) {
      case v1::STATE_VERIFIED:
      case v1::STATE_DISPOSED:
      case v1::STATE_FORWARDED:
      case v1::STATE_IN_PROGRESS:
      case v1::STATE_RESPONDED:
      case v1::STATE_COMPLETED:
      case v1::STATE_ESCALATED:
        out.push_back(GeoPublicIndex());
        break;
      default:
        break;
    }
  }
  return out;
}

std::string GeoListIndex(bool is_public, const std::string& agency) {
  if (is_public) return GeoPublicIndex();
  if (!agency.empty()) return GeoAgencyIndex(agency);
  return GeoAllIndex();
}

std::vector<PossibleDuplicate> RankDuplicates(const v1::Complaint& filed,
                                              const std::vector<v1::Complaint>& nearby,
                                              const DuplicateOptions& options) {
  std::vector<PossibleDuplicate> out;
  if (filed.service_id().empty() || !HasPoint(filed.location()) || options.radius_m <= 0) {
    return out;
  }
  const absl::Time filed_at = FromProto(filed.file_time());
  const absl::Time since = filed_at - absl::Hours(24) * options.window_days;
  for (const v1::Complaint& c : nearby) {
    if (c.id() == filed.id() || c.service_id() != filed.service_id()) continue;
    if (c.state() == v1::STATE_ARCHIVED || !HasPoint(c.location())) continue;
    const absl::Time at = FromProto(c.file_time());
    if (at < since || at > filed_at) continue;
    const double d = DistanceMeters(filed.location().latitude(), filed.location().longitude(),
                                    c.location().latitude(), c.location().longitude());
    if (d > options.radius_m) continue;
    out.push_back({c, d});
  }
  std::sort(out.begin(), out.end(), [](const PossibleDuplicate& a, const PossibleDuplicate& b) {
    if (a.distance_m != b.distance_m) return a.distance_m < b.distance_m;
    return a.complaint.id() < b.complaint.id();
  });
  if (static_cast<int>(out.size()) > options.max_candidates) out.resize(options.max_candidates);
  return out;
}

absl::StatusOr<std::vector<PossibleDuplicate>> FindPossibleDuplicates(
    ComplaintStore& store, const v1::Complaint& filed, const DuplicateOptions& options) {
  if (filed.service_id().empty() || !GeoIndexed(filed) || options.radius_m <= 0 ||
      options.max_examined <= 0) {
    return std::vector<PossibleDuplicate>();
  }
  GeoArea area;
  area.kind = GeoArea::Kind::kCircle;
  area.circle.set_latitude(filed.location().latitude());
  area.circle.set_longitude(filed.location().longitude());
  area.circle.set_radius_meters(options.radius_m);
  const absl::Time filed_at = FromProto(filed.file_time());
  const int64_t from_ms = absl::ToUnixMillis(filed_at - absl::Hours(24) * options.window_days);
  const int64_t to_ms = absl::ToUnixMillis(filed_at) + 1;
  SIMPUL_ASSIGN_OR_RETURN(std::vector<IndexedRecord> nearby,
                          store.ScanArea(GeoAllIndex(), area, AllIndex(), from_ms, to_ms,
                                         std::nullopt, options.max_examined));
  std::vector<v1::Complaint> cases;
  cases.reserve(nearby.size());
  for (IndexedRecord& item : nearby) cases.push_back(std::move(*item.record.mutable_complaint()));
  return RankDuplicates(filed, cases, options);
}

}  // namespace simpul::complaints
