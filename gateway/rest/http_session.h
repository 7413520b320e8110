// Internal to the REST front: one HTTP/1.1 connection (Session: read a request, route it,
// run the gate, answer in JSON, SSE or NDJSON) and the backend side of a server stream
// (StreamCall). Not for use outside gateway/rest/.
#ifndef SIMPUL_GATEWAY_REST_HTTP_SESSION_H_
#define SIMPUL_GATEWAY_REST_HTTP_SESSION_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/byte_buffer.h"
#include "common/messages.h"
#include "common/tsan_annotations.h"
#include "gateway/open311_front.h"
#include "gateway/rest/connection.h"
#include "gateway/rest/route_table.h"
#include "gateway/rest/server_impl.h"
#include "gateway/stream_limits.h"

namespace simpul::gateway::rest {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session;

// CreatesResource: a POST that makes a new resource answers 201.
bool CreatesResource(const Route& route);
// CopyMetadata appends the backend metadata that is copied to the HTTP response (text
// headers that are not gRPC's own) to `out`.
void CopyMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                  std::vector<std::pair<std::string, std::string>>* out);

// StreamCall is the backend side of one server stream served to an HTTP client.
class StreamCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamCall(RestServer::Impl* server, std::shared_ptr<Session> session, const Route* route)
      : server_(server), session_(std::move(session)), route_(route) {}
  void Start(grpc::GenericStub* stub, const std::string& request_bytes) {
    grpc::Slice slice(request_bytes);
    request_ = grpc::ByteBuffer(&slice, 1);
    stub->PrepareBidiStreamingCall(&ctx_, route_->full_method, grpc::StubOptions(), this);
    // The hold keeps the call from finishing while an item is on its way to the client and
    // no read is started: it is released when reading ends (NextRead(false) or the last read).
    AddHold();
    HandOffToGrpc(this);
    StartWriteLast(&request_, grpc::WriteOptions());
    HandOffToGrpc(this);
    StartRead(&response_);
    HandOffToGrpc(this);
    StartCall();
  }
  // NextRead follows every item handed to the session: read the next one, or stop reading
  // (the client is gone).
  void NextRead(bool more) {
    if (more) {
      HandOffToGrpc(this);
      StartRead(&response_);
    } else {
      ctx_.TryCancel();
      HandOffToGrpc(this);
      RemoveHold();
    }
  }
  void Cancel() { ctx_.TryCancel(); }
  grpc::ClientContext* context() { return &ctx_; }
  // HoldStream keeps the stream's place under its caller's caps until OnDone.
  void HoldStream(StreamLimits::Lease lease) { lease_ = std::move(lease); }

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  RestServer::Impl* const server_;
  std::shared_ptr<Session> session_;  // until OnDone
  const Route* const route_;
  grpc::ClientContext ctx_;
  StreamLimits::Lease lease_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  // Items must not overtake the headers (the two callbacks may run on different threads).
  absl::Mutex mu_;
  bool metadata_done_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<std::string> pending_item_ ABSL_GUARDED_BY(mu_);
};

// Session is one HTTP connection, plaintext or (with `tls`) HTTPS; every member runs on its
// strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(RestServer::Impl* server, tcp::socket socket, net::ssl::context* tls);
  ~Session() { server_->Forget(this); }

  void Run();
  // HoldConnection keeps the connection's place under the per-address cap until it closes.
  void HoldConnection(StreamLimits::Lease lease) { connection_lease_ = std::move(lease); }
  // Drain: idle connections close now, streams end now, busy ones after their response.
  void Drain();
  void ForceClose();

  // From the gate and the backend calls (any thread): post onto the strand.
  void PostError(absl::Status status, std::vector<std::pair<std::string, std::string>> headers);
  void PostResponse(int code, std::string json,
                    std::vector<std::pair<std::string, std::string>> headers);
  void PostStreamHeaders(std::vector<std::pair<std::string, std::string>> headers);
  void PostStreamItem(std::string json);
  void PostStreamDone(absl::Status status,
                      std::vector<std::pair<std::string, std::string>> headers);

  // Gate runs on the executor: admission, the request mapping, then the backend call.
  void Gate(const RouteMatch& match, std::string query, std::string body,
            std::vector<std::pair<std::string, std::string>> credentials, absl::Duration timeout);

 private:
  enum class State { kReading, kBusy, kStreaming, kClosed };
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // OnHandshake: the TLS handshake ended (within read_timeout of the accept); a failed one
  // closes the connection without a word.
  void OnHandshake(beast::error_code ec);
  void DoRead();

  // OnHeader: the header is in (the body limit is already checked against Content-Length);
  // a client that waits for "100 Continue" gets it, then the body is read.
  void OnHeader(beast::error_code ec);

  void OnRead(beast::error_code ec);

  void Handle(http::request<http::string_body> req);

  // ServeOpen311 hands the request to the Open311 front on the executor (it blocks on the
  // backends) and sends its answer.
  void ServeOpen311(http::request<http::string_body>& req, std::string_view method,
                    std::string_view path, const std::string& query);

  // WatchOpen311Client waits for the connection to become readable during an Open311 request;
  // Open311ClientReadable then peeks: a client that closed it cancels the request's backend
  // calls, a readiness report with nothing to read waits again. Open311Done ends the watch.
  void WatchOpen311Client();
  void Open311ClientReadable(beast::error_code ec);
  void Open311Done();

  void Preflight(const http::request<http::string_body>& req, std::string_view path);

  // The web front and officer sessions (gateway/rest/web_http.cc). ServeWebFront answers a
  // static file; ServeWebSession answers /web/session (on the executor: Redis). WebCookieOf
  // reads the session cookie of a /v1/ request that carries no other credentials (nullopt:
  // none, or sessions off); GateWithCookie (on the executor) resumes its session, checks the
  // CSRF token and the Origin, then runs Gate as the session's API key.
  struct WebCookie {
    std::string cookie;
    std::string csrf;         // the X-CSRF-Token header
    bool needs_csrf = false;  // not GET/HEAD
    absl::Status origin;      // PERMISSION_DENIED when Origin is not the gateway's own
  };
  void ServeWebFront(const http::request<http::string_body>& req, std::string_view method,
                     std::string_view path);
  void ServeWebSession(http::request<http::string_body>& req, std::string_view method);
  std::optional<WebCookie> WebCookieOf(const http::request<http::string_body>& req,
                                       std::string_view method);
  void GateWithCookie(const WebCookie& web, const RouteMatch& match, std::string query,
                      std::string body,
                      std::vector<std::pair<std::string, std::string>> credentials,
                      absl::Duration timeout);

  void Decorate(http::response_header<>& h);

  void SendError(const absl::Status& status, bool close, Headers headers);
  void SendHttpError(int code, const absl::Status& status, Headers headers = {},
                     bool close = false);
  // parser_done: the request was read whole (the connection can take another one).
  bool parser_done() const { return !parser_ || parser_->is_done(); }

  void SendJson(int code, std::string json, bool close, Headers headers);

  void Send(std::shared_ptr<http::response<http::string_body>> res, bool close);

  // Streams: headers when the backend's initial metadata (or the first item, or the end)
  // arrives; items as chunks; the connection closes after the last chunk.
  void StartStream(std::shared_ptr<StreamCall> call);
  void StreamHeaders(Headers headers);
  void ClientReadable(beast::error_code ec);
  void ClientGone();
  void StreamItem(const std::string& json);
  void StreamDone(const absl::Status& status, Headers headers);
  struct Out {
    std::string bytes;
    bool item = false;
    bool last = false;
  };
  void Enqueue(std::string bytes, bool item, bool last);
  void WriteNext();
  void Finish();

  void Close();

  friend class StreamCall;
  RestServer::Impl* const server_;
  Connection stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_;
  // The client's verified TLS certificate (PEM), read once after the handshake; "" if none.
  std::string client_cert_pem_;
  State state_ = State::kReading;
  bool draining_ = false;
  // The current request.
  std::string request_id_;
  std::string origin_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool sse_ = false;
  // The language of the texts the caller reads (common/messages.h): asked for with `lang` or
  // Accept-Language, else settled by the caller's role at the gate (CallerLang).
  std::optional<Lang> asked_lang_;
  Lang lang_ = Lang::kIndonesian;
  // The answer clears the session cookie (a /v1/ call with a cookie whose session is gone);
  // set on the executor before the answer is posted, like lang_.
  bool clear_web_cookie_ = false;
  // The current stream.
  std::shared_ptr<StreamCall> stream_call_;
  bool header_sent_ = false;
  bool client_gone_ = false;
  bool writing_ = false;
  std::deque<Out> out_;
  StreamLimits::Lease connection_lease_;
  // The Open311 request in progress, cancelled when its client goes away.
  std::shared_ptr<Open311Cancel> open311_cancel_;
};

}  // namespace simpul::gateway::rest

#endif  // SIMPUL_GATEWAY_REST_HTTP_SESSION_H_
