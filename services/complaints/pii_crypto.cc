#include "services/complaints/pii_crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/secret_file.h"

namespace simpul::complaints {
namespace {

bool ValidKeyId(std::string_view id) { return IsValidKeyId(id); }

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Parsed is a sealed value split into its parts (views into the value).
struct Parsed {
  std::string_view key_id;
  std::string_view header;  // version byte, id length and id: authenticated too
  std::string_view nonce;
  std::string_view ciphertext;
  std::string_view tag;
};

absl::StatusOr<Parsed> Parse(std::string_view sealed) {
  if (sealed.size() < 2 || static_cast<unsigned char>(sealed[0]) != PiiKeyring::kFormatVersion) {
    return absl::InvalidArgumentError("not a sealed value (unknown format version)");
  }
  const size_t n = static_cast<unsigned char>(sealed[1]);
  if (n == 0 || n > PiiKeyring::kMaxKeyIdBytes ||
      sealed.size() < 2 + n + PiiKeyring::kNonceBytes + PiiKeyring::kTagBytes) {
    return absl::InvalidArgumentError("not a sealed value (truncated)");
  }
  Parsed p;
  p.key_id = sealed.substr(2, n);
  if (!ValidKeyId(p.key_id)) return absl::InvalidArgumentError("not a sealed value (bad key id)");
  p.header = sealed.substr(0, 2 + n);
  p.nonce = sealed.substr(2 + n, PiiKeyring::kNonceBytes);
  const size_t body = 2 + n + PiiKeyring::kNonceBytes;
  p.ciphertext = sealed.substr(body, sealed.size() - body - PiiKeyring::kTagBytes);
  p.tag = sealed.substr(sealed.size() - PiiKeyring::kTagBytes);
  return p;
}

// Aad is what GCM authenticates besides the ciphertext: the header (so the key id cannot be
// swapped) and the caller's aad, length-prefixed so no two pairs share an input.
std::string Aad(std::string_view header, std::string_view aad) {
  return absl::StrCat(header.size(), ":", AbslView(header), aad.size(), ":", AbslView(aad));
}

}  // namespace

absl::StatusOr<PiiKeyring> PiiKeyring::Create(std::map<std::string, std::string> keys,
                                              std::string active_id) {
  if (keys.empty()) return absl::InvalidArgumentError("the PII key ring holds no key");
  for (const auto& [id, key] : keys) {
    if (!ValidKeyId(id)) {
      return absl::InvalidArgumentError(absl::StrCat("PII key id \"", absl::CEscape(id),
                                                     "\" must be 1..", kMaxKeyIdBytes,
                                                     " characters of A-Z a-z 0-9 . _ -"));
    }
    if (key.size() != kKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("PII key \"", id, "\" must be ", kKeyBytes, " bytes; got ", key.size()));
    }
  }
  if (active_id.empty()) {
    if (keys.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("the PII key ring holds ", keys.size(),
                       " keys: name the active one (pii_active_key_id)"));
    }
    active_id = keys.begin()->first;
  }
  if (keys.count(active_id) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the active PII key \"", absl::CEscape(active_id), "\" is not in the key ring"));
  }
  return PiiKeyring(std::move(keys), std::move(active_id));
}

absl::StatusOr<std::map<std::string, std::string>> PiiKeyring::ParseKeyFile(
    std::string_view text, std::string_view source) {
  absl::StatusOr<KeyFile> file = simpul::ParseKeyFile(text, source, /*allow_active_mark=*/false);
  if (!file.ok()) return file.status();
  return std::move(file->keys);
}

absl::StatusOr<PiiKeyring> PiiKeyring::FromFile(const std::string& path, std::string active_id) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, "the PII key file");
  if (!text.ok()) return text.status();
  absl::StatusOr<std::map<std::string, std::string>> keys = ParseKeyFile(*text, path);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<PiiKeyring> ring = Create(*std::move(keys), std::move(active_id));
  if (!ring.ok()) {
    return absl::Status(ring.status().code(), absl::StrCat(path, ": ", ring.status().message()));
  }
  return ring;
}

std::string PiiKeyring::Seal(std::string_view plaintext, std::string_view aad) const {
  const std::string& key = keys_.at(active_id_);
  std::string out;
  out.reserve(2 + active_id_.size() + kNonceBytes + plaintext.size() + kTagBytes);
  out.push_back(static_cast<char>(kFormatVersion));
  out.push_back(static_cast<char>(active_id_.size()));
  out.append(active_id_);
  const std::string header = out;
  unsigned char nonce[kNonceBytes];
  // Without entropy no nonce is safe; this never happens on a working system.
  if (RAND_bytes(nonce, sizeof(nonce)) != 1) std::abort();
  out.append(reinterpret_cast<const char*>(nonce), sizeof(nonce));
  const std::string full_aad = Aad(header, aad);

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string ciphertext(plaintext.size(), '\0');
  int len = 0, total = 0;
  unsigned char tag[kTagBytes];
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(full_aad),
                        static_cast<int>(full_aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()), &len,
                        Bytes(plaintext), static_cast<int>(plaintext.size())) != 1) {
    std::abort();  // only on memory exhaustion or a broken OpenSSL
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()) + total,
                          &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) != 1) {
    std::abort();
  }
  total += len;
  ciphertext.resize(static_cast<size_t>(total));
  out.append(ciphertext);
  out.append(reinterpret_cast<const char*>(tag), sizeof(tag));
  return out;
}

absl::StatusOr<std::string> PiiKeyring::Open(std::string_view sealed, std::string_view aad) const {
  absl::StatusOr<Parsed> parsed = Parse(sealed);
  if (!parsed.ok()) return parsed.status();
  const auto key = keys_.find(std::string(parsed->key_id));
  if (key == keys_.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sealed with PII key \"", AbslView(parsed->key_id), "\", which is not in the key ring"));
  }
  const std::string full_aad = Aad(parsed->header, aad);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string plaintext(parsed->ciphertext.size(), '\0');
  std::string tag(parsed->tag);
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key->second), Bytes(parsed->nonce)) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(full_aad),
                        static_cast<int>(full_aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &len,
                        Bytes(parsed->ciphertext),
                        static_cast<int>(parsed->ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return absl::InternalError("AES-256-GCM could not be set up");
  }
  int total = len;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + total,
                          &len) != 1) {
    return absl::DataLossError(absl::StrCat("sealed value under PII key \"",
                                            AbslView(parsed->key_id),
                                            "\" fails authentication (altered, or sealed for "
                                            "another record or with another key)"));
  }
  total += len;
  plaintext.resize(static_cast<size_t>(total));
  return plaintext;
}

absl::StatusOr<std::string> PiiKeyring::KeyIdOf(std::string_view sealed) {
  absl::StatusOr<Parsed> parsed = Parse(sealed);
  if (!parsed.ok()) return parsed.status();
  return std::string(parsed->key_id);
}

bool PiiKeyring::LooksSealed(std::string_view value) { return Parse(value).ok(); }

}  // namespace simpul::complaints
