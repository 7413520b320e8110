// WebhookReceiver is a real HTTP/1.1 server on 127.0.0.1 (plain sockets, one thread per
// connection) that stands in for a channel's webhook endpoint in tests. Each request gets the
// next behaviour of its script (then the default): answer 200 or 500, sleep past the sender's
// timeout before answering, close the connection without an answer, or redirect. Every request that
// arrived complete is recorded with its headers and body, whatever the answer was.
#ifndef SIMPUL_TESTS_TESTING_WEBHOOK_RECEIVER_H_
#define SIMPUL_TESTS_TESTING_WEBHOOK_RECEIVER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace simpul::testing {

class WebhookReceiver {
 public:
  enum class Behaviour { kOk, kError500, kSleep, kCloseEarly, kRedirect };
  struct Request {
    std::string target;
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;
    absl::Time received;
    Behaviour answered = Behaviour::kOk;
  };

  // Start listens on 127.0.0.1 on a free port.
  static absl::StatusOr<std::unique_ptr<WebhookReceiver>> Start();
  ~WebhookReceiver();  // stops listening, wakes sleepers, joins every thread

  int port() const { return port_; }
  std::string url(const std::string& path = "/hook") const;

  // Script queues behaviours for the next requests; the default applies after them.
  void Script(std::vector<Behaviour> next);
  void SetDefault(Behaviour behaviour);
  // sleep is how long kSleep waits before answering 200 (default 3 s).
  void SetSleep(absl::Duration sleep);
  // SetRedirect is the Location kRedirect answers 302 with.
  void SetRedirect(std::string location);

  std::vector<Request> requests();
  // accepted are the requests answered 200 at once (kOk; kSleep answers after the sender gave
  // up).
  std::vector<Request> accepted();
  // WaitFor waits until `pred(requests())` holds or `timeout` passes; returns pred's last value.
  bool WaitFor(const std::function<bool(const std::vector<Request>&)>& pred,
               absl::Duration timeout);

 private:
  WebhookReceiver() = default;
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  absl::Notification stop_;
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  std::deque<Behaviour> script_ ABSL_GUARDED_BY(mu_);
  Behaviour default_ ABSL_GUARDED_BY(mu_) = Behaviour::kOk;
  absl::Duration sleep_ ABSL_GUARDED_BY(mu_) = absl::Seconds(3);
  std::string redirect_ ABSL_GUARDED_BY(mu_);
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_WEBHOOK_RECEIVER_H_
