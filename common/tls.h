// Mutual TLS between Simpul's own components: the gateway and the services, and the services
// that call each other. Configured with the common keys internal_tls_cert_file,
// internal_tls_key_file and internal_tls_ca_file (all three or none; deploy/pki makes them)
// and, optionally, internal_tls_allowed_peers. With them a service's gRPC port serves TLS only
// and requires a client certificate signed by the CA, and every channel to another component
// presents the process's certificate and accepts only a server certificate of the CA that
// carries the expected component's name (e.g. "simpul-registry"), so that the certificate of
// one component cannot stand in for another. Without them everything is plaintext.
#ifndef SIMPUL_COMMON_TLS_H_
#define SIMPUL_COMMON_TLS_H_

#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "grpcpp/grpcpp.h"

namespace simpul {

// The names in the certificates of Simpul's components (deploy/pki makes one per name): what a
// client checks the server's certificate against.
inline constexpr char kRegistryTlsName[] = "simpul-registry";
inline constexpr char kComplaintsTlsName[] = "simpul-complaints";
inline constexpr char kMonitoringTlsName[] = "simpul-monitoring";
inline constexpr char kGatewayTlsName[] = "simpul-gateway";

// InternalTls holds the process's certificate, key and CA (PEM, read at start).
class InternalTls {
 public:
  struct Files {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    // Names (subjectAltName DNS entries) of the client certificates the gRPC port accepts;
    // empty: any certificate signed by the CA.
    std::set<std::string> allowed_peers;
  };

  // Load reads the three files; an unreadable, empty or non-PEM file is an error naming its
  // key (internal_tls_cert_file, ...) and path.
  static absl::StatusOr<std::unique_ptr<InternalTls>> Load(Files files);
  // FromConfig reads the internal_tls_* keys: null when none is set (plaintext), an error
  // naming the missing key when only some of the three files are set.
  static absl::StatusOr<std::unique_ptr<InternalTls>> FromConfig(const Config& config);

  // ServerCredentials serves TLS only and requires a client certificate verified against the
  // CA (and, with allowed_peers, carrying one of those names; others get PERMISSION_DENIED).
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  // ChannelCredentials presents the process's certificate and trusts only the CA.
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;

  const Files& files() const { return files_; }

 private:
  InternalTls() = default;
  Files files_;
  std::string cert_pem_;
  std::string key_pem_;
  std::string ca_pem_;
};

// InternalChannelCredentials returns the credentials of a channel to the component named
// `server_name` (kRegistryTlsName, ...): plaintext when `tls` is null; else TLS with the
// process's certificate, and `args` set so that the server's certificate must name
// `server_name` (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG) whatever address is dialled.
std::shared_ptr<grpc::ChannelCredentials> InternalChannelCredentials(const InternalTls* tls,
                                                                     const std::string& server_name,
                                                                     grpc::ChannelArguments* args);

}  // namespace simpul

#endif  // SIMPUL_COMMON_TLS_H_
