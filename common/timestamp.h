// Conversions between absl::Time and google.protobuf.Timestamp, for the services that store and
// return protobuf timestamps.
#ifndef SIMPUL_COMMON_TIMESTAMP_H_
#define SIMPUL_COMMON_TIMESTAMP_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace simpul {

// ToProto is `t` as a protobuf timestamp (whole seconds, then the nanoseconds past them).
inline google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return ts;
}

// FromProto is the time of a protobuf timestamp.
inline absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace simpul

#endif  // SIMPUL_COMMON_TIMESTAMP_H_
