#include "services/complaints/tracking.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"

namespace simpul::complaints {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford base32

// RandomSymbols returns `n` base32 symbols from the cryptographic generator.
std::string RandomSymbols(int n) {
  std::string out;
  unsigned char bytes[32];
  while (static_cast<int>(out.size()) < n) {
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
      // Without entropy no code is safe to hand out; this never happens on a working system.
      std::abort();
    }
    for (unsigned char b : bytes) {
      if (static_cast<int>(out.size()) == n) break;
      out.push_back(kAlphabet[b & 31]);  // 256 is a multiple of 32: no modulo bias
    }
  }
  return out;
}

// Symbol maps a typed character to its Crockford value, or -1.
int Symbol(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c == 'I' || c == 'L') c = '1';
  if (c == 'O') c = '0';
  for (int i = 0; i < 32; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

// SecretOf writes 80 bits (the first 10 bytes of `bits`) as a canonical secret.
std::string SecretOf(const unsigned char* bits) {
  std::string s;
  uint64_t acc = 0;
  int have = 0;
  int used = 0;
  while (s.size() < 16) {
    if (have < 5) {  // only the low `have` bits of `acc` are still to be written
      acc = (acc << 8) | bits[used++];
      have += 8;
      continue;
    }
    s.push_back(kAlphabet[(acc >> (have - 5)) & 31]);
    have -= 5;
  }
  return s.substr(0, 4) + "-" + s.substr(4, 4) + "-" + s.substr(8, 4) + "-" + s.substr(12);
}

std::optional<std::string> Normalize(std::string_view input, size_t length, size_t group) {
  std::string symbols;
  for (char c : input) {
    if (c == '-' || c == ' ') continue;
    int s = Symbol(c);
    if (s < 0 || symbols.size() == length) return std::nullopt;
    symbols.push_back(kAlphabet[s]);
  }
  if (symbols.size() != length) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    if (i > 0 && i % group == 0) out.push_back('-');
    out.push_back(symbols[i]);
  }
  return out;
}

}  // namespace

std::string NewTrackingCode() {
  std::string s = RandomSymbols(10);
  return s.substr(0, 5) + "-" + s.substr(5);
}

std::string NewSecret() {
  std::string s = RandomSymbols(16);
  return s.substr(0, 4) + "-" + s.substr(4, 4) + "-" + s.substr(8, 4) + "-" + s.substr(12);
}

std::optional<std::string> NormalizeTrackingCode(std::string_view input) {
  return Normalize(input, 10, 5);
}

std::optional<std::string> NormalizeSecret(std::string_view input) {
  return Normalize(input, 16, 4);
}

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string SecretHash(std::string_view canonical_secret) { return Sha256(canonical_secret); }

bool SecretMatches(std::string_view input, std::string_view stored_hash) {
  std::optional<std::string> secret = NormalizeSecret(input);
  std::string hash = SecretHash(secret.value_or(""));
  return secret.has_value() && stored_hash.size() == hash.size() &&
         CRYPTO_memcmp(hash.data(), stored_hash.data(), hash.size()) == 0;
}

absl::StatusOr<SecretMinter> SecretMinter::Create(std::string key) {
  if (key.size() < kMinKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the secret key must be at least ", kMinKeyBytes, " bytes; got ", key.size()));
  }
  return SecretMinter(std::move(key));
}

absl::StatusOr<SecretMinter> SecretMinter::FromKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read secret key file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<SecretMinter> minter =
      Create(std::string(absl::StripTrailingAsciiWhitespace(ss.str())));
  if (!minter.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", minter.status().message()));
  }
  return minter;
}

SecretMinter SecretMinter::Ephemeral() {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof(key)) != 1) std::abort();
  return SecretMinter(std::string(reinterpret_cast<const char*>(key), sizeof(key)));
}

std::string SecretMinter::Secret(std::string_view scope, std::string_view idempotency_key,
                                 std::string_view tracking_code) const {
  // Length-prefixed fields, so no two (scope, key, code) triples share an input.
  const std::string input = absl::StrCat(
      "simpul-complaint-secret/1\n", scope.size(), ":", AbslView(scope), idempotency_key.size(),
      ":", AbslView(idempotency_key), tracking_code.size(), ":", AbslView(tracking_code));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return SecretOf(mac);
}

}  // namespace simpul::complaints
