// The message catalogue (issue #16): every text Simpul shows to public channels — error
// messages, field violations, status notes — in Bahasa Indonesia and English, from one table
// (common/messages.cc).
//
// Services write their messages in English, as the catalogue's English templates say them.
// The edge that knows the caller's language (the gateway: REST, Open311 and the gRPC proxy)
// localizes a status or a text on its way out: Localize finds the catalogue template the
// English text was made from and renders the same arguments into the Indonesian template. A
// text the catalogue does not know stays as it is (English); the catalogue tests drive every
// public validation path so that such a text is a failing test, not a silent gap.
//
// Templates name their arguments {0}, {1}, ...; a translation may use them in another order.
#ifndef SIMPUL_COMMON_MESSAGES_H_
#define SIMPUL_COMMON_MESSAGES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace simpul {

enum class Lang { kIndonesian, kEnglish };

// LangTag is the BCP 47 tag of `lang` ("id" or "en"), for Content-Language.
std::string_view LangTag(Lang lang);

// ParseLangParam reads an explicit choice (the `lang` query parameter): "id" or "en", any
// case, a region subtag allowed ("en-US"). INVALID_ARGUMENT names the parameter otherwise.
absl::StatusOr<Lang> ParseLangParam(std::string_view value);

// PreferredLang reads an Accept-Language header (RFC 9110 §12.5.4): the supported language
// with the highest q-value ("id"/"in" or "en", any region; "*" means the fallback); nullopt
// when the header is empty or names neither.
std::optional<Lang> PreferredLang(std::string_view accept_language);

// Message is one entry of the catalogue: a stable key and its two templates.
struct Message {
  std::string_view key;
  std::string_view en;
  std::string_view id;
};

// Catalogue is every entry (for tests and tools).
const std::vector<Message>& Catalogue();

// Text renders the entry `key` in `lang` with `args` ({0} is args[0], ...). An unknown key is
// a programming error: the key itself is returned so that it shows in tests.
std::string Text(std::string_view key, Lang lang, const std::vector<std::string>& args = {});

// Translate finds the catalogue template `english` was rendered from (the one with the most
// fixed text when several fit) and renders its arguments in `lang`; nullopt when no template
// fits.
std::optional<std::string> Translate(std::string_view english, Lang lang);

// Localize is Translate, or `english` unchanged when no template fits.
std::string Localize(std::string_view english, Lang lang);

// StatusNote says what a case's state means to the complainant, in `lang`: `state` and
// `archive_reason` are the enum value names without their prefix ("IN_PROGRESS",
// "OUT_OF_SCOPE"); "" for a state the catalogue has no note for.
std::string StatusNote(std::string_view state, std::string_view archive_reason, Lang lang);

// LocalizeStatus renders a status for a caller who reads `lang`: the message and every field
// violation's description (the field names stay: they are the API's). The code and the
// payloads other than the field violations are kept. English returns `status` as it is.
absl::Status LocalizeStatus(const absl::Status& status, Lang lang);

}  // namespace simpul

#endif  // SIMPUL_COMMON_MESSAGES_H_
