// StandardsRegistry is the domain logic of simpul-registry: authorization, validation, the
// standard and maklumat lifecycles, optimistic concurrency, the completeness score and the
// public view. It knows nothing of gRPC; the adapter in grpc_service.h calls it with the
// caller's verified identity.
#ifndef SIMPUL_SERVICES_REGISTRY_REGISTRY_H_
#define SIMPUL_SERVICES_REGISTRY_REGISTRY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/clock.h"
#include "common/identity.h"
#include "services/registry/snapshot.h"
#include "services/registry/store.h"

namespace simpul::registry {

struct RegistryOptions {
  // Months between periodic reviews of an adopted standard (PermenPANRB 15/2014 practice: 12).
  int review_interval_months = 12;
  // How often a commit is retried when an object the caller did not name changed meanwhile.
  int max_commit_attempts = 5;
  // How far back an anonymous caller may replay the change feed (WatchStandards): from a
  // cursor less than public_replay_window old, or an older one with at most
  // public_replay_max_events events after it (an idle watcher catching up); anything else is
  // OUT_OF_RANGE, and "0" starts public_replay_window ago. A zero window: no bound. Callers
  // with an identity (agency systems, dashboards with a key) replay the whole retained feed.
  absl::Duration public_replay_window = absl::Hours(1);
  int public_replay_max_events = 1000;
};

class StandardsRegistry {
 public:
  StandardsRegistry(RegistryStore& store, const Clock& clock, RegistryOptions options);

  // AttachSnapshot makes GetCurrentStandard and the default (ADOPTED) SearchStandards answer
  // from `snapshot` while it is serving, and applies every commit to it before the call
  // answers (read-your-writes on this replica). `snapshot` must outlive this object.
  void AttachSnapshot(RegistrySnapshot* snapshot) { snapshot_ = snapshot; }

  using Id = Identity;
  absl::StatusOr<v1::CreateAgencyResponse> CreateAgency(const Id& caller,
                                                        const v1::CreateAgencyRequest& req);
  absl::StatusOr<v1::GetAgencyResponse> GetAgency(const Id& caller,
                                                  const v1::GetAgencyRequest& req);
  absl::StatusOr<v1::UpdateAgencyResponse> UpdateAgency(const Id& caller,
                                                        const v1::UpdateAgencyRequest& req);
  absl::StatusOr<v1::ListAgenciesResponse> ListAgencies(const Id& caller,
                                                        const v1::ListAgenciesRequest& req);

  absl::StatusOr<v1::CreateServiceUnitResponse> CreateServiceUnit(
      const Id& caller, const v1::CreateServiceUnitRequest& req);
  absl::StatusOr<v1::GetServiceUnitResponse> GetServiceUnit(const Id& caller,
                                                            const v1::GetServiceUnitRequest& req);
  absl::StatusOr<v1::UpdateServiceUnitResponse> UpdateServiceUnit(
      const Id& caller, const v1::UpdateServiceUnitRequest& req);
  absl::StatusOr<v1::ListServiceUnitsResponse> ListServiceUnits(
      const Id& caller, const v1::ListServiceUnitsRequest& req);

  absl::StatusOr<v1::CreateServiceResponse> CreateService(const Id& caller,
                                                          const v1::CreateServiceRequest& req);
  absl::StatusOr<v1::GetServiceResponse> GetService(const Id& caller,
                                                    const v1::GetServiceRequest& req);
  absl::StatusOr<v1::UpdateServiceResponse> UpdateService(const Id& caller,
                                                          const v1::UpdateServiceRequest& req);
  absl::StatusOr<v1::ListServicesResponse> ListServices(const Id& caller,
                                                        const v1::ListServicesRequest& req);

  absl::StatusOr<v1::CreateStandardVersionResponse> CreateStandardVersion(
      const Id& caller, const v1::CreateStandardVersionRequest& req);
  absl::StatusOr<v1::GetStandardVersionResponse> GetStandardVersion(
      const Id& caller, const v1::GetStandardVersionRequest& req);
  absl::StatusOr<v1::UpdateStandardDraftResponse> UpdateStandardDraft(
      const Id& caller, const v1::UpdateStandardDraftRequest& req);
  absl::StatusOr<v1::StartPublicConsultationResponse> StartPublicConsultation(
      const Id& caller, const v1::StartPublicConsultationRequest& req);
  absl::StatusOr<v1::RecordConsultationResponse> RecordConsultation(
      const Id& caller, const v1::RecordConsultationRequest& req);
  absl::StatusOr<v1::AdoptStandardVersionResponse> AdoptStandardVersion(
      const Id& caller, const v1::AdoptStandardVersionRequest& req);
  absl::StatusOr<v1::WithdrawStandardVersionResponse> WithdrawStandardVersion(
      const Id& caller, const v1::WithdrawStandardVersionRequest& req);
  absl::StatusOr<v1::RecordStandardReviewResponse> RecordStandardReview(
      const Id& caller, const v1::RecordStandardReviewRequest& req);
  absl::StatusOr<v1::GetCurrentStandardResponse> GetCurrentStandard(
      const Id& caller, const v1::GetCurrentStandardRequest& req);
  // The same two calls answered from the attached snapshot only, as the serialized response
  // message: nullopt when it cannot answer (none attached, not serving, states other than
  // ADOPTED asked for), then the methods above answer from the store. They never touch the
  // store, so they may run on a gRPC callback thread. The *FromSnapshot forms parse the bytes.
  std::optional<absl::StatusOr<std::string>> GetCurrentStandardBytes(
      const Id& caller, const v1::GetCurrentStandardRequest& req) const;
  std::optional<absl::StatusOr<std::string>> SearchStandardsBytes(
      const Id& caller, const v1::SearchStandardsRequest& req) const;
  std::optional<absl::StatusOr<v1::GetCurrentStandardResponse>> GetCurrentStandardFromSnapshot(
      const Id& caller, const v1::GetCurrentStandardRequest& req) const;
  std::optional<absl::StatusOr<v1::SearchStandardsResponse>> SearchStandardsFromSnapshot(
      const Id& caller, const v1::SearchStandardsRequest& req) const;
  absl::StatusOr<v1::ListStandardVersionsResponse> ListStandardVersions(
      const Id& caller, const v1::ListStandardVersionsRequest& req);
  absl::StatusOr<v1::SearchStandardsResponse> SearchStandards(
      const Id& caller, const v1::SearchStandardsRequest& req);
  absl::StatusOr<v1::ListReviewOverdueResponse> ListReviewOverdue(
      const Id& caller, const v1::ListReviewOverdueRequest& req);
  absl::StatusOr<v1::GetCompletenessResponse> GetCompleteness(
      const Id& caller, const v1::GetCompletenessRequest& req);

  absl::StatusOr<v1::CreateMaklumatDraftResponse> CreateMaklumatDraft(
      const Id& caller, const v1::CreateMaklumatDraftRequest& req);
  absl::StatusOr<v1::UpdateMaklumatDraftResponse> UpdateMaklumatDraft(
      const Id& caller, const v1::UpdateMaklumatDraftRequest& req);
  absl::StatusOr<v1::AdoptMaklumatResponse> AdoptMaklumat(const Id& caller,
                                                          const v1::AdoptMaklumatRequest& req);
  absl::StatusOr<v1::PublishMaklumatResponse> PublishMaklumat(
      const Id& caller, const v1::PublishMaklumatRequest& req);
  absl::StatusOr<v1::GetMaklumatResponse> GetMaklumat(const Id& caller,
                                                      const v1::GetMaklumatRequest& req);
  absl::StatusOr<v1::ListMaklumatResponse> ListMaklumat(const Id& caller,
                                                        const v1::ListMaklumatRequest& req);

  // ValidateWatch checks a WatchStandards request before streaming starts.
  absl::Status ValidateWatch(const v1::WatchStandardsRequest& req) const;
  // ReplayFrom applies the public replay bound to a validated request's cursor and returns the
  // cursor the watch starts after: the request's own, or for an anonymous caller asking for
  // "0" the position public_replay_window ago ("<ms>-0", maybe ahead of the feed's newest
  // event: then start from the newest). OUT_OF_RANGE for an anonymous caller's cursor older
  // than the window with more than public_replay_max_events after it (re-read with the List
  // RPCs and watch from now, as for a trimmed cursor). It may read the feed (run it off the
  // gRPC threads).
  absl::StatusOr<std::string> ReplayFrom(const Id& caller,
                                         const v1::WatchStandardsRequest& req) const;
  // ViewForWatch returns the event as `caller` may see it, or nullopt when nothing of it is
  // visible or it does not match the request's filters. Objects the caller may not see are
  // dropped; standard versions get the caller's view.
  std::optional<v1::ChangeEvent> ViewForWatch(const Id& caller,
                                              const v1::WatchStandardsRequest& req,
                                              const v1::ChangeEvent& event) const;

  // Today in WIB (UTC+7), the date used for "not in the future" and review-overdue checks.
  absl::CivilDay Today() const;

 private:
  // A planned commit: the objects to write and the index of the one whose expected revision
  // the caller supplied (-1: none), so a conflict on it is reported as ABORTED while
  // conflicts on other objects are retried.
  struct Plan {
    std::vector<ObjectWrite> writes;
    int caller_index = -1;
    std::string caller_what;            // e.g. "standard version x.v2", for the ABORTED message
    bool creates_named_object = false;  // a conflict on writes[0] means ALREADY_EXISTS
  };
  absl::StatusOr<Plan> Commit(const Id& caller, const std::string& action,
                              const std::function<absl::StatusOr<Plan>()>& plan);

  // Who may make a lifecycle change: an agency operator (or admin), an admin only, or an
  // admin only when the version is ADOPTED.
  enum class Permission { kOperator, kAdmin, kAdminIfAdopted };
  // A change to one version (or maklumat) the caller names by id and expected revision. It
  // checks the state, changes the object and may append further writes to the plan.
  using VersionChange = std::function<absl::Status(v1::StandardVersion&, Plan&,
                                                   const google::protobuf::Timestamp& now)>;
  using MaklumatChange =
      std::function<absl::Status(v1::Maklumat&, Plan&, const google::protobuf::Timestamp& now)>;
  absl::StatusOr<Plan> ChangeVersion(const Id& caller, const std::string& action,
                                     const std::string& id, int64_t expected_revision,
                                     Permission permission, const VersionChange& change);
  absl::StatusOr<Plan> ChangeMaklumat(const Id& caller, const std::string& action,
                                      const std::string& id, int64_t expected_revision,
                                      Permission permission, const MaklumatChange& change);

  // A validated SearchStandards request: the store query, its page-token binding, where the
  // page starts and its size.
  struct SearchPlan {
    StandardQuery query;
    std::string canonical;
    std::string after;
    int size = 0;
  };
  absl::StatusOr<SearchPlan> PlanSearch(const Id& caller,
                                        const v1::SearchStandardsRequest& req) const;

  absl::StatusOr<v1::Agency> LoadAgency(absl::string_view id);
  absl::StatusOr<v1::ServiceUnit> LoadUnit(absl::string_view id);
  absl::StatusOr<v1::Service> LoadService(absl::string_view id);
  // LoadVersion fails with NOT_FOUND also when the caller may not see the version.
  absl::StatusOr<v1::StandardVersion> LoadVersion(const Id& caller, absl::string_view id);
  absl::StatusOr<v1::Maklumat> LoadMaklumat(const Id& caller, absl::string_view id);

  bool CanSeeInternal(const Id& caller, absl::string_view agency_id) const;
  bool VersionVisible(const Id& caller, const v1::StandardVersion& version) const;
  v1::StandardVersion Present(const Id& caller, v1::StandardVersion version) const;
  bool MaklumatVisible(const Id& caller, const v1::Maklumat& maklumat) const;

  google::protobuf::Timestamp NowProto() const;
  common::v1::Date ReviewDue(const common::v1::Date& from) const;

  RegistryStore& store_;
  const Clock& clock_;
  RegistryOptions options_;
  RegistrySnapshot* snapshot_ = nullptr;
};

// Authorization outcomes shared by the registry's checks: UNAUTHENTICATED for public callers,
// PERMISSION_DENIED for authenticated callers without the right.
absl::Status RequireAgencyRole(const Identity& caller, absl::string_view agency_id, bool admin_only,
                               absl::string_view action);

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_REGISTRY_H_
