// AuditKeyring: the audit key file (format in the header) and HMAC-SHA256.
#include "gateway/audit_key.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"

namespace simpul::gateway {
namespace {

bool ValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > AuditKeyring::kMaxKeyIdBytes) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<AuditKeyring> AuditKeyring::Parse(std::string_view text, std::string_view source) {
  std::map<std::string, std::string> keys;
  std::string first_id, active_id;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(AbslView(text), '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(source), " line ", line_number, ": ", AbslView(why)));
    };
    if (fields.size() < 2 || fields.size() > 3 || (fields.size() == 3 && fields[2] != "active")) {
      return bad("expected \"<key id> <64 hex digits>\" or \"<key id> <64 hex digits> active\"");
    }
    const std::string id(fields[0]);
    if (!ValidKeyId(id)) {
      return bad(
          absl::StrCat("key id must be 1..", kMaxKeyIdBytes, " characters of A-Z a-z 0-9 . _ -"));
    }
    if (fields[1].size() != 2 * kKeyBytes) {
      return bad(absl::StrCat("key \"", id, "\" must be ", 2 * kKeyBytes, " hex digits; got ",
                              fields[1].size(), " characters"));
    }
    for (char c : fields[1]) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
        return bad(absl::StrCat("key \"", id, "\" holds a character that is not a hex digit"));
      }
    }
    if (keys.count(id) > 0) return bad(absl::StrCat("key id \"", id, "\" appears twice"));
    if (fields.size() == 3) {
      if (!active_id.empty()) {
        return bad(absl::StrCat("key \"", id, "\" is marked active but \"", active_id,
                                "\" already is (mark one key only)"));
      }
      active_id = id;
    }
    if (first_id.empty()) first_id = id;
    keys[id] = absl::HexStringToBytes(fields[1]);
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(source), ": no key (expected \"<key id> <64 hex digits>\")"));
  }
  return AuditKeyring(std::move(keys), active_id.empty() ? first_id : active_id);
}

absl::StatusOr<AuditKeyring> AuditKeyring::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  struct stat st;
  if (!in || stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read audit key file ", path));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "audit key file ", path, " is accessible to group or others (mode ", (st.st_mode >> 6) & 7,
        (st.st_mode >> 3) & 7, st.st_mode & 7, "); run chmod 600 ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

absl::StatusOr<std::string> AuditKeyring::Mac(std::string_view key_id,
                                              std::string_view bytes) const {
  const auto key = keys_.find(std::string(key_id));
  if (key == keys_.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit key \"", absl::CEscape(AbslView(key_id)), "\" is not in the audit key file"));
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key->second.data(), static_cast<int>(key->second.size()),
           reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), mac,
           &size) == nullptr) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac), size);
}

}  // namespace simpul::gateway
