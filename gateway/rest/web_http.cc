// The web front on the REST front's connections (gateway/rest/http_session.h): static files
// (gateway/rest/web_front.h), the officer session endpoint /web/session and /v1/ calls
// authenticated by the session cookie (gateway/web_sessions.h).
//
//   POST /web/session {"api_key": "..."}  201, the session (below) and Set-Cookie
//   GET /web/session                      200, the session; 401 when not signed in
//   DELETE /web/session                   204 and the cookie cleared (X-CSRF-Token needed)
// The session: {"principal": {...}, "csrf_token": "...", "expire_time": "<RFC 3339>"}.
// Sign-in and sign-out are audited as methods "POST /web/session" and "DELETE /web/session"
// (refused sign-ins when UNAUTHENTICATED or PERMISSION_DENIED, as the gate's refusals).
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/status.h"
#include "gateway/proxy.h"
#include "gateway/rest/errors.h"
#include "gateway/rest/http_session.h"
#include "gateway/rest/transcode.h"
#include "gateway/rest/web_front.h"
#include "gateway/web_sessions.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace simpul::gateway::rest {
namespace {

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

constexpr char kSignInMethod[] = "POST /web/session";
constexpr char kSignOutMethod[] = "DELETE /web/session";

// CookieValue finds `name` among the request's Cookie headers ("" when absent).
std::string CookieValue(const http::request<http::string_body>& req, std::string_view name) {
  auto range = req.equal_range(http::field::cookie);
  for (auto it = range.first; it != range.second; ++it) {
    for (absl::string_view pair : absl::StrSplit(AbslView(Sv(it->value())), ';')) {
      pair = absl::StripAsciiWhitespace(pair);
      const size_t eq = pair.find('=');
      if (eq != absl::string_view::npos && pair.substr(0, eq) == AbslView(name)) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return "";
}

std::string SessionJson(const WebSession& session) {
  common::v1::Principal principal;
  principal.set_subject(session.principal.subject());
  principal.set_role(session.principal.role());
  principal.set_agency_id(session.principal.agency_id());
  return absl::StrCat("{\"principal\":", MessageJson(principal), ",\"csrf_token\":\"",
                      session.csrf_token, "\",\"expire_time\":\"",
                      google::protobuf::util::TimeUtil::ToString(
                          google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
                              absl::ToUnixMillis(session.expire_time) * 1000000)),
                      "\"}");
}

}  // namespace

void Session::ServeWebFront(const http::request<http::string_body>& req, std::string_view method,
                            std::string_view path) {
  lang_ = PreferredLang(Sv(req[http::field::accept_language])).value_or(Lang::kIndonesian);
  WebFront::Reply reply = server_->options_.web_front->Serve(
      method, path, Sv(req[http::field::accept_encoding]), Sv(req[http::field::if_none_match]));
  if (reply.status >= 400) {
    return SendHttpError(reply.status, reply.error, std::move(reply.headers));
  }
  auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(reply.status), version_ == 0 ? 11 : version_);
  for (auto& [k, v] : reply.headers) res->set(k, v);
  const size_t length = reply.body != nullptr ? reply.body->size() : 0;
  if (reply.body != nullptr && method != "HEAD") res->body() = *reply.body;
  if (state_ == State::kClosed) return;
  Decorate(res->base());
  const bool close = !keep_alive_ || draining_;
  res->keep_alive(!close);
  if (reply.status != 304) res->content_length(length);
  stream_.expires_after(absl::ToChronoMilliseconds(server_->options_.write_timeout));
  http::async_write(stream_, *res,
                    [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                      self->stream_.expires_never();
                      if (ec || close) return self->Close();
                      self->DoRead();
                    });
}

void Session::ServeWebSession(http::request<http::string_body>& req, std::string_view method) {
  WebSessions* sessions = server_->options_.web_sessions;
  const bool tls = stream_.tls();
  const std::string max_age = absl::StrCat(absl::ToInt64Seconds(sessions->options().max_age));
  const std::string secure = tls ? "; Secure" : "";
  Headers cleared = WebSecurityHeaders();
  cleared.emplace_back("Set-Cookie",
                       absl::StrCat(AbslView(kWebSessionCookie),
                                    "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", secure));
  if (method != "GET" && method != "POST" && method != "DELETE") {
    Headers headers = WebSecurityHeaders();
    headers.emplace_back("Allow", "GET, POST, DELETE");
    return SendHttpError(
        405,
        absl::UnimplementedError(absl::StrCat("/web/session does not take ", Excerpt(method),
                                              "; it takes ", "GET, POST, DELETE")),
        std::move(headers));
  }
  std::string cookie = CookieValue(req, kWebSessionCookie);
  const std::string csrf(Sv(req[kCsrfHeader]));
  absl::Status origin = absl::OkStatus();
  if (!origin_.empty()) {
    const std::string own =
        absl::StrCat(tls ? "https://" : "http://", AbslView(Sv(req[http::field::host])));
    if (origin_ != own) {
      origin = absl::PermissionDeniedError(absl::StrCat(
          "the Origin header ", Excerpt(origin_),
          " is not this gateway's own origin: the session works only from the web front"));
    }
  }
  std::string body;
  if (method == "POST") {
    if (!origin.ok()) return SendError(origin, false, WebSecurityHeaders());
    const std::string content_type =
        absl::AsciiStrToLower(AbslView(Sv(req[http::field::content_type])));
    const absl::string_view media = absl::StripAsciiWhitespace(
        absl::string_view(content_type).substr(0, content_type.find(';')));
    if (media != "application/json") {
      return SendHttpError(
          415,
          absl::InvalidArgumentError(
              absl::StrCat("the body must be JSON with \"Content-Type: application/json\"; got \"",
                           Excerpt(content_type), "\"")),
          WebSecurityHeaders());
    }
    google::protobuf::Struct parsed;
    if (!google::protobuf::util::JsonStringToMessage(req.body(), &parsed).ok()) {
      return SendError(InvalidField("api_key", "expected a JSON object {\"api_key\": \"<token>\"}"),
                       false, WebSecurityHeaders());
    }
    for (const auto& [name, value] : parsed.fields()) {
      if (name != "api_key") {
        return SendError(
            InvalidField(name, "unknown field; the body is {\"api_key\": \"<token>\"}"), false,
            WebSecurityHeaders());
      }
      if (value.kind_case() != google::protobuf::Value::kStringValue) {
        return SendError(InvalidField("api_key", "expected a string"), false, WebSecurityHeaders());
      }
      body = value.string_value();
    }
  }
  CallInfo info;
  info.request_id = request_id_;
  info.peer = peer_;
  const bool queued = server_->executor_->Submit([self = shared_from_this(), sessions,
                                                  method = std::string(method),
                                                  cookie = std::move(cookie), csrf, origin,
                                                  api_key = std::move(body), info, max_age, secure,
                                                  cleared]() mutable {
    if (method == "POST") {
      info.method = kSignInMethod;
      absl::StatusOr<NewWebSession> opened = sessions->SignIn(api_key, info.peer);
      if (opened.ok()) info.principal = opened->session.principal;
      if (!opened.ok()) {
        if (opened.status().code() != absl::StatusCode::kInvalidArgument) {
          self->server_->proxy_->Audit(info, opened.status().code(), /*reached_backend=*/false, "");
        }
        Headers headers = WebSecurityHeaders();
        if (auto retry = opened.status().GetPayload(kRetryAfterPayload)) {
          headers.emplace_back("Retry-After", std::string(*retry));
        }
        return self->PostError(opened.status(), std::move(headers));
      }
      self->server_->proxy_->Audit(info, absl::StatusCode::kOk, /*reached_backend=*/true, "");
      Headers headers = WebSecurityHeaders();
      headers.emplace_back(
          "Set-Cookie",
          absl::StrCat(AbslView(kWebSessionCookie), "=", opened->cookie,
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=", max_age, secure));
      return self->PostResponse(201, SessionJson(opened->session), std::move(headers));
    }
    absl::StatusOr<WebSession> session = sessions->Resume(cookie);
    if (!session.ok()) {
      Headers headers = cleared;
      if (session.status().code() != absl::StatusCode::kUnauthenticated) {
        headers = WebSecurityHeaders();
      }
      return self->PostError(session.status(), std::move(headers));
    }
    if (method == "GET") {
      return self->PostResponse(200, SessionJson(*session), WebSecurityHeaders());
    }
    // DELETE: a cross-site page must not sign the officer out.
    absl::Status allowed = origin.ok() ? WebSessions::CheckCsrf(*session, csrf) : origin;
    info.method = kSignOutMethod;
    info.principal = session->principal;
    if (!allowed.ok()) {
      self->server_->proxy_->Audit(info, allowed.code(), /*reached_backend=*/false, "");
      return self->PostError(allowed, WebSecurityHeaders());
    }
    if (absl::Status out = sessions->SignOut(cookie); !out.ok()) {
      return self->PostError(out, WebSecurityHeaders());
    }
    self->server_->proxy_->Audit(info, absl::StatusCode::kOk, /*reached_backend=*/true, "");
    auto headers = cleared;
    net::post(self->stream_.get_executor(), [self, headers = std::move(headers)]() mutable {
      auto res = std::make_shared<http::response<http::string_body>>(
          http::status::no_content, self->version_ == 0 ? 11 : self->version_);
      res->set(http::field::cache_control, "no-store");
      for (auto& [k, v] : headers) res->set(k, v);
      self->Send(std::move(res), /*close=*/false);
    });
  });
  if (!queued) {
    SendHttpError(503, absl::UnavailableError("the gateway is overloaded or stopping; retry"),
                  {{"Retry-After", "1"}});
  }
}

std::optional<Session::WebCookie> Session::WebCookieOf(const http::request<http::string_body>& req,
                                                       std::string_view method) {
  if (server_->options_.web_sessions == nullptr) return std::nullopt;
  WebCookie web;
  web.cookie = CookieValue(req, kWebSessionCookie);
  if (web.cookie.empty()) return std::nullopt;
  web.csrf = std::string(Sv(req[kCsrfHeader]));
  web.needs_csrf = method != "GET" && method != "HEAD";
  if (!origin_.empty()) {
    const std::string own =
        absl::StrCat(stream_.tls() ? "https://" : "http://", AbslView(Sv(req[http::field::host])));
    if (origin_ != own) {
      web.origin = absl::PermissionDeniedError(absl::StrCat(
          "the Origin header ", Excerpt(origin_),
          " is not this gateway's own origin: the session works only from the web front"));
    }
  }
  return web;
}

void Session::GateWithCookie(const WebCookie& web, const RouteMatch& match, std::string query,
                             std::string body,
                             std::vector<std::pair<std::string, std::string>> credentials,
                             absl::Duration timeout) {
  absl::StatusOr<WebSession> session = server_->options_.web_sessions->Resume(web.cookie);
  if (!session.ok()) {
    if (session.status().code() != absl::StatusCode::kUnauthenticated) {
      return PostError(session.status(), {});
    }
    // The answer clears the cookie (Decorate). A session that is gone (expired, signed out)
    // leaves a public caller: the public pages keep working for a browser that still holds
    // an old cookie, and what needs credentials says so. A key refused now (revoked) is 401.
    clear_web_cookie_ = true;
    if (!IsNoWebSession(session.status())) {
      return PostError(session.status(), {});
    }
    return Gate(match, std::move(query), std::move(body), std::move(credentials), timeout);
  }
  if (web.needs_csrf) {
    absl::Status allowed =
        web.origin.ok() ? WebSessions::CheckCsrf(*session, web.csrf) : web.origin;
    if (!allowed.ok()) {
      // Refused as the gate refuses: audited, nothing reaches the backend.
      CallInfo info;
      info.method = match.route->full_method;
      info.peer = peer_;
      info.request_id = request_id_;
      info.principal = session->principal;
      server_->proxy_->Audit(info, allowed.code(), /*reached_backend=*/false, "");
      return PostError(allowed, {});
    }
  }
  credentials.emplace_back("authorization", absl::StrCat("Bearer ", session->api_key));
  Gate(match, std::move(query), std::move(body), std::move(credentials), timeout);
}

}  // namespace simpul::gateway::rest
