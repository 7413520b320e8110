// Debian's Abseil 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0: absl::string_view
// is a class of its own that does not convert from std::string_view, so StrCat, Status, Cord,
// SimpleAtoi and friends reject a std::string_view argument. AbslView and StdView convert
// between the two without copying.
#ifndef SIMPUL_COMMON_ABSL_COMPAT_H_
#define SIMPUL_COMMON_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace simpul {

// AbslView views the characters of `s` as an absl::string_view.
inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }
// StdView views the characters of `s` as a std::string_view.
inline std::string_view StdView(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace simpul

#endif  // SIMPUL_COMMON_ABSL_COMPAT_H_
