// Client certificates: fingerprints, the mapping file and the TLS credentials.
#include "gateway/client_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/absl_compat.h"
#include "common/channel_scope.h"
#include "common/field_rules.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "simpul/gateway/v1/gateway.pb.h"

namespace simpul::gateway {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", AbslView(what), " \"", path, "\""));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::string> CertificateFingerprint(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) return absl::InvalidArgumentError("no PEM certificate");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &length) != 1) {
    return absl::InternalError("X509_digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

absl::StatusOr<ClientCertificates> ClientCertificates::FromJson(std::string_view json) {
  v1::ClientCertificateFile file;
  google::protobuf::util::JsonParseOptions options;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &file, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid ClientCertificateFile JSON: ", parsed.message().as_string()));
  }
  FieldViolations v;
  ClientCertificates out;
  for (int i = 0; i < file.certificates_size(); ++i) {
    const v1::ClientCertificate& c = file.certificates(i);
    const std::string at = absl::StrCat("certificates[", i, "]");
    std::string fp = absl::AsciiStrToLower(absl::StrReplaceAll(c.sha256(), {{":", ""}}));
    if (fp.size() != 64 || !std::all_of(fp.begin(), fp.end(), [](char ch) {
          return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
        })) {
      v.Add(at + ".sha256", "expected the SHA-256 fingerprint: 64 hex characters");
    }
    const common::v1::Principal& p = c.principal();
    const bool agency_role =
        p.role() == common::v1::ROLE_AGENCY_ADMIN || p.role() == common::v1::ROLE_AGENCY_OPERATOR;
    if (p.role() == common::v1::ROLE_UNSPECIFIED || !common::v1::Role_IsValid(p.role())) {
      v.Add(at + ".principal.role", "name the role the certificate acts as");
    }
    if (agency_role && !IsValidSlug(p.agency_id())) {
      v.Add(at + ".principal.agency_id", "an agency role needs the agency's id");
    }
    if (p.role() == common::v1::ROLE_CHANNEL && p.channel().empty()) {
      v.Add(at + ".principal.channel", "a channel role needs the channel's name");
    }
    if (common::v1::Role_IsValid(p.role())) CheckChannelScope(p, at + ".principal", v);
    if (out.by_fingerprint_.count(fp) > 0) v.Add(at + ".sha256", "listed twice");
    common::v1::Principal principal = p;
    principal.clear_expire_time();
    principal.set_subject(absl::StrCat("cert:", c.label().empty() ? fp.substr(0, 16) : c.label()));
    out.by_fingerprint_[fp] = std::move(principal);
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ClientCertificateFile"));
  return out;
}

absl::StatusOr<ClientCertificates> ClientCertificates::FromFile(const std::string& path) {
  SIMPUL_ASSIGN_OR_RETURN(std::string text, ReadFile(path, "client certificate file"));
  absl::StatusOr<ClientCertificates> parsed = FromJson(text);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat(path, ": ", parsed.status().message()));
  }
  return parsed;
}

absl::StatusOr<common::v1::Principal> ClientCertificates::Lookup(std::string_view pem) const {
  absl::StatusOr<std::string> fp = CertificateFingerprint(pem);
  if (!fp.ok()) return absl::UnauthenticatedError("the client certificate cannot be read");
  auto it = by_fingerprint_.find(*fp);
  if (it == by_fingerprint_.end()) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate ", *fp, " is not registered with the gateway"));
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  grpc::SslServerCredentialsOptions options(client_ca_file.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  SIMPUL_ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(cert_file, "tls_cert_file"));
  SIMPUL_ASSIGN_OR_RETURN(pair.private_key, ReadFile(key_file, "tls_key_file"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!client_ca_file.empty()) {
    SIMPUL_ASSIGN_OR_RETURN(options.pem_root_certs, ReadFile(client_ca_file, "tls_client_ca_file"));
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace simpul::gateway
