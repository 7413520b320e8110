// Where (issue #16, point 5): the areas a list may be narrowed to (a bounding box or a circle),
// the geo indexes that find the cases inside one, and the possible duplicates of a filing
// (cases of the same service near it, filed in the last days).
//
// Distances are great-circle distances on a sphere of radius 6,372,797.560856 m, the one
// Redis' GEO commands use, so a point the index finds on a circle's edge is the point this
// code keeps. The geo indexes hold cases whose location has a point (latitude and longitude
// not both 0) with |latitude| <= 85.05112878 (the range Redis' geo index covers).
#ifndef SIMPUL_SERVICES_COMPLAINTS_GEO_H_
#define SIMPUL_SERVICES_COMPLAINTS_GEO_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/field_rules.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

namespace v1 = ::simpul::complaints::v1;

constexpr double kEarthRadiusMeters = 6372797.560856;  // Redis' (geohash_helper.c)
constexpr double kMaxGeoLatitude = 85.05112878;        // Redis' GEOADD limit
constexpr double kMaxRadiusMeters = 50000;

// GeoArea is the area of a list: a box or a circle (validated, see ValidateArea).
struct GeoArea {
  enum class Kind { kBox, kCircle };
  Kind kind = Kind::kCircle;
  v1::GeoBox box;        // kBox
  v1::GeoCircle circle;  // kCircle
};

// GeoSearchShape is what the Redis index is asked for (GEOSEARCH FROMLONLAT ... BYRADIUS or
// BYBOX, in metres): a shape that holds every point of the area (a little more, never less);
// the desk then keeps the points Contains accepts.
struct GeoSearchShape {
  double latitude = 0, longitude = 0;  // center
  double radius_m = 0;                 // > 0: BYRADIUS
  double width_m = 0, height_m = 0;    // radius_m == 0: BYBOX
};

// HasPoint: the location gives coordinates (both 0 means not given).
bool HasPoint(const v1::Location& location);
// Indexed: the case has a point the geo indexes can hold.
bool GeoIndexed(const v1::Complaint& complaint);

// DistanceMeters is the great-circle distance between two points (haversine).
double DistanceMeters(double lat1, double lon1, double lat2, double lon2);

// ValidateArea adds a violation naming the field for every bad value of within_box and near
// (ranges, min < max, radius 1..50,000 m, not both).
void ValidateArea(FieldViolations& v, const v1::ListComplaintsRequest& req);
// AreaOf is the area of a validated request; nullopt when it names none.
std::optional<GeoArea> AreaOf(const v1::ListComplaintsRequest& req);
// Contains: `location` has a point inside `area` (edges included).
bool Contains(const GeoArea& area, const v1::Location& location);
// SearchShapeOf is the index search that finds every point of `area`.
GeoSearchShape SearchShapeOf(const GeoArea& area);

// Geo index names (the store keeps them as Redis geo sets, member = case id).
std::string GeoAllIndex();                               // every indexed case
std::string GeoAgencyIndex(std::string_view agency_id);  // the cases an agency holds
std::string GeoPublicIndex();                            // publicly listed cases
// GeoIndexesOf lists the geo indexes `complaint` belongs in (none without a point).
std::vector<std::string> GeoIndexesOf(const v1::Complaint& complaint);
// GeoListIndex is the narrowest geo index holding every case a list may return: the public
// one for public-view callers, the agency's when the list names one, else every case.
std::string GeoListIndex(bool is_public, const std::string& agency);

// DuplicateOptions say what a possible duplicate is (docs/configuration.md).
struct DuplicateOptions {
  double radius_m = 300;   // duplicate_radius_m; 0 turns the suggestions off
  int window_days = 7;     // duplicate_window_days
  int max_candidates = 5;  // suggested at most
  int max_examined = 200;  // nearby cases of the window read at most (oldest first)
};

// PossibleDuplicate is one case near a new one, with its distance from it.
struct PossibleDuplicate {
  v1::Complaint complaint;
  double distance_m = 0;
};

// RankDuplicates keeps, of `nearby`, the cases that may duplicate `filed`: the same
// service, another case, not archived, within options.radius_m, filed in the window before
// filed's filing time; nearest first (ties by id), at most options.max_candidates.
std::vector<PossibleDuplicate> RankDuplicates(const v1::Complaint& filed,
                                              const std::vector<v1::Complaint>& nearby,
                                              const DuplicateOptions& options);

class ComplaintStore;  // store.h

// FindPossibleDuplicates reads the cases of the geo index of every case within
// options.radius_m of `filed`'s point, filed in the window before it (at most
// options.max_examined of them, oldest first), and ranks them (RankDuplicates). None when
// `filed` has no service id or no indexable point.
absl::StatusOr<std::vector<PossibleDuplicate>> FindPossibleDuplicates(
    ComplaintStore& store, const v1::Complaint& filed, const DuplicateOptions& options);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_GEO_H_
