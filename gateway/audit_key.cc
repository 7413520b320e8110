// AuditKeyring: the audit key file (format in the header) and HMAC-SHA256.
#include "gateway/audit_key.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/secret_file.h"

namespace simpul::gateway {

absl::StatusOr<AuditKeyring> AuditKeyring::Parse(std::string_view text, std::string_view source) {
  absl::StatusOr<KeyFile> file = ParseKeyFile(text, source, /*allow_active_mark=*/true);
  if (!file.ok()) return file.status();
  std::string active =
      file->marked_active_id.empty() ? file->first_id : std::move(file->marked_active_id);
  return AuditKeyring(std::move(file->keys), std::move(active));
}

absl::StatusOr<AuditKeyring> AuditKeyring::FromFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, "the audit key file");
  if (!text.ok()) return text.status();
  return Parse(*text, path);
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
