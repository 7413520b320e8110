// FakeRegistryStore is an in-memory RegistryStore for unit tests of the domain logic: it keeps
// objects in ordered maps, answers listings by scanning, and keeps the whole change feed.
#ifndef SIMPUL_TESTS_TESTING_FAKE_REGISTRY_STORE_H_
#define SIMPUL_TESTS_TESTING_FAKE_REGISTRY_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/registry/store.h"

namespace simpul::testing {

class FakeRegistryStore final : public registry::RegistryStore {
 public:
  absl::StatusOr<registry::CommitResult> Commit(const std::vector<registry::ObjectWrite>& writes,
                                                registry::v1::ChangeEvent event) override;
  absl::StatusOr<std::optional<registry::v1::Agency>> GetAgency(std::string_view id) override;
  absl::StatusOr<std::optional<registry::v1::ServiceUnit>> GetUnit(std::string_view id) override;
  absl::StatusOr<std::optional<registry::v1::Service>> GetService(std::string_view id) override;
  absl::StatusOr<std::optional<registry::v1::StandardVersion>> GetStandardVersion(
      std::string_view id) override;
  absl::StatusOr<std::optional<registry::v1::Maklumat>> GetMaklumat(std::string_view id) override;
  absl::StatusOr<std::vector<registry::v1::Agency>> ListAgencies(
      const registry::AgencyFilter& filter, std::string_view after_id, int limit) override;
  absl::StatusOr<std::vector<registry::v1::ServiceUnit>> ListUnits(
      const registry::UnitFilter& filter, std::string_view after_id, int limit) override;
  absl::StatusOr<std::vector<registry::v1::Service>> ListServices(
      const registry::ServiceFilter& filter, std::string_view after_id, int limit) override;
  absl::StatusOr<std::vector<registry::v1::StandardVersion>> SearchStandards(
      const registry::StandardQuery& query, std::string_view after_id, int limit) override;
  absl::StatusOr<std::vector<registry::v1::StandardVersion>> ListServiceVersions(
      std::string_view service_id, int after_number, int limit) override;
  absl::StatusOr<std::vector<registry::v1::Maklumat>> ListUnitMaklumat(std::string_view unit_id,
                                                                       int after_number,
                                                                       int limit) override;
  absl::StatusOr<std::vector<registry::v1::StandardVersion>> ListReviewDue(
      std::string_view agency_id, int64_t before_day,
      const std::optional<registry::ReviewDueKey>& after, int limit) override;
  absl::StatusOr<std::vector<registry::v1::ChangeEvent>> ReadChanges(std::string_view after_cursor,
                                                                     int limit,
                                                                     absl::Duration block) override;
  absl::StatusOr<std::string> LatestCursor() override;

  // Events committed so far.
  std::vector<registry::v1::ChangeEvent> events();
  // FailNextCommits makes the next `n` commits fail with UNAVAILABLE.
  void FailNextCommits(int n);

 private:
  absl::Mutex mu_;
  std::map<std::string, registry::v1::Agency, std::less<>> agencies_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, registry::v1::ServiceUnit, std::less<>> units_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, registry::v1::Service, std::less<>> services_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, registry::v1::StandardVersion, std::less<>> versions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, registry::v1::Maklumat, std::less<>> maklumat_ ABSL_GUARDED_BY(mu_);
  std::vector<registry::v1::ChangeEvent> feed_ ABSL_GUARDED_BY(mu_);
  int fail_commits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_FAKE_REGISTRY_STORE_H_
