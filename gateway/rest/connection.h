// Internal to the REST front: Connection, the byte stream of one HTTP connection, plaintext
// (beast::tcp_stream) or TLS (beast::ssl_stream over a tcp_stream), so that one Session serves
// both; and the TLS context of the front. Not for use outside gateway/rest/.
#ifndef SIMPUL_GATEWAY_REST_CONNECTION_H_
#define SIMPUL_GATEWAY_REST_CONNECTION_H_

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace simpul::gateway::rest {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// TlsContext makes the server context of the REST front from PEM files: the certificate chain
// and key (required) and, when `client_ca_file` is not empty, the CA a client certificate is
// verified against. TLS 1.2 or later, forward-secret AEAD suites only for TLS 1.2, no
// compression, no renegotiation. A client certificate is asked for but not required; one that
// does not verify fails the handshake. Errors name the file (by its key).
absl::StatusOr<std::unique_ptr<net::ssl::context>> TlsContext(const std::string& cert_file,
                                                              const std::string& key_file,
                                                              const std::string& client_ca_file);

// Connection is a tcp_stream, or a TLS stream over one; its members mirror tcp_stream's
// (socket() is the TCP socket under TLS too: waiting on it for readability is fine, reading
// from it is not, except to detect that the client left a connection about to close).
class Connection {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  explicit Connection(tcp::socket socket) { plain_.emplace(std::move(socket)); }
  // TLS with `context`, which must outlive the connection.
  Connection(tcp::socket socket, net::ssl::context& context) {
    tls_.emplace(std::move(socket), context);
  }

  bool tls() const { return tls_.has_value(); }
  beast::tcp_stream& tcp_stream() { return tls_ ? tls_->next_layer() : *plain_; }
  tcp::socket& socket() { return tcp_stream().socket(); }
  executor_type get_executor() { return tcp_stream().get_executor(); }
  template <class Duration>
  void expires_after(Duration d) {
    tcp_stream().expires_after(d);
  }
  void expires_never() { tcp_stream().expires_never(); }
  void close() { tcp_stream().close(); }

  // AsyncHandshake runs the server side of the TLS handshake (TLS connections only).
  template <class Handler>
  void AsyncHandshake(Handler&& handler) {
    tls_->async_handshake(net::ssl::stream_base::server, std::forward<Handler>(handler));
  }
  // PeerCertificatePem is the client's certificate (PEM) when it sent one that verified;
  // "" otherwise (and for plaintext).
  std::string PeerCertificatePem();

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

 private:
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

}  // namespace simpul::gateway::rest

#endif  // SIMPUL_GATEWAY_REST_CONNECTION_H_
