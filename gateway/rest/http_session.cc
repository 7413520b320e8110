// One HTTP/1.1 connection of the REST front and the backend side of a server stream
// (gateway/rest/http_session.h). The gate, which admits a request and calls the backend, is
// in gateway/rest/gate.cc.
#include "gateway/rest/http_session.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/grpc_status.h"
#include "common/identity.h"
#include "common/status.h"
#include "gateway/open311_front.h"
#include "gateway/proxy.h"
#include "gateway/rest/errors.h"
#include "gateway/rest/transcode.h"
#include "gateway/rest/web_front.h"
#include "gateway/url.h"
#include "gateway/web_sessions.h"

namespace simpul::gateway::rest {
namespace {

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

// ParseTimeout reads a grpc-timeout value: up to 8 digits and a unit (H, M, S, m, u, n).
std::optional<absl::Duration> ParseTimeout(std::string_view v) {
  if (v.size() < 2 || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  if (!absl::SimpleAtoi(AbslView(v.substr(0, v.size() - 1)), &n) || n < 0) return std::nullopt;
  switch (v.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
    default:
      return std::nullopt;
  }
}

std::string Chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return absl::StrCat(size, AbslView(data), "\r\n");
}

}  // namespace

bool CreatesResource(const Route& route) {
  if (route.http_method != "POST") return false;
  const std::string& name = route.method->name();
  return absl::StartsWith(name, "Create") || absl::StartsWith(name, "File") ||
         absl::StartsWith(name, "Issue");
}

void CopyMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                  std::vector<std::pair<std::string, std::string>>* out) {
  for (const auto& [key, value] : metadata) {
    const std::string_view k(key.data(), key.size());
    if (k.empty() || k.front() == ':' || absl::StartsWith(AbslView(k), "grpc-") ||
        absl::EndsWith(AbslView(k), "-bin") || k == "content-type" || k == kRequestIdKey) {
      continue;
    }
    out->emplace_back(std::string(k), std::string(value.data(), value.size()));
  }
}

namespace {

Connection MakeConnection(tcp::socket socket, net::ssl::context* tls) {
  if (tls == nullptr) return Connection(std::move(socket));
  return Connection(std::move(socket), *tls);
}

}  // namespace

Session::Session(RestServer::Impl* server, tcp::socket socket, net::ssl::context* tls)
    : server_(server), stream_(MakeConnection(std::move(socket), tls)) {
  beast::error_code ec;
  const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    peer_ = remote.address().is_v6()
                ? absl::StrCat("ipv6:[", remote.address().to_string(), "]:", remote.port())
                : absl::StrCat("ipv4:", remote.address().to_string(), ":", remote.port());
  }
}

void Session::Run() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->stream_.tls()) return self->DoRead();
    // The handshake counts as reading: a client that connects and stays silent (or speaks
    // plaintext) is closed after read_timeout, and its place under the caps with it.
    self->stream_.expires_after(absl::ToChronoMilliseconds(self->server_->options_.read_timeout));
    self->stream_.AsyncHandshake([self](beast::error_code ec) { self->OnHandshake(ec); });
  });
}

void Session::OnHandshake(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  stream_.expires_never();
  if (ec) return Close();
  client_cert_pem_ = stream_.PeerCertificatePem();
  DoRead();
}

void Session::Drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->draining_ = true;
    if (self->state_ == State::kReading) {
      self->Close();
    } else if (self->state_ == State::kStreaming && self->stream_call_) {
      self->stream_call_->Cancel();
    }
  });
}

void Session::ForceClose() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
}

void Session::PostError(absl::Status status,
                        std::vector<std::pair<std::string, std::string>> headers) {
  net::post(stream_.get_executor(), [self = shared_from_this(), status = std::move(status),
                                     headers = std::move(headers)]() mutable {
    self->SendError(status, /*close=*/false, std::move(headers));
  });
}

void Session::PostResponse(int code, std::string json,
                           std::vector<std::pair<std::string, std::string>> headers) {
  net::post(stream_.get_executor(), [self = shared_from_this(), code, json = std::move(json),
                                     headers = std::move(headers)]() mutable {
    self->SendJson(code, std::move(json), /*close=*/false, std::move(headers));
  });
}

void Session::PostStreamHeaders(std::vector<std::pair<std::string, std::string>> headers) {
  net::post(stream_.get_executor(),
            [self = shared_from_this(), headers = std::move(headers)]() mutable {
              self->StreamHeaders(std::move(headers));
            });
}

void Session::PostStreamItem(std::string json) {
  net::post(stream_.get_executor(),
            [self = shared_from_this(), json = std::move(json)] { self->StreamItem(json); });
}

void Session::PostStreamDone(absl::Status status,
                             std::vector<std::pair<std::string, std::string>> headers) {
  net::post(stream_.get_executor(), [self = shared_from_this(), status = std::move(status),
                                     headers = std::move(headers)]() mutable {
    self->StreamDone(status, std::move(headers));
  });
}

void Session::DoRead() {
  state_ = State::kReading;
  if (draining_) return Close();
  parser_.emplace();
  parser_->body_limit(server_->options_.max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(server_->options_.max_header_bytes));
  stream_.expires_after(absl::ToChronoMilliseconds(server_->options_.read_timeout));
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Session::OnHeader(beast::error_code ec) {
  if (ec || parser_->is_done()) return OnRead(ec);
  auto read_body = [self = shared_from_this()] {
    http::async_read(self->stream_, self->buffer_, *self->parser_,
                     [self](beast::error_code ec, size_t) { self->OnRead(ec); });
  };
  if (absl::EqualsIgnoreCase(AbslView(Sv(parser_->get()[http::field::expect])), "100-continue")) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                     [self = shared_from_this(), read_body](beast::error_code ec, size_t) {
                       if (ec) return self->OnRead(ec);
                       read_body();
                     });
    return;
  }
  read_body();
}

void Session::OnRead(beast::error_code ec) {
  if (state_ == State::kClosed) return;
  stream_.expires_never();
  if (ec) {
    request_id_ = NewRequestId();
    keep_alive_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return Close();
    }
    state_ = State::kBusy;
    if (ec == http::error::body_limit) {
      return SendHttpError(413, absl::InvalidArgumentError(
                                    absl::StrCat("the body is larger than the limit of ",
                                                 server_->options_.max_body_bytes, " bytes")));
    }
    if (ec == http::error::header_limit) {
      return SendHttpError(431, absl::InvalidArgumentError(absl::StrCat(
                                    "the request headers are larger than the limit of ",
                                    server_->options_.max_header_bytes, " bytes")));
    }
    return SendHttpError(
        400, absl::InvalidArgumentError(absl::StrCat("malformed HTTP request: ", ec.message())));
  }
  state_ = State::kBusy;
  Handle(parser_->release());
}

void Session::Handle(http::request<http::string_body> req) {
  const std::string_view given = Sv(req[kRequestIdKey]);
  request_id_ = ValidRequestId(given) ? std::string(given) : NewRequestId();
  origin_ = std::string(Sv(req[http::field::origin]));
  keep_alive_ = req.keep_alive();
  version_ = req.version();
  const std::string_view target = Sv(req.target());
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  std::string query(q == std::string_view::npos ? "" : target.substr(q + 1));
  const std::string_view method = Sv(req.method_string());

  if (server_->options_.web_front != nullptr && WebFront::Handles(path)) {
    return ServeWebFront(req, method, path);
  }
  if (method == "OPTIONS") return Preflight(req, path);
  if (server_->options_.open311 != nullptr && Open311Front::Handles(path)) {
    return ServeOpen311(req, method, path, query);
  }
  // The caller's language: `lang` wins over Accept-Language; without either, errors before
  // the gate knows the caller are in Bahasa Indonesia unless credentials came (an agency
  // system's), and the gate settles it by the caller's role.
  asked_lang_ = PreferredLang(Sv(req[http::field::accept_language]));
  absl::Status lang_status = absl::OkStatus();
  if (std::optional<std::string> lang = TakeQueryParam(query, "lang")) {
    absl::StatusOr<Lang> parsed = ParseLangParam(*lang);
    if (parsed.ok()) asked_lang_ = *parsed;
    lang_status = parsed.status();
  }
  const bool credentials_sent = req.find(http::field::authorization) != req.end() ||
                                req.find(kApiKeyKey) != req.end() || !client_cert_pem_.empty();
  lang_ = asked_lang_.value_or(credentials_sent ? Lang::kEnglish : Lang::kIndonesian);
  if (!lang_status.ok()) return SendError(lang_status, false, {});
  if (server_->options_.web_sessions != nullptr && path == "/web/session") {
    return ServeWebSession(req, method);
  }
  RouteMatch match = server_->routes_->Match(method, path);
  if (match.kind == RouteMatch::Kind::kNotFound) {
    return SendError(
        absl::NotFoundError(absl::StrCat("no route for ", Excerpt(method), " ", Excerpt(path))),
        false, {});
  }
  if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
    match.allowed.push_back("OPTIONS");
    return SendHttpError(
        405,
        absl::UnimplementedError(absl::StrCat(Excerpt(path), " does not take ", Excerpt(method),
                                              "; it takes ", absl::StrJoin(match.allowed, ", "))),
        {{"Allow", absl::StrJoin(match.allowed, ", ")}});
  }
  const Route& route = *match.route;
  if (!absl::StripAsciiWhitespace(AbslView(req.body())).empty()) {
    const std::string content_type =
        absl::AsciiStrToLower(AbslView(Sv(req[http::field::content_type])));
    const absl::string_view media = absl::StripAsciiWhitespace(
        absl::string_view(content_type).substr(0, content_type.find(';')));
    if (media != "application/json") {
      return SendHttpError(
          415, absl::InvalidArgumentError(absl::StrCat(
                   "the body must be JSON with \"Content-Type: application/json\"; got \"",
                   Excerpt(content_type), "\"")));
    }
  }
  absl::Duration timeout =
      route.server_streaming ? server_->options_.stream_timeout : server_->options_.default_timeout;
  if (const std::string_view t = Sv(req["grpc-timeout"]); !t.empty()) {
    std::optional<absl::Duration> parsed = ParseTimeout(t);
    if (!parsed) {
      return SendError(
          InvalidField("grpc-timeout", absl::StrCat("expected digits and a unit (H, M, S, m, u, "
                                                    "n), e.g. \"5S\"; got \"",
                                                    Excerpt(t), "\"")),
          false, {});
    }
    timeout = std::min(*parsed, route.server_streaming ? std::max(server_->options_.max_timeout,
                                                                  server_->options_.stream_timeout)
                                                       : server_->options_.max_timeout);
  }
  sse_ = absl::StrContains(AbslView(Sv(req[http::field::accept])), "text/event-stream");
  Headers credentials{{kRequestIdKey, request_id_}};
  for (const char* key : {"authorization", kApiKeyKey}) {
    if (auto it = req.find(key); it != req.end()) {
      credentials.emplace_back(key, std::string(Sv(it->value())));
    }
  }
  // A browser signed in to the console: the session cookie stands for its API key.
  std::optional<WebCookie> web =
      credentials.size() == 1 && client_cert_pem_.empty() ? WebCookieOf(req, method) : std::nullopt;
  std::string body = std::move(req.body());
  auto self = shared_from_this();
  const bool queued = server_->executor_->Submit(
      [self, match = std::move(match), query, body = std::move(body),
       credentials = std::move(credentials), timeout, web = std::move(web)]() mutable {
        if (web) {
          return self->GateWithCookie(*web, match, std::move(query), std::move(body),
                                      std::move(credentials), timeout);
        }
        self->Gate(match, std::move(query), std::move(body), std::move(credentials), timeout);
      });
  if (!queued) {
    SendError(absl::UnavailableError("the gateway is overloaded or stopping; retry"), false,
              {{"Retry-After", "1"}});
  }
}

void Session::ServeOpen311(http::request<http::string_body>& req, std::string_view method,
                           std::string_view path, const std::string& query) {
  Open311Call call;
  call.method = std::string(method);
  call.path = std::string(path);
  call.query = query;
  call.content_type = std::string(Sv(req[http::field::content_type]));
  call.accept_language = std::string(Sv(req[http::field::accept_language]));
  call.body = std::move(req.body());
  for (const char* key : {"authorization", kApiKeyKey}) {
    if (auto it = req.find(key); it != req.end()) {
      call.headers.emplace_back(key, std::string(Sv(it->value())));
    }
  }
  call.peer = peer_;
  call.client_cert_pem = client_cert_pem_;
  call.request_id = request_id_;
  call.deadline = absl::Now() + server_->options_.default_timeout;
  call.cancel = std::make_shared<Open311Cancel>();
  open311_cancel_ = call.cancel;
  const Open311Front* front = server_->options_.open311;
  const bool queued =
      server_->executor_->Submit([self = shared_from_this(), front, call = std::move(call)] {
        HttpReply reply = front->Serve(call);
        net::post(self->stream_.get_executor(), [self, reply = std::move(reply)]() mutable {
          self->Open311Done();
          self->SendJson(reply.status, std::move(reply.body), /*close=*/false,
                         std::move(reply.headers));
        });
      });
  if (!queued) {
    open311_cancel_.reset();
    SendHttpError(503, absl::UnavailableError("the gateway is overloaded or stopping; retry"),
                  {{"Retry-After", "1"}});
    return;
  }
  // While the backends work, watch the connection: a client that goes away cancels them.
  WatchOpen311Client();
}

void Session::WatchOpen311Client() {
  stream_.socket().async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this()](beast::error_code ec) { self->Open311ClientReadable(ec); });
}

void Session::Open311ClientReadable(beast::error_code ec) {
  if (ec || open311_cancel_ == nullptr || state_ == State::kClosed) return;
  // Peek: a pipelined next request stays in the socket for DoRead. The peek must not block:
  // a synchronous receive on a socket in blocking mode waits for data, and this thread serves
  // the connection's strand (the Open311 answer waits behind it) and other connections.
  char byte;
  beast::error_code peek_ec;
  stream_.socket().non_blocking(true, peek_ec);
  const size_t n = peek_ec ? 0
                           : stream_.socket().receive(net::buffer(&byte, 1),
                                                      net::socket_base::message_peek, peek_ec);
  if (peek_ec == net::error::would_block || peek_ec == net::error::try_again) {
    // Readiness with nothing to read: the bytes that raised it were read with the request
    // (seen over HTTPS with TLS 1.3, whose client Finished and request arrive as separate
    // segments). Before, the peek then blocked until the client sent more or left: about one
    // Open311 request in ten over HTTPS hung until its client gave up.
    return WatchOpen311Client();
  }
  if (peek_ec || n == 0) open311_cancel_->Cancel();  // end of file or reset: the client left
}

void Session::Open311Done() {
  if (open311_cancel_ == nullptr) return;
  open311_cancel_.reset();
  beast::error_code ec;
  stream_.socket().cancel(ec);  // the pending wait
}

void Session::Preflight(const http::request<http::string_body>& req, std::string_view path) {
  const std::string_view wanted = Sv(req[http::field::access_control_request_method]);
  RouteMatch match = server_->routes_->Match(wanted.empty() ? "OPTIONS" : wanted, path);
  if (match.kind == RouteMatch::Kind::kNotFound && match.allowed.empty()) {
    return SendError(absl::NotFoundError(absl::StrCat("no route for ", Excerpt(path))), false, {});
  }
  match.allowed.push_back("OPTIONS");
  const std::string allow = absl::StrJoin(match.allowed, ", ");
  Headers headers{{"Allow", allow}};
  if (!origin_.empty() && !wanted.empty()) {
    if (!server_->OriginAllowed(origin_)) {
      return SendHttpError(403, absl::PermissionDeniedError(absl::StrCat(
                                    "the origin ", Excerpt(origin_), " may not call this API")));
    }
    headers.emplace_back("Access-Control-Allow-Methods", allow);
    headers.emplace_back("Access-Control-Allow-Headers",
                         "authorization, content-type, x-api-key, x-request-id, grpc-timeout");
    headers.emplace_back("Access-Control-Max-Age", "600");
  }
  auto res =
      std::make_shared<http::response<http::string_body>>(http::status::no_content, version_);
  for (auto& [k, v] : headers) res->set(k, v);
  Send(std::move(res), false);
}

void Session::Decorate(http::response_header<>& h) {
  h.set(http::field::server, "simpul-gateway");
  h.set(kRequestIdKey, request_id_);
  if (stream_.tls()) h.set(http::field::strict_transport_security, "max-age=31536000");
  if (clear_web_cookie_) {
    clear_web_cookie_ = false;
    h.set(http::field::set_cookie, absl::StrCat(AbslView(kWebSessionCookie),
                                                "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                                                stream_.tls() ? "; Secure" : ""));
  }
  if (server_->OriginAllowed(origin_)) {
    h.set(http::field::access_control_allow_origin, origin_);
    h.set(http::field::vary, "Origin");
    h.set(http::field::access_control_expose_headers, "x-request-id, retry-after, x-simpul-cursor");
  }
}

void Session::SendError(const absl::Status& status, bool close, Headers headers) {
  SendHttpError(ErrorHttpStatus(status.code()), status, std::move(headers), close);
}

void Session::SendHttpError(int code, const absl::Status& status, Headers headers, bool close) {
  headers.emplace_back("Content-Language", std::string(LangTag(lang_)));
  SendJson(code, ErrorJson(LocalizeStatus(status, lang_), code, request_id_),
           close || code == 413 || code == 431 || (code == 400 && !parser_done()),
           std::move(headers));
}

void Session::SendJson(int code, std::string json, bool close, Headers headers) {
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(code),
                                                                 version_ == 0 ? 11 : version_);
  res->set(http::field::content_type, "application/json");
  res->set(http::field::cache_control, "no-store");
  for (auto& [k, v] : headers) res->set(k, v);
  res->body() = std::move(json);
  Send(std::move(res), close);
}

void Session::Send(std::shared_ptr<http::response<http::string_body>> res, bool close) {
  if (state_ == State::kClosed) return;
  Decorate(res->base());
  close = close || !keep_alive_ || draining_;
  res->keep_alive(!close);
  res->prepare_payload();
  stream_.expires_after(absl::ToChronoMilliseconds(server_->options_.write_timeout));
  http::async_write(stream_, *res,
                    [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                      self->stream_.expires_never();
                      if (ec || close) return self->Close();
                      self->DoRead();
                    });
}

void Session::StartStream(std::shared_ptr<StreamCall> call) {
  state_ = State::kStreaming;
  stream_call_ = std::move(call);
  if (draining_) stream_call_->Cancel();
}

void Session::StreamHeaders(Headers headers) {
  if (header_sent_ || state_ == State::kClosed) return;
  header_sent_ = true;
  http::response_header<> h;
  h.result(http::status::ok);
  h.version(11);
  h.set(http::field::content_type, sse_ ? "text/event-stream" : "application/x-ndjson");
  h.set(http::field::cache_control, "no-store");
  h.set(http::field::connection, "close");
  h.set(http::field::transfer_encoding, "chunked");
  for (auto& [k, v] : headers) h.set(k, v);
  Decorate(h);
  std::ostringstream os;
  os << h;
  Enqueue(os.str(), false, false);
  // Watch the connection: a read that ends means the client went away.
  stream_.socket().async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this()](beast::error_code ec) { self->ClientReadable(ec); });
}

void Session::ClientReadable(beast::error_code ec) {
  if (state_ != State::kStreaming) return;
  if (!ec) {
    // Readable: data (ignored: the connection closes after the stream) or end of file.
    char scratch[512];
    beast::error_code read_ec;
    const size_t n = stream_.socket().read_some(net::buffer(scratch), read_ec);
    if (!read_ec && n > 0) {
      stream_.socket().async_wait(
          tcp::socket::wait_read,
          [self = shared_from_this()](beast::error_code e) { self->ClientReadable(e); });
      return;
    }
  }
  ClientGone();
}

void Session::ClientGone() {
  if (client_gone_) return;
  client_gone_ = true;
  if (stream_call_) stream_call_->Cancel();
}

void Session::StreamItem(const std::string& json) {
  if (!header_sent_) StreamHeaders({});
  Enqueue(Chunk(sse_ ? absl::StrCat("data: ", json, "\n\n") : absl::StrCat(json, "\n")),
          /*item=*/true, false);
}

void Session::StreamDone(const absl::Status& status, Headers headers) {
  if (!header_sent_) {
    stream_call_.reset();
    state_ = State::kBusy;
    keep_alive_ = false;
    if (!status.ok()) return SendError(status, true, std::move(headers));
    StreamHeaders(std::move(headers));
  }
  if (!status.ok() && !client_gone_) {
    const std::string error =
        ErrorJson(LocalizeStatus(status, lang_), ErrorHttpStatus(status.code()), request_id_);
    Enqueue(Chunk(sse_ ? absl::StrCat("event: error\ndata: ", error, "\n\n")
                       : absl::StrCat("{\"error\":", error, "}\n")),
            false, false);
  }
  Enqueue("0\r\n\r\n", false, /*last=*/true);
}

void Session::Enqueue(std::string bytes, bool item, bool last) {
  if (client_gone_ || state_ == State::kClosed) {
    if (item && stream_call_) stream_call_->NextRead(false);
    if (last) Finish();
    return;
  }
  out_.push_back(Out{std::move(bytes), item, last});
  if (!writing_) WriteNext();
}

void Session::WriteNext() {
  writing_ = true;
  stream_.expires_after(absl::ToChronoMilliseconds(server_->options_.write_timeout));
  net::async_write(stream_, net::buffer(out_.front().bytes),
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->stream_.expires_never();
                     self->writing_ = false;
                     Out done = std::move(self->out_.front());
                     self->out_.pop_front();
                     if (ec) {
                       self->ClientGone();
                       bool last = done.last;
                       self->out_.push_front(std::move(done));
                       for (const Out& dropped : self->out_) {
                         if (dropped.item && self->stream_call_) {
                           self->stream_call_->NextRead(false);
                         }
                         last |= dropped.last;
                       }
                       self->out_.clear();
                       if (last) self->Finish();
                       return;
                     }
                     if (done.item && self->stream_call_) {
                       self->stream_call_->NextRead(!self->client_gone_);
                     }
                     if (done.last) return self->Finish();
                     if (!self->out_.empty()) self->WriteNext();
                   });
}

void Session::Finish() {
  stream_call_.reset();
  Close();
}

void Session::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
  connection_lease_.Release();
  if (open311_cancel_ != nullptr) open311_cancel_->Cancel();
  if (stream_call_) stream_call_->Cancel();
}

void StreamCall::OnReadInitialMetadataDone(bool ok) {
  const GrpcCallback callback(this);
  if (ok) {
    std::vector<std::pair<std::string, std::string>> headers;
    CopyMetadata(ctx_.GetServerInitialMetadata(), &headers);
    session_->PostStreamHeaders(std::move(headers));
  }
  std::optional<std::string> pending;
  {
    absl::MutexLock lock(&mu_);
    metadata_done_ = true;
    pending = std::move(pending_item_);
  }
  if (pending) session_->PostStreamItem(*std::move(pending));
}

void StreamCall::OnReadDone(bool ok) {
  const GrpcCallback callback(this);
  if (!ok) {
    HandOffToGrpc(this);
    RemoveHold();  // the last message was read; OnDone follows
    return;
  }
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          route_->method->output_type());
  std::unique_ptr<google::protobuf::Message> item(prototype->New());
  if (!item->ParseFromString(BufferBytes(response_))) {
    NextRead(false);
    return;
  }
  std::string json = MessageJson(*item);
  {
    absl::MutexLock lock(&mu_);
    if (!metadata_done_) {
      pending_item_ = std::move(json);
      return;
    }
  }
  session_->PostStreamItem(std::move(json));
}

void StreamCall::OnDone(const grpc::Status& status) {
  ResumedFromGrpc(this);
  lease_.Release();
  RestServer::Impl* server = server_;
  server->Unregister(&ctx_);
  std::vector<std::pair<std::string, std::string>> headers;
  CopyMetadata(ctx_.GetServerTrailingMetadata(), &headers);
  std::shared_ptr<Session> session = std::move(session_);
  session->PostStreamDone(FromGrpcStatus(status), std::move(headers));
  session.reset();
  server->Release();
}

}  // namespace simpul::gateway::rest
