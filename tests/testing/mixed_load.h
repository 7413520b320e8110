// MixedLoad is the mixed load of the soak (bench/soak) and of the chaos tests: an open-loop
// generator that sends, through one or more gateways, complaint filings (a unique idempotency
// key each), lifecycle actions on the cases it filed (verify, dispose, start work, follow up,
// complete, each with the expected revision), survey responses (a unique key each) and public
// registry reads, at a fixed rate with fixed shares, while keeping WatchStandards streams open.
// It retries a call that fails UNAVAILABLE or DEADLINE_EXCEEDED with the same request, keeps
// the log of every acknowledged call (what chaos checks against), counts errors by kind and
// gives p50/p99 latency per time window (what the soak prints each minute).
//
//     auto setup = PrepareLoad(*cluster);             // seeds the registry, issues API keys
//     MixedLoadOptions options{.gateways = {cluster->gateway().address()}};
//     options.callers = setup->callers;
//     options.seed = setup->seed;
//     auto load = MixedLoad::Start(options);
//     ...
//     (*load)->Stop();
//     EXPECT_EQ((*load)->Errors().total(), 0);
//
// The gateway must let the load through its rate limits: start it with LoadGatewayFlags().
#ifndef SIMPUL_TESTS_TESTING_MIXED_LOAD_H_
#define SIMPUL_TESTS_TESTING_MIXED_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/identity_tokens.h"
#include "tests/testing/service_cluster.h"

namespace simpul::gateway {
class ApiKeyStore;
}

namespace simpul::testing {

// LoadCallers are the credentials the load acts with (API keys, sent to the gateway): a
// complaint channel scoped to the seeded agency (files), an admin of that agency (lifecycle
// actions, and the reads that confirm an ambiguous action), an admin of that agency that
// submits survey responses, and `reader` for the registry reads and the watch streams (the
// public by default).
struct LoadCallers {
  Caller channel;
  Caller officer;
  Caller surveys;
  Caller reader{"public", "", false};
};

// LoadSeed is what the load files against and reads: an agency, its units, and one service of
// each unit with an adopted standard (service_ids[i] belongs to unit_ids[i]).
struct LoadSeed {
  std::string agency_id;
  std::vector<std::string> unit_ids;
  std::vector<std::string> service_ids;
};

// SeedForLoad creates, through `registry` (a stub on a gateway) as `root` (a platform admin),
// the agency "<prefix>-agency" with `services` units and services, each with an adopted
// standard. The first failing call's status is returned, naming the call.
absl::StatusOr<LoadSeed> SeedForLoad(registry::v1::Registry::Stub* registry, const Caller& root,
                                     const std::string& prefix = "load", int services = 2);

// IssueLoadCallers issues the API keys of LoadCallers for `seed` into `keys`.
absl::StatusOr<LoadCallers> IssueLoadCallers(gateway::ApiKeyStore& keys, const LoadSeed& seed);

// LoadSetup is everything PrepareLoad made.
struct LoadSetup {
  Caller root;  // a platform-admin API key
  LoadSeed seed;
  LoadCallers callers;
};

// PrepareLoad issues a platform-admin key into the cluster's Redis, seeds the registry through
// the cluster's (first) gateway, which must be running, with `services` units and services
// (SeedForLoad), and issues the load's keys.
absl::StatusOr<LoadSetup> PrepareLoad(ServiceCluster& cluster, const std::string& prefix = "load",
                                      int services = 2);

// LoadGatewayFlags are the gateway flags that keep its rate limits out of the load's way
// (every role 100,000 calls/s): start the gateways the load goes through with them.
std::vector<std::string> LoadGatewayFlags();

struct MixedLoadOptions {
  // gateways are the gRPC addresses ("127.0.0.1:port") of the gateways; successive calls, and
  // the attempts of one call, alternate between them.
  std::vector<std::string> gateways;
  // credentials of the channels to the gateways; null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  LoadCallers callers;
  LoadSeed seed;
  // calls_per_second of all kinds together, on a fixed schedule (open loop): a call is due at
  // start + n / calls_per_second whether or not earlier calls have answered.
  double calls_per_second = 50;
  // Shares of each kind, in a fixed interleaved order (smooth weighted round robin). An action
  // due while no filed case is waiting for one is made a read instead.
  double filings = 0.3, actions = 0.3, surveys = 0.2, reads = 0.2;
  // registry_writes: share of UpdateService calls (as the officer, with the expected revision,
  // a new description each) on the first seeded service, so that the watch streams get events
  // (whose order they check). One at a time: one due while another runs is made a read.
  double registry_writes = 0;
  // watch_streams WatchStandards streams are kept open (reopened from their last cursor).
  int watch_streams = 1;
  absl::Duration call_deadline = absl::Seconds(5);
  // A call failing UNAVAILABLE or DEADLINE_EXCEEDED is retried with the same request (same
  // idempotency key, same expected revision) up to max_attempts attempts in all, while less
  // than retry_budget has passed since its first attempt, with a backoff of 50 ms doubling to
  // 1 s between attempts.
  int max_attempts = 20;
  absl::Duration retry_budget = absl::Seconds(30);
  // window is the length of one stats window (soak: 1 minute; chaos: 1 s).
  absl::Duration window = absl::Minutes(1);
  // max_in_flight calls at once (one client thread each); a call due while that many are in
  // flight is not sent and counted as shed.
  int max_in_flight = 64;
  // keep_acks: keep the log of acknowledged calls (Acks()); off for long soaks.
  bool keep_acks = true;
};

// Ack is one acknowledged call.
struct Ack {
  enum Kind { kFiling = 0, kAction = 1, kSurvey = 2, kRead = 3, kRegistryWrite = 4 };
  Kind kind;
  // filing and survey: the idempotency key; action: "<tracking code>/<method>" (e.g.
  // "7KQ2M-XW9DT/VerifyComplaint"); read: the service id read; registry write: the service id
  // and the description written ("<service>/<description>").
  std::string key;
  std::string tracking_code;  // filings and actions
  // state_after: the case's state after a filing or action (e.g. "VERIFIED"); a survey's
  // "applied" or "repeated".
  std::string state_after;
  // revision_after: the case's revision after an action (1 after a filing); the service's
  // after a registry write.
  int64_t revision_after = 0;
  absl::Time sent;   // when the call was due (open-loop schedule)
  absl::Time acked;  // when its answer arrived
  int attempts = 1;
  // confirmed_by_read: an attempt may have committed before failing UNAVAILABLE or
  // DEADLINE_EXCEEDED, and the retry then met ABORTED or FAILED_PRECONDITION; a read of the
  // case showed the action applied exactly once (state and revision), so it counts as acked.
  bool confirmed_by_read = false;
};

const char* AckKindName(Ack::Kind kind);

// LoadErrors counts what went wrong. Final failures: `non_retryable` (a call answered with any
// code other than UNAVAILABLE or DEADLINE_EXCEEDED, including an action's ABORTED or
// FAILED_PRECONDITION that a read could not explain as its own earlier attempt) and
// `exhausted` (still UNAVAILABLE / DEADLINE_EXCEEDED after max_attempts or retry_budget).
// `wrong_data`: an OK answer with the wrong content (another case or service, a state or
// revision other than the action's, a survey neither applied nor repeated, a watch event whose
// cursor is not after the previous one). `shed` calls were due but not sent (max_in_flight).
// attempt_errors counts every failed attempt (retried or not) by status code, the watch
// streams' ends included.
struct LoadErrors {
  int64_t non_retryable = 0;
  int64_t exhausted = 0;
  int64_t wrong_data = 0;
  int64_t shed = 0;
  std::map<grpc::StatusCode, int64_t> attempt_errors;
  std::vector<std::string> samples;  // the first 20 final failures and wrong data, described
  // last_attempt_error: the message of the latest failed attempt of each code, with its time.
  std::map<grpc::StatusCode, std::string> last_attempt_error;
  // total: the calls that failed or answered wrong (shed calls were never sent: not counted).
  int64_t total() const { return non_retryable + exhausted + wrong_data; }
};

// WindowStats are the calls that ended (acknowledged or failed for good) in one window.
struct WindowStats {
  absl::Time start;
  int64_t calls = 0;   // ended in the window
  int64_t errors = 0;  // final failures and wrong data among them
  int64_t shed = 0;    // calls due in the window but not sent (max_in_flight)
  double p50_ms = 0, p99_ms = 0, max_ms = 0;  // acknowledged calls, from due time to answer
  std::map<grpc::StatusCode, int64_t> attempt_errors;
};

// LoadTotals are counts since the start.
struct LoadTotals {
  int64_t due = 0;                     // calls the schedule made due
  int64_t acked[5] = {0, 0, 0, 0, 0};  // by Ack::Kind
  int64_t abandoned = 0;               // still retrying when Stop was called (not errors)
  int64_t watch_events = 0;
  int64_t watch_opens = 0;  // stream opens, the first ones included
  int64_t cases_open = 0;   // filed cases not yet COMPLETED
  int64_t acked_total() const { return acked[0] + acked[1] + acked[2] + acked[3] + acked[4]; }
};

class MixedLoad {
 public:
  // Start checks the options (INVALID_ARGUMENT naming the field) and starts the load.
  static absl::StatusOr<std::unique_ptr<MixedLoad>> Start(MixedLoadOptions options);
  ~MixedLoad();  // Stop()

  // Stop stops scheduling, ends the watch streams, lets no call retry any more and waits for
  // the calls in flight (at most call_deadline). Idempotent.
  void Stop();

  std::vector<Ack> Acks() const;  // every acknowledged call so far (keep_acks)
  LoadErrors Errors() const;
  LoadTotals Totals() const;
  // Windows are the windows that have ended, oldest first (windows in which nothing ended
  // included, with zero calls).
  std::vector<WindowStats> Windows() const;
  // Overall are the stats of every call that has ended since the start (start: the load's).
  WindowStats Overall() const;
  // FirstWriteAckAfter is when the first write (filing, action, survey) due after `t` was
  // acknowledged (the earliest answer among them), if any was (keep_acks).
  std::optional<absl::Time> FirstWriteAckAfter(absl::Time t) const;

 private:
  struct Case {
    std::string code;
    complaints::v1::State state;
    int64_t revision;
  };
  struct Job {
    Ack::Kind kind;
    absl::Time due;
  };
  struct Window {
    int64_t calls = 0, errors = 0, shed = 0;
    std::vector<double> latencies_ms;
    std::map<grpc::StatusCode, int64_t> attempt_errors;
  };
  // Outcome of one logical call (its attempts).
  struct Outcome {
    enum Result { kAcked, kFailed, kWrongData, kAbandoned };
    Result result = kFailed;
    bool exhausted = false;  // kFailed: retryable codes until the end
    std::string what;        // kFailed / kWrongData: description
  };
  struct Channel {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<complaints::v1::Complaints::Stub> complaints;
    std::unique_ptr<monitoring::v1::Monitoring::Stub> monitoring;
    std::unique_ptr<registry::v1::Registry::Stub> registry;
  };

  explicit MixedLoad(MixedLoadOptions options);
  void Schedule();
  void Work();
  void Watch(int stream);
  void Run(const Job& job);
  // WithRetries runs `call` (one attempt on the given channel with a context for `who`,
  // returning its status) with the retries of the options; the status of the last attempt.
  grpc::Status WithRetries(const Caller& who,
                           const std::function<grpc::Status(Channel&, grpc::ClientContext*)>& call,
                           int* attempts, bool* ambiguous, bool* abandoned);
  Outcome File(const Job& job, Ack* ack);
  Outcome Act(const Job& job, Ack* ack, bool* no_case);
  Outcome Survey(const Job& job, Ack* ack);
  Outcome Read(const Job& job, Ack* ack);
  Outcome WriteRegistry(const Job& job, Ack* ack, bool* busy);
  std::unique_ptr<grpc::ClientContext> Context(const Caller& who) const;
  Channel& NextChannel();
  void RecordAttemptError(const grpc::Status& status);
  void Record(const Job& job, const Outcome& outcome, Ack ack);
  int64_t WindowIndex(absl::Time t) const;

  const MixedLoadOptions options_;
  const std::string run_id_;  // distinguishes this load's idempotency keys
  absl::Time start_;
  std::vector<Channel> channels_;
  std::atomic<uint64_t> next_channel_{0};
  std::atomic<uint64_t> next_key_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};

  std::thread scheduler_;
  std::vector<std::thread> workers_;
  std::vector<std::thread> watchers_;

  mutable absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<Case> cases_ ABSL_GUARDED_BY(mu_);  // filed, not COMPLETED, not being acted on
  int64_t cases_busy_ ABSL_GUARDED_BY(mu_) = 0;
  bool registry_write_busy_ ABSL_GUARDED_BY(mu_) = false;
  // edited_service_: service_ids[0] as the last registry write left it (revision 0: not read).
  registry::v1::Service edited_service_ ABSL_GUARDED_BY(mu_);
  std::vector<Ack> acks_ ABSL_GUARDED_BY(mu_);
  LoadErrors errors_ ABSL_GUARDED_BY(mu_);
  LoadTotals totals_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, Window> windows_ ABSL_GUARDED_BY(mu_);
  std::vector<grpc::ClientContext*> watch_contexts_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_MIXED_LOAD_H_
