// Field checks of the complaint service's requests: the rules every action shares (text
// lengths in characters, tracking codes) and the whole check of a filing.
#ifndef SIMPUL_SERVICES_COMPLAINTS_VALIDATION_H_
#define SIMPUL_SERVICES_COMPLAINTS_VALIDATION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "google/protobuf/message.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

// CheckChars is CheckText counting characters (UTF-8 code points) instead of bytes.
void CheckChars(FieldViolations& v, const std::string& field, absl::string_view text, size_t min,
                size_t max);

// ParseId reads the tracking code in `field` into its canonical form; INVALID_ARGUMENT naming
// the field otherwise.
absl::StatusOr<std::string> ParseId(absl::string_view field, absl::string_view id);

// ValidateFiling checks every field of a filing at `now`: the idempotency key, the kind and
// channel, the target, the texts, location, attachments, the complainant's contact details,
// and that the service was received within `filing_window_days`. INVALID_ARGUMENT with one
// violation per bad field.
absl::Status ValidateFiling(const v1::FileComplaintRequest& req, absl::Time now,
                            int filing_window_days);

// DeterministicBytes is `m` serialized deterministically, so that equal requests give equal
// bytes (the filing's idempotency fingerprint, the query a page token is bound to).
std::string DeterministicBytes(const google::protobuf::Message& m);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_VALIDATION_H_
