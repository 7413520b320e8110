// A small HTTP/1.1 client for end-to-end tests of the gateway's REST and Open311 fronts
// (Boost.Beast, blocking, loopback only).
#ifndef SIMPUL_TESTS_TESTING_HTTP_CLIENT_H_
#define SIMPUL_TESTS_TESTING_HTTP_CLIENT_H_

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace simpul::testing {

struct HttpResponse {
  int status = 0;                              // -1 when the exchange failed (body says why)
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  google::protobuf::Struct json;      // the body parsed, when it is a JSON object
  google::protobuf::ListValue array;  // the body parsed, when it is a JSON array

  std::string Header(const std::string& name) const;
  // Str reads a string (or a number, as text) at a dotted path of the JSON object ("" when
  // absent).
  std::string Str(const std::string& path) const;
  // ViolationFields lists the "field" of each item of the error's "field_violations".
  std::vector<std::string> ViolationFields() const;
  // Items are the objects of a JSON array body; ItemStr reads a string field of one.
  int Items() const { return array.values_size(); }
  std::string ItemStr(int i, const std::string& field) const;
};

// HttpConn is one HTTP/1.1 connection to 127.0.0.1:port (keep-alive).
class HttpConn {
 public:
  explicit HttpConn(int port);
  // Do sends one request and reads its response. A non-empty body without a content-type
  // header is sent as application/json.
  HttpResponse Do(const std::string& method, const std::string& target,
                  const std::string& body = "", std::map<std::string, std::string> headers = {});
  boost::beast::tcp_stream& stream() { return stream_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
};

// TlsClientOptions: what an HttpsConn trusts and presents.
struct TlsClientOptions {
  std::string ca_file;    // the CA (PEM) the server's certificate must chain to (for 127.0.0.1)
  std::string cert_file;  // the client certificate (PEM) and its key; none when empty
  std::string key_file;
};

// HttpsConn is one HTTPS connection to 127.0.0.1:port (keep-alive), every step bounded by a
// timeout.
class HttpsConn {
 public:
  HttpsConn(int port, const TlsClientOptions& options);
  // handshake is the outcome of the TCP connect and TLS handshake (Do fails with it). Under
  // TLS 1.3 a server that refuses the client's certificate says so after the client's side of
  // the handshake completed: the first exchange then fails.
  const boost::beast::error_code& handshake() const { return handshake_; }
  // Do is HttpConn::Do over TLS (status -1 when the exchange fails, the body says why).
  HttpResponse Do(const std::string& method, const std::string& target,
                  const std::string& body = "", std::map<std::string, std::string> headers = {});
  // Send writes raw bytes; ReadUntil reads until `pred(all bytes read so far)`, the server
  // closes or `timeout` passes (which closes the connection), and returns whether the server
  // closed. For streams.
  bool Send(const std::string& bytes);
  bool ReadUntil(const std::function<bool(const std::string&)>& pred, absl::Duration timeout);
  const std::string& data() const { return data_; }

 private:
  // Run runs the io_context until the pending operation completes or `timeout` passes (the
  // stream is then closed).
  void Run(absl::Duration timeout);

  boost::asio::io_context ioc_;
  boost::beast::error_code handshake_;  // before ssl_, which sets it
  boost::asio::ssl::context ssl_;
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::string data_;
};

// HttpDo makes one request on a connection of its own.
HttpResponse HttpDo(int port, const std::string& method, const std::string& target,
                    const std::string& body = "", std::map<std::string, std::string> headers = {});

// FormEncode renders fields as application/x-www-form-urlencoded.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_HTTP_CLIENT_H_
