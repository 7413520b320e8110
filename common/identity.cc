#include "common/identity.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"

namespace simpul {
namespace {

constexpr std::string_view kTokenVersion = "v2";
constexpr size_t kEd25519SignatureSize = 64;
constexpr size_t kMaxTokenSize = 8192;

std::string OpenSslError() {
  unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

std::shared_ptr<EVP_PKEY> Wrap(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> ParsePem(std::string_view pem, bool private_key) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* key = private_key ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                              : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        private_key ? "not a PEM private key (make one with: openssl genpkey -algorithm ed25519)"
                    : "not a PEM public key (make one with: openssl pkey -pubout)");
  }
  auto owned = Wrap(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(key);
    return absl::InvalidArgumentError(absl::StrCat("a ", type == nullptr ? "non-Ed25519" : type,
                                                   " key; identity keys are Ed25519"));
  }
  return owned;
}

absl::StatusOr<std::string> KeyIdOf(EVP_PKEY* key) {
  unsigned char raw[32];
  size_t len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof(raw)) {
    return absl::InternalError("cannot read the raw Ed25519 public key: " + OpenSslError());
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(raw, len, digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));  // 16 hex digits
}

std::string SignedBytes(std::string_view key_id, std::string_view body_b64) {
  return absl::StrCat(AbslView(kIdentityTokenDomain), absl::string_view("\0", 1), AbslView(key_id),
                      ".", AbslView(body_b64));
}

bool ValidScope(std::string_view scope) {
  if (scope == IdentitySigner::kAnyPerson) return true;
  return absl::StartsWith(AbslView(scope), "service:") && scope.size() > 8 &&
         scope.find_first_of(" \t") == std::string_view::npos;
}

absl::Status Refused(std::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("identity token refused: ", AbslView(why)));
}

}  // namespace

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

std::string ServiceAudience(std::string_view name) {
  std::string_view service = name;
  if (absl::StartsWith(AbslView(service), "/")) {
    service.remove_prefix(1);
    service = service.substr(0, service.find('/'));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(service), '.');
  if (parts.size() == 4 && parts[0] == "simpul" && !parts[1].empty()) {
    return absl::StrCat("simpul-", parts[1]);
  }
  return std::string(name);
}

std::string ServiceSubject(std::string_view service_name) {
  return absl::StrCat("service:", AbslView(service_name));
}

IdentitySigner::IdentitySigner(Options options)
    : options_(std::move(options)), verified_(std::make_shared<VerifiedTokens>()) {}

absl::StatusOr<std::string> IdentitySigner::GeneratePrivateKeyPem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) return absl::InternalError("Ed25519 key generation: " + OpenSslError());
  auto owned = Wrap(key);
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return absl::InternalError("cannot write the private key PEM: " + OpenSslError());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

absl::StatusOr<std::string> IdentitySigner::PublicKeyPemOf(std::string_view private_key_pem) {
  absl::StatusOr<std::shared_ptr<EVP_PKEY>> key = ParsePem(private_key_pem, true);
  if (!key.ok()) return key.status();
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio, key->get()) != 1) {
    BIO_free(bio);
    return absl::InternalError("cannot write the public key PEM: " + OpenSslError());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

absl::StatusOr<std::string> IdentitySigner::KeyIdOfPublicKeyPem(std::string_view public_key_pem) {
  absl::StatusOr<std::shared_ptr<EVP_PKEY>> key = ParsePem(public_key_pem, false);
  if (!key.ok()) return key.status();
  return KeyIdOf(key->get());
}

absl::Status IdentitySigner::SetPrivateKeyPem(std::string_view pem) {
  absl::StatusOr<std::shared_ptr<EVP_PKEY>> key = ParsePem(pem, true);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> id = KeyIdOf(key->get());
  if (!id.ok()) return id.status();
  private_key_ = *std::move(key);
  key_id_ = *std::move(id);
  return absl::OkStatus();
}

absl::Status IdentitySigner::LoadPrivateKeyFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  absl::Status set = SetPrivateKeyPem(*pem);
  if (!set.ok()) return absl::Status(set.code(), absl::StrCat(path, ": ", set.message()));
  return absl::OkStatus();
}

absl::Status IdentitySigner::TrustPem(std::string_view public_key_pem, std::string_view scope) {
  if (!ValidScope(scope)) {
    return absl::InvalidArgumentError(absl::StrCat("scope \"", AbslView(scope), "\": expected \"",
                                                   AbslView(kAnyPerson),
                                                   "\" or \"service:<name>\""));
  }
  absl::StatusOr<std::shared_ptr<EVP_PKEY>> key = ParsePem(public_key_pem, false);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> id = KeyIdOf(key->get());
  if (!id.ok()) return id.status();
  verified_ = std::make_shared<VerifiedTokens>();  // what copies verified is not ours
  Trusted& trusted = trusted_[*id];
  if (trusted.key == nullptr) trusted.key = *std::move(key);
  trusted.scopes.emplace_back(scope);
  return absl::OkStatus();
}

absl::Status IdentitySigner::LoadTrustedKeysFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  const std::string dir =
      path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  int line_no = 0;
  int keys = 0;
  for (absl::string_view line : absl::StrSplit(AbslView(*text), '\n')) {
    ++line_no;
    line = line.substr(0, line.find('#'));
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    auto where = [&] { return absl::StrCat(path, ":", line_no, ": "); };
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), "expected \"<scope> <public key PEM file>\", got ", fields.size(), " fields"));
    }
    std::string key_path(fields[1]);
    if (key_path[0] != '/') key_path = absl::StrCat(dir, "/", key_path);
    absl::StatusOr<std::string> pem = ReadFile(key_path);
    if (!pem.ok()) return absl::NotFoundError(absl::StrCat(where(), pem.status().message()));
    absl::Status trusted = TrustPem(*pem, StdView(fields[0]));
    if (!trusted.ok()) {
      return absl::Status(trusted.code(), absl::StrCat(where(), key_path, ": ", trusted.message()));
    }
    ++keys;
  }
  if (keys == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": lists no key"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> IdentitySigner::Sign(common::v1::Principal principal,
                                                 std::string_view audience,
                                                 absl::Time expire) const {
  if (private_key_ == nullptr) {
    return absl::FailedPreconditionError("no identity private key: this process cannot sign");
  }
  if (audience.empty()) return absl::InvalidArgumentError("a token needs an audience");
  principal.set_audience(std::string(audience));
  principal.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(expire));
  principal.mutable_expire_time()->set_nanos(0);
  const std::string body = absl::WebSafeBase64Escape(principal.SerializeAsString());
  const std::string signed_bytes = SignedBytes(key_id_, body);
  unsigned char sig[kEd25519SignatureSize];
  size_t sig_len = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr &&
            EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, private_key_.get()) == 1 &&
            EVP_DigestSign(ctx, sig, &sig_len,
                           reinterpret_cast<const unsigned char*>(signed_bytes.data()),
                           signed_bytes.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::InternalError("Ed25519 signing failed: " + OpenSslError());
  return absl::StrCat(
      AbslView(kTokenVersion), ".", key_id_, ".", body, ".",
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(sig), sig_len)));
}

absl::StatusOr<common::v1::Principal> IdentitySigner::Verify(std::string_view token,
                                                             absl::Time now) const {
  constexpr size_t kMaxVerified = 10000;
  {
    absl::MutexLock lock(&verified_->mu);
    auto it = verified_->by_token.find(AbslView(token));
    if (it != verified_->by_token.end()) {
      if (absl::FromUnixSeconds(it->second.expire_time().seconds()) > now) return it->second;
      verified_->by_token.erase(it);
      return Refused("expired");
    }
  }
  absl::StatusOr<common::v1::Principal> principal = VerifyUncached(token, now);
  if (principal.ok()) {
    absl::MutexLock lock(&verified_->mu);
    if (verified_->by_token.size() >= kMaxVerified) verified_->by_token.clear();
    verified_->by_token.emplace(std::string(token), *principal);
  }
  return principal;
}

absl::StatusOr<common::v1::Principal> IdentitySigner::VerifyUncached(std::string_view token,
                                                                     absl::Time now) const {
  if (token.size() > kMaxTokenSize) return Refused("longer than 8 KiB");
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(token), '.');
  if (parts.size() != 4 || parts[0] != AbslView(kTokenVersion)) {
    return Refused("not a v2 token (v2.<key id>.<body>.<signature>; shared-key tokens are gone)");
  }
  auto trusted = trusted_.find(StdView(parts[1]));
  if (trusted == trusted_.end()) {
    return Refused(
        absl::StrCat("unknown key id \"", absl::CHexEscape(parts[1].substr(0, 32)), "\""));
  }
  std::string sig, body;
  if (!absl::WebSafeBase64Unescape(parts[3], &sig) || sig.size() != kEd25519SignatureSize ||
      !absl::WebSafeBase64Unescape(parts[2], &body)) {
    return Refused("malformed");
  }
  const std::string signed_bytes = SignedBytes(StdView(parts[1]), StdView(parts[2]));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, trusted->second.key.get()) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signed_bytes.data()),
                             signed_bytes.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    ERR_clear_error();
    return Refused("signature does not verify");
  }
  common::v1::Principal principal;
  if (!principal.ParseFromString(body)) return Refused("body does not parse");
  if (principal.audience().empty()) return Refused("no audience");
  if (principal.audience() != options_.audience) {
    return Refused(absl::StrCat("for audience \"", absl::CHexEscape(principal.audience()),
                                "\", this is ", options_.audience));
  }
  if (!principal.has_expire_time() || principal.expire_time().seconds() <= 0) {
    return Refused("no expiry");
  }
  const absl::Time expire = absl::FromUnixSeconds(principal.expire_time().seconds());
  if (expire <= now) return Refused("expired");
  if (expire > now + options_.max_ttl + options_.max_clock_skew) {
    return Refused(absl::StrCat("expires more than ", absl::FormatDuration(options_.max_ttl),
                                " ahead (identity_max_ttl)"));
  }
  const bool service = principal.role() == common::v1::ROLE_SERVICE;
  if (principal.role() == common::v1::ROLE_UNSPECIFIED ||
      !common::v1::Role_IsValid(principal.role())) {
    return Refused("no valid role");
  }
  if (service && !options_.accept_service_role) {
    return Refused(
        absl::StrCat(options_.audience, " accepts no service-role (ROLE_SERVICE) tokens"));
  }
  const std::string needed = service ? principal.subject() : std::string(kAnyPerson);
  bool allowed = false;
  for (const std::string& scope : trusted->second.scopes) allowed |= scope == needed;
  if (!allowed) {
    return Refused(absl::StrCat("key ", parts[1], " is not trusted to sign ",
                                common::v1::Role_Name(principal.role()),
                                service ? absl::StrCat(" for ", principal.subject()) : ""));
  }
  return principal;
}

TokenCache::TokenCache(const IdentitySigner* signer, absl::Duration ttl, size_t max_entries)
    : signer_(signer), ttl_(ttl), max_entries_(max_entries) {}

absl::StatusOr<std::string> TokenCache::Token(const common::v1::Principal& principal,
                                              std::string_view audience, absl::Time now) {
  common::v1::Principal who = principal;
  who.clear_expire_time();
  who.clear_audience();
  std::string key =
      absl::StrCat(AbslView(audience), absl::string_view("\0", 1), who.SerializeAsString());
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && now < it->second.refresh_after) return it->second.token;
  }
  const absl::Time expire = absl::FromUnixSeconds(absl::ToUnixSeconds(now + ttl_));
  absl::StatusOr<std::string> token = signer_->Sign(std::move(who), audience, expire);
  if (!token.ok()) return token.status();
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_[key] = Entry{*token, expire - ttl_ / 5};
  return token;
}

}  // namespace simpul
