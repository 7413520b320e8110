// FakeRegistryStore is an in-memory RegistryStore for unit tests of the domain logic: it keeps
// objects in ordered maps, answers listings by scanning, and keeps the whole change feed.
#ifndef SIMPUL_TESTS_REGISTRY_FAKE_STORE_H_
#define SIMPUL_TESTS_REGISTRY_FAKE_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/registry/store.h"

namespace simpul::registry {

class FakeRegistryStore final : public RegistryStore {
 public:
  absl::StatusOr<CommitResult> Commit(const std::vector<ObjectWrite>& writes,
                                      v1::ChangeEvent event) override;
  absl::StatusOr<std::optional<v1::Agency>> GetAgency(std::string_view id) override;
  absl::StatusOr<std::optional<v1::ServiceUnit>> GetUnit(std::string_view id) override;
  absl::StatusOr<std::optional<v1::Service>> GetService(std::string_view id) override;
  absl::StatusOr<std::optional<v1::StandardVersion>> GetStandardVersion(
      std::string_view id) override;
  absl::StatusOr<std::optional<v1::Maklumat>> GetMaklumat(std::string_view id) override;
  absl::StatusOr<std::vector<v1::Agency>> ListAgencies(const AgencyFilter& filter,
                                                       std::string_view after_id,
                                                       int limit) override;
  absl::StatusOr<std::vector<v1::ServiceUnit>> ListUnits(const UnitFilter& filter,
                                                         std::string_view after_id,
                                                         int limit) override;
  absl::StatusOr<std::vector<v1::Service>> ListServices(const ServiceFilter& filter,
                                                        std::string_view after_id,
                                                        int limit) override;
  absl::StatusOr<std::vector<v1::StandardVersion>> SearchStandards(const StandardQuery& query,
                                                                   std::string_view after_id,
                                                                   int limit) override;
  absl::StatusOr<std::vector<v1::StandardVersion>> ListServiceVersions(std::string_view service_id,
                                                                       int after_number,
                                                                       int limit) override;
  absl::StatusOr<std::vector<v1::Maklumat>> ListUnitMaklumat(std::string_view unit_id,
                                                             int after_number, int limit) override;
  absl::StatusOr<std::vector<v1::StandardVersion>> ListReviewDue(
      std::string_view agency_id, int64_t before_day, const std::optional<ReviewDueKey>& after,
      int limit) override;
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChanges(std::string_view after_cursor, int limit,
                                                           absl::Duration block) override;
  absl::StatusOr<std::string> LatestCursor() override;

  // Events committed so far.
  std::vector<v1::ChangeEvent> events();
  // FailNextCommits makes the next `n` commits fail with UNAVAILABLE.
  void FailNextCommits(int n);

 private:
  absl::Mutex mu_;
  std::map<std::string, v1::Agency, std::less<>> agencies_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::ServiceUnit, std::less<>> units_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::Service, std::less<>> services_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::StandardVersion, std::less<>> versions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::Maklumat, std::less<>> maklumat_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ChangeEvent> feed_ ABSL_GUARDED_BY(mu_);
  int fail_commits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace simpul::registry

#endif  // SIMPUL_TESTS_REGISTRY_FAKE_STORE_H_
