// Invariant checks shared by the fuzz targets (tests/fuzz/*_fuzz.cc). A failed check prints
// what was violated and aborts, so that libFuzzer (or the corpus replay of the normal test
// suite) reports the input as a crash.
#ifndef SIMPUL_TESTS_FUZZ_FUZZ_CHECK_H_
#define SIMPUL_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"

#define FUZZ_CHECK(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace simpul::fuzz {

// kMaxErrorMessageBytes bounds an error message that goes back to a caller: BoundedText's
// kMaxMessageBytes plus its "…(N bytes)" suffix.
inline constexpr size_t kMaxErrorMessageBytes = kMaxMessageBytes + 32;

// CheckCallerError: an error answered to a caller has a specific code (not OK, not UNKNOWN
// or INTERNAL) and a non-empty, bounded, valid UTF-8 message.
inline void CheckCallerError(const absl::Status& status) {
  FUZZ_CHECK(!status.ok());
  FUZZ_CHECK(status.code() != absl::StatusCode::kUnknown);
  FUZZ_CHECK(status.code() != absl::StatusCode::kInternal);
  FUZZ_CHECK(!status.message().empty());
  FUZZ_CHECK(status.message().size() <= kMaxErrorMessageBytes);
  FUZZ_CHECK(IsValidUtf8(StdView(status.message())));
}

// PercentEncodeAll encodes every byte of `s` as %XX, the encoding any URL decoder must accept.
inline std::string PercentEncodeAll(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out.push_back('%');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace simpul::fuzz

#endif  // SIMPUL_TESTS_FUZZ_FUZZ_CHECK_H_
