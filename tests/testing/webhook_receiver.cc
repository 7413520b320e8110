// A scripted local webhook endpoint (webhook_receiver.h).
#include "tests/testing/webhook_receiver.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace simpul::testing {
namespace {

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebhookReceiver>> WebhookReceiver::Start() {
  std::unique_ptr<WebhookReceiver> r(new WebhookReceiver());
  r->listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (r->listen_fd_ < 0) return absl::InternalError("socket");
  int one = 1;
  ::setsockopt(r->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(r->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(r->listen_fd_, 64) != 0) {
    return absl::InternalError(absl::StrCat("bind/listen: ", std::strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(r->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  r->port_ = ntohs(addr.sin_port);
  WebhookReceiver* self = r.get();
  r->acceptor_ = std::thread([self] { self->AcceptLoop(); });
  return r;
}

WebhookReceiver::~WebhookReceiver() {
  stop_.Notify();
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

std::string WebhookReceiver::url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

void WebhookReceiver::Script(std::vector<Behaviour> next) {
  absl::MutexLock lock(&mu_);
  for (Behaviour b : next) script_.push_back(b);
}
void WebhookReceiver::SetDefault(Behaviour behaviour) {
  absl::MutexLock lock(&mu_);
  default_ = behaviour;
}
void WebhookReceiver::SetSleep(absl::Duration sleep) {
  absl::MutexLock lock(&mu_);
  sleep_ = sleep;
}

void WebhookReceiver::SetRedirect(std::string location) {
  absl::MutexLock lock(&mu_);
  redirect_ = std::move(location);
}

std::vector<WebhookReceiver::Request> WebhookReceiver::requests() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<WebhookReceiver::Request> WebhookReceiver::accepted() {
  std::vector<Request> out;
  for (Request& r : requests()) {
    if (r.answered == Behaviour::kOk) out.push_back(r);
  }
  return out;
}

bool WebhookReceiver::WaitFor(const std::function<bool(const std::vector<Request>&)>& pred,
                              absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const bool ok = pred(requests());
    if (ok || absl::Now() >= deadline) return ok;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void WebhookReceiver::AcceptLoop() {
  while (!stop_.HasBeenNotified()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    absl::MutexLock lock(&mu_);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void WebhookReceiver::Serve(int fd) {
  // Read the head, then Content-Length bytes of body.
  std::string data;
  size_t head_end = std::string::npos;
  size_t want = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  char buf[4096];
  while (absl::Now() < deadline && !stop_.HasBeenNotified()) {
    if (head_end != std::string::npos && data.size() >= head_end + 4 + want) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      for (absl::string_view line : absl::StrSplit(data.substr(0, head_end), "\r\n")) {
        const size_t colon = line.find(':');
        if (colon == absl::string_view::npos) continue;
        if (absl::AsciiStrToLower(line.substr(0, colon)) == "content-length") {
          absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(colon + 1)), &want);
        }
      }
    }
  }
  if (head_end == std::string::npos || data.size() < head_end + 4 + want) {
    ::close(fd);
    return;
  }
  Request req;
  req.received = absl::Now();
  std::vector<std::string> lines = absl::StrSplit(data.substr(0, head_end), "\r\n");
  if (!lines.empty()) {
    std::vector<std::string> parts = absl::StrSplit(lines[0], ' ');
    if (parts.size() >= 2) req.target = parts[1];
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    req.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  req.body = data.substr(head_end + 4, want);
  Behaviour b;
  absl::Duration sleep;
  std::string redirect;
  {
    absl::MutexLock lock(&mu_);
    if (!script_.empty()) {
      b = script_.front();
      script_.pop_front();
    } else {
      b = default_;
    }
    sleep = sleep_;
    redirect = redirect_;
    req.answered = b;
    requests_.push_back(req);
  }
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  switch (b) {
    case Behaviour::kOk:
      SendAll(fd, ok);
      break;
    case Behaviour::kError500:
      SendAll(fd,
              "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: "
              "close\r\n\r\nfail");
      break;
    case Behaviour::kSleep:
      stop_.WaitForNotificationWithTimeout(sleep);
      SendAll(fd, ok);
      break;
    case Behaviour::kCloseEarly:
      break;
    case Behaviour::kRedirect:
      SendAll(fd, absl::StrCat("HTTP/1.1 302 Found\r\nLocation: ", redirect,
                               "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
      break;
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace simpul::testing
