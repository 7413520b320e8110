#include "services/complaints/tracking.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstdlib>

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

}  // namespace simpul::complaints
