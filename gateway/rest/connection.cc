// The TLS context of the REST front and the client certificate of a connection
// (gateway/rest/connection.h).
#include "gateway/rest/connection.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace simpul::gateway::rest {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* key) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", key, " \"", path, "\""));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status Refused(const char* key, const std::string& path, const beast::error_code& ec) {
  return absl::InvalidArgumentError(
      absl::StrCat(key, " \"", path, "\" is not usable: ", ec.message()));
}

// Suites of TLS 1.2: ECDHE key exchange with an AEAD cipher only (TLS 1.3 keeps OpenSSL's).
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The session id context: sessions resumed with a verified client certificate must come from
// this front (OpenSSL refuses to resume them without one).
constexpr unsigned char kSessionContext[] = "simpul-gateway-rest";

}  // namespace

absl::StatusOr<std::unique_ptr<net::ssl::context>> TlsContext(const std::string& cert_file,
                                                              const std::string& key_file,
                                                              const std::string& client_ca_file) {
  auto context = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    return absl::InternalError("cannot set the TLS versions and suites of the REST front");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_SSLv2 |
                                  SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  beast::error_code ec;
  SIMPUL_ASSIGN_OR_RETURN(const std::string chain, ReadPem(cert_file, "tls_cert_file"));
  context->use_certificate_chain(net::buffer(chain), ec);
  if (ec) return Refused("tls_cert_file", cert_file, ec);
  SIMPUL_ASSIGN_OR_RETURN(const std::string key, ReadPem(key_file, "tls_key_file"));
  context->use_private_key(net::buffer(key), net::ssl::context::pem, ec);
  if (ec) return Refused("tls_key_file", key_file, ec);
  if (SSL_CTX_check_private_key(native) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls_key_file \"", key_file, "\" is not the key of tls_cert_file \"", cert_file, "\""));
  }
  if (!client_ca_file.empty()) {
    SIMPUL_ASSIGN_OR_RETURN(const std::string ca, ReadPem(client_ca_file, "tls_client_ca_file"));
    context->add_certificate_authority(net::buffer(ca), ec);
    if (ec) return Refused("tls_client_ca_file", client_ca_file, ec);
    // The CA's name goes in the certificate request, so that a client picks the right one.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(native, names);
    // Asked for, not required: callers without one use API keys or are public. A certificate
    // that does not verify fails the handshake.
    context->set_verify_mode(net::ssl::verify_peer, ec);
    if (ec) return Refused("tls_client_ca_file", client_ca_file, ec);
  }
  return context;
}

std::string Connection::PeerCertificatePem() {
  if (!tls_) return "";
  SSL* ssl = tls_->native_handle();
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), X509_free);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

}  // namespace simpul::gateway::rest
