// Optional mutual TLS for agency systems: the gateway's gRPC port serves TLS with its own
// certificate, asks callers for a client certificate and verifies it against a CA; a verified
// certificate listed in the --client_certificates file (by SHA-256 fingerprint) acts as the
// principal it maps to, like an API key. Certificates are identified by fingerprint rather
// than by name, so that re-issuing a certificate with the same subject needs an explicit entry.
#ifndef SIMPUL_GATEWAY_CLIENT_CERTS_H_
#define SIMPUL_GATEWAY_CLIENT_CERTS_H_

#include <grpcpp/security/server_credentials.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::gateway {

// CertificateFingerprint is the lowercase hex SHA-256 of the DER encoding of the first
// certificate in `pem`; INVALID_ARGUMENT when `pem` holds none.
absl::StatusOr<std::string> CertificateFingerprint(std::string_view pem);

class ClientCertificates {
 public:
  // FromJson parses a simpul.gateway.v1.ClientCertificateFile; every bad entry is named
  // (certificates[i].sha256, .principal.role, .principal.agency_id, .principal.channel).
  static absl::StatusOr<ClientCertificates> FromJson(std::string_view json);
  static absl::StatusOr<ClientCertificates> FromFile(const std::string& path);

  // Lookup returns the principal of a verified client certificate (PEM, as gRPC's auth
  // context holds it), with subject "cert:<label or fingerprint>"; UNAUTHENTICATED naming the
  // fingerprint when it is not listed.
  absl::StatusOr<common::v1::Principal> Lookup(std::string_view pem) const;

 private:
  std::map<std::string, common::v1::Principal, std::less<>> by_fingerprint_;
};

// TlsServerCredentials reads the server's certificate chain and key (PEM files) and, when
// `client_ca_file` is not empty, asks every caller for a client certificate and verifies any
// it presents against that CA (callers without one stay possible: they use API keys or are
// public). Errors name the file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_CLIENT_CERTS_H_
