// Shared by the snapshot tests (fake store and Redis): random registry data written straight
// into a store, and the check that a snapshot-backed registry answers as the store does.
#ifndef SIMPUL_TESTS_REGISTRY_REGISTRY_SNAPSHOT_CHECKS_H_
#define SIMPUL_TESTS_REGISTRY_REGISTRY_SNAPSHOT_CHECKS_H_

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/registry/registry.h"
#include "services/registry/snapshot.h"
#include "tests/testing/identities.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::registry::testing {

using ::simpul::testing::CompleteComponents;

inline constexpr const char* kWords[] = {"akta",     "kelahiran", "ktp",   "izin",    "usaha",
                                         "bangunan", "pajak",     "sehat", "sekolah", "nikah"};
inline constexpr const char* kAgencies[] = {"padang-pariaman", "kota-bogor", "kemenkes"};
inline constexpr const char* kRegions[] = {"13.05", "13.05.01", "32.71", "32.71.04", "31"};

inline int64_t RevisionOf(const v1::ChangedObject& o) {
  return o.has_service() ? o.service().revision() : o.standard_version().revision();
}

// Put writes `object` over whatever the store holds (revision + 1).
inline void Put(RegistryStore& store, v1::ChangedObject object) {
  int64_t current = 0;
  if (object.has_service()) {
    auto found = store.GetService(object.service().id());
    ASSERT_TRUE(found.ok());
    if (*found) current = (*found)->revision();
    object.mutable_service()->set_revision(current + 1);
  } else {
    auto found = store.GetStandardVersion(object.standard_version().id());
    ASSERT_TRUE(found.ok());
    if (*found) current = (*found)->revision();
    object.mutable_standard_version()->set_revision(current + 1);
  }
  ASSERT_EQ(RevisionOf(object), current + 1);
  auto result = store.Commit({ObjectWrite{.object = object, .expected_revision = current}},
                             v1::ChangeEvent());
  ASSERT_TRUE(result.ok() && result->committed);
}

// RandomRegistry writes random services and versions into a store and changes them.
class RandomRegistry {
 public:
  RandomRegistry(RegistryStore& store, uint32_t seed) : store_(store), rng_(seed) {}

  std::string Pick(const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng_)];
  }
  template <size_t N>
  std::string Pick(const char* const (&from)[N]) {
    return from[std::uniform_int_distribution<size_t>(0, N - 1)(rng_)];
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string Words(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) absl::StrAppend(&out, i ? " " : "", Pick(kWords));
    return out;
  }

  void Seed(int services, int versions) {
    for (int i = 0; i < services; ++i) {
      v1::Service s;
      s.set_id(absl::StrCat("svc-", i));
      s.set_agency_id(Pick(kAgencies));
      s.set_unit_id(absl::StrCat(s.agency_id(), "-u", Uniform(0, 1)));
      s.set_region_code(Pick(kRegions));
      s.set_name(Words(2));
      services_.push_back(s);
      service_ids_.push_back(s.id());
      v1::ChangedObject o;
      *o.mutable_service() = s;
      Put(store_, o);
    }
    for (int i = 0; i < versions; ++i) ChangeVersion(absl::StrCat("std-", i));
  }

  // ChangeVersion writes a random state and text for version `id`, and points its service at
  // it, away from it, or leaves the service alone.
  void ChangeVersion(const std::string& id) {
    const v1::Service& s = services_[std::hash<std::string>()(id) % services_.size()];
    v1::StandardVersion v;
    v.set_id(id);
    v.set_service_id(s.id());
    v.set_agency_id(s.agency_id());
    v.set_unit_id(s.unit_id());
    v.set_region_code(s.region_code());
    v.set_service_name(Words(Uniform(1, 3)));
    v.set_version_number(1);
    static constexpr v1::StandardState kStates[] = {
        v1::STANDARD_STATE_ADOPTED, v1::STANDARD_STATE_ADOPTED, v1::STANDARD_STATE_SUPERSEDED,
        v1::STANDARD_STATE_DRAFT, v1::STANDARD_STATE_WITHDRAWN};
    v.set_state(kStates[Uniform(0, 4)]);
    *v.mutable_components() = CompleteComponents();
    v.mutable_components()->set_procedure(0, Words(Uniform(1, 4)));
    v1::ChangedObject o;
    *o.mutable_standard_version() = v;
    Put(store_, o);
    auto current = store_.GetService(s.id());
    ASSERT_TRUE(current.ok() && *current);
    v1::ChangedObject so;
    *so.mutable_service() = **current;
    if (v.state() == v1::STANDARD_STATE_ADOPTED && Uniform(0, 2) > 0) {
      so.mutable_service()->set_current_version_id(id);
    } else if (so.service().current_version_id() == id) {
      so.mutable_service()->clear_current_version_id();
    } else {
      return;
    }
    Put(store_, so);
  }

  const std::vector<std::string>& service_ids() const { return service_ids_; }

 private:
  RegistryStore& store_;
  std::mt19937 rng_;
  std::vector<v1::Service> services_;
  std::vector<std::string> service_ids_;
};

inline std::string Describe(const absl::Status& status) {
  return absl::StrCat(static_cast<int>(status.code()), " ", status.message());
}

template <typename Resp>
inline std::string Describe(const absl::StatusOr<Resp>& r) {
  return r.ok() ? r->SerializeAsString() : Describe(r.status());
}

// ExpectSnapshotAnswersEqualStore compares `fast_registry` (snapshot attached) with
// `plain_registry` (none)
// for every service and `searches` random searches by several callers, following every page.
inline void ExpectSnapshotAnswersEqualStore(StandardsRegistry& plain_registry,
                                            StandardsRegistry& fast_registry,
                                            RegistrySnapshot& snapshot, RandomRegistry& random,
                                            int searches) {
  ASSERT_TRUE(snapshot.Serving());
  const Identity callers[] = {Identity::Public(), simpul::testing::AgencyAdmin("kota-bogor"),
                              simpul::testing::PlatformAdmin()};
  std::vector<std::string> ids = random.service_ids();
  ids.push_back("no-such-service");
  ids.push_back("");
  for (const std::string& id : ids) {
    for (const Identity& caller : callers) {
      v1::GetCurrentStandardRequest req;
      req.set_service_id(id);
      auto fast = fast_registry.GetCurrentStandardFromSnapshot(caller, req);
      ASSERT_TRUE(fast.has_value()) << id;
      EXPECT_EQ(Describe(*fast), Describe(plain_registry.GetCurrentStandard(caller, req))) << id;
    }
  }
  for (int i = 0; i < searches; ++i) {
    v1::SearchStandardsRequest req;
    req.set_keyword(random.Words(random.Uniform(0, 2)));
    if (random.Uniform(0, 3) == 0) req.set_agency_id(random.Pick(kAgencies));
    if (random.Uniform(0, 4) == 0) {
      req.set_unit_id(absl::StrCat(random.Pick(kAgencies), "-u", random.Uniform(0, 1)));
    }
    if (random.Uniform(0, 3) == 0) {
      std::string region = random.Pick(kRegions);
      req.set_region_code_prefix(region.substr(0, region.find('.')));
    }
    if (random.Uniform(0, 5) == 0) req.add_states(v1::STANDARD_STATE_ADOPTED);
    req.mutable_page()->set_page_size(random.Uniform(1, 6));
    const Identity& caller = callers[random.Uniform(0, 2)];
    for (int page = 0; page < 100; ++page) {
      auto fast = fast_registry.SearchStandardsFromSnapshot(caller, req);
      ASSERT_TRUE(fast.has_value());
      auto plain = plain_registry.SearchStandards(caller, req);
      ASSERT_EQ(Describe(*fast), Describe(plain)) << req.DebugString();
      if (!plain.ok() || plain->next_page_token().empty()) break;
      req.mutable_page()->set_page_token(plain->next_page_token());
    }
  }
}

}  // namespace simpul::registry::testing

#endif  // SIMPUL_TESTS_REGISTRY_REGISTRY_SNAPSHOT_CHECKS_H_
