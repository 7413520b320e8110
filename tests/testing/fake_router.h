// FakeRouter is an in-memory Router (clients/registry/router.h) for unit tests and benches:
// it resolves services, units and agencies from maps filled by the test, and can be switched to
// answer every call with UNAVAILABLE, as when the registry cannot be reached.
#ifndef SIMPUL_TESTS_TESTING_FAKE_ROUTER_H_
#define SIMPUL_TESTS_TESTING_FAKE_ROUTER_H_

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "clients/registry/router.h"

namespace simpul::testing {

class FakeRouter final : public clients::registry::Router {
 public:
  // AddService makes `route.service_id` resolve to `route`.
  void AddService(clients::registry::Route route);
  // AddUnit makes `route.unit_id` resolve to `route` and its agency exist.
  void AddUnit(clients::registry::Route route);
  // AddAgency makes an agency exist (one without units), in sandbox or not.
  void AddAgency(std::string agency_id, bool sandbox = false);
  // SetUnavailable makes every call fail with UNAVAILABLE until it is called with false.
  void SetUnavailable(bool unavailable);

  // ResolveService and ResolveUnit answer NOT_FOUND for what was not added.
  absl::StatusOr<clients::registry::Route> ResolveService(std::string_view service_id) override;
  absl::StatusOr<clients::registry::Route> ResolveUnit(std::string_view unit_id) override;
  absl::StatusOr<bool> AgencyExists(std::string_view agency_id) override;
  absl::StatusOr<clients::registry::Route> ResolveAgency(std::string_view agency_id) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, clients::registry::Route, std::less<>> services_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, clients::registry::Route, std::less<>> units_ ABSL_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> agencies_ ABSL_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> sandbox_agencies_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_FAKE_ROUTER_H_
