// A small HTTP/1.1 client for end-to-end tests of the gateway's REST and Open311 fronts
// (Boost.Beast, blocking, loopback only).
#ifndef SIMPUL_TESTS_TESTING_HTTP_CLIENT_H_
#define SIMPUL_TESTS_TESTING_HTTP_CLIENT_H_

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <map>
#include <string>
#include <vector>

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

// HttpDo makes one request on a connection of its own.
HttpResponse HttpDo(int port, const std::string& method, const std::string& target,
                    const std::string& body = "", std::map<std::string, std::string> headers = {});

// FormEncode renders fields as application/x-www-form-urlencoded.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_HTTP_CLIENT_H_
