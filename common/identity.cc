#include "common/identity.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "google/protobuf/util/time_util.h"

namespace simpul {

bool Identity::IsAgencyMember(std::string_view agency_id) const {
  return (principal.role() == common::v1::ROLE_AGENCY_ADMIN ||
          principal.role() == common::v1::ROLE_AGENCY_OPERATOR) &&
         !agency_id.empty() && principal.agency_id() == agency_id;
}

bool Identity::IsAgencyAdmin(std::string_view agency_id) const {
  return principal.role() == common::v1::ROLE_AGENCY_ADMIN && !agency_id.empty() &&
         principal.agency_id() == agency_id;
}

std::string Identity::subject() const { return is_public() ? "public" : principal.subject(); }

absl::StatusOr<IdentitySigner> IdentitySigner::Create(std::string key) {
  if (key.size() < 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("identity key must be at least 32 bytes, got ", key.size()));
  }
  return IdentitySigner(std::move(key));
}

absl::StatusOr<IdentitySigner> IdentitySigner::FromKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read identity key file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string key(absl::StripTrailingAsciiWhitespace(ss.str()));
  auto signer = Create(std::move(key));
  if (!signer.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", signer.status().message()));
  }
  return signer;
}

std::string IdentitySigner::Mac(std::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string IdentitySigner::Sign(const common::v1::Principal& principal) const {
  std::string body = principal.SerializeAsString();
  return absl::StrCat(absl::WebSafeBase64Escape(body), ".", absl::WebSafeBase64Escape(Mac(body)));
}

absl::StatusOr<common::v1::Principal> IdentitySigner::Verify(std::string_view token,
                                                             absl::Time now) const {
  size_t dot = token.find('.');
  std::string body, mac;
  if (dot == std::string_view::npos ||
      !absl::WebSafeBase64Unescape(AbslView(token.substr(0, dot)), &body) ||
      !absl::WebSafeBase64Unescape(AbslView(token.substr(dot + 1)), &mac)) {
    return absl::UnauthenticatedError("malformed identity token");
  }
  std::string expected = Mac(body);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    return absl::UnauthenticatedError("identity token signature does not verify");
  }
  common::v1::Principal principal;
  if (!principal.ParseFromString(body)) {
    return absl::UnauthenticatedError("identity token body does not parse");
  }
  if (principal.has_expire_time()) {
    absl::Time expire = absl::FromUnixSeconds(principal.expire_time().seconds());
    if (expire <= now) return absl::UnauthenticatedError("identity token has expired");
  }
  return principal;
}

}  // namespace simpul
