// Integration tests of RedisRegistryStore against a real redis-server started per test.
#include "services/registry/redis_store.h"

#include <algorithm>
#include <atomic>
#include <latch>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_fixture.h"

namespace simpul::registry {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Keys of the documented layout, for checking index contents directly.
constexpr char kBase[] = "simpul:reg:{r}:";

common::v1::Date Date(int y, int m, int d) {
  common::v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

v1::Agency MakeAgency(const std::string& id, v1::AgencyKind kind, const std::string& region) {
  v1::Agency a;
  a.set_id(id);
  a.set_name(absl::StrCat("Agency ", id));
  a.set_kind(kind);
  a.set_region_code(region);
  return a;
}

v1::ServiceUnit MakeUnit(const std::string& id, const std::string& agency,
                         const std::string& region) {
  v1::ServiceUnit u;
  u.set_id(id);
  u.set_agency_id(agency);
  u.set_name(absl::StrCat("Unit ", id));
  u.set_region_code(region);
  u.set_time_zone(common::v1::TIME_ZONE_WIB);
  return u;
}

v1::Service MakeService(const std::string& id, const std::string& unit, const std::string& agency,
                        const std::string& region) {
  v1::Service s;
  s.set_id(id);
  s.set_unit_id(unit);
  s.set_agency_id(agency);
  s.set_region_code(region);
  s.set_name(absl::StrCat("Service ", id));
  return s;
}

v1::StandardVersion MakeVersion(const std::string& service_id, int number, const std::string& unit,
                                const std::string& agency, const std::string& region,
                                v1::StandardState state, const std::string& service_name) {
  v1::StandardVersion v;
  v.set_id(absl::StrCat(service_id, ".v", number));
  v.set_service_id(service_id);
  v.set_unit_id(unit);
  v.set_agency_id(agency);
  v.set_region_code(region);
  v.set_service_name(service_name);
  v.set_version_number(number);
  v.set_state(state);
  return v;
}

v1::Maklumat MakeMaklumat(const std::string& unit, int number) {
  v1::Maklumat m;
  m.set_id(absl::StrCat(unit, ".m", number));
  m.set_unit_id(unit);
  m.set_agency_id("ag-a");
  m.set_version_number(number);
  m.set_state(v1::MAKLUMAT_STATE_DRAFT);
  m.set_text("Kami sanggup menyelenggarakan pelayanan sesuai standar.");
  return m;
}

v1::ChangedObject Obj(const v1::Agency& a) {
  v1::ChangedObject o;
  *o.mutable_agency() = a;
  return o;
}
v1::ChangedObject Obj(const v1::ServiceUnit& u) {
  v1::ChangedObject o;
  *o.mutable_unit() = u;
  return o;
}
v1::ChangedObject Obj(const v1::Service& s) {
  v1::ChangedObject o;
  *o.mutable_service() = s;
  return o;
}
v1::ChangedObject Obj(const v1::StandardVersion& v) {
  v1::ChangedObject o;
  *o.mutable_standard_version() = v;
  return o;
}
v1::ChangedObject Obj(const v1::Maklumat& m) {
  v1::ChangedObject o;
  *o.mutable_maklumat() = m;
  return o;
}

// W is a write of `object` replacing `expected`; the object's revision becomes expected + 1.
template <typename T>
ObjectWrite W(T object, int64_t expected) {
  object.set_revision(expected + 1);
  return ObjectWrite{Obj(object), expected};
}

template <typename T>
std::vector<std::string> Ids(const std::vector<T>& items) {
  std::vector<std::string> ids;
  for (const T& item : items) ids.push_back(item.id());
  return ids;
}

MATCHER_P(EqualsProto, expected, "") { return MessageDifferencer::Equals(arg, expected); }

class RedisStoreTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    pool_ = std::make_unique<RedisPool>(ServerOptions());
    store_ = std::make_unique<RedisRegistryStore>(pool_.get(), RedisRegistryStore::Options{});
  }

  CommitResult MustCommit(std::vector<ObjectWrite> writes, const std::string& action = "Test",
                          RegistryStore* store = nullptr) {
    v1::ChangeEvent event;
    event.set_action(action);
    event.set_actor("tester");
    absl::StatusOr<CommitResult> result =
        (store != nullptr ? store : store_.get())->Commit(writes, event);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return {};
    EXPECT_TRUE(result->committed) << "conflict at " << result->conflict_index;
    return *result;
  }

  bool InIndex(const std::string& suffix, const std::string& member) {
    return !Raw({"ZSCORE", absl::StrCat(kBase, suffix), member}).is_nil();
  }

  long long FeedLength() { return Raw({"XLEN", absl::StrCat(kBase, "feed")}).integer; }

  std::vector<v1::ChangeEvent> ReadAll(std::string_view after = "0") {
    absl::StatusOr<std::vector<v1::ChangeEvent>> events =
        store_->ReadChanges(after, 100000, absl::ZeroDuration());
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<v1::ChangeEvent>{};
  }

  std::unique_ptr<RedisRegistryStore> store_;
};

TEST_F(RedisStoreTest, CommitsAndReadsBackEveryKind) {
  v1::Agency agency = MakeAgency("pemkot-bandung", v1::AGENCY_KIND_CITY, "32.73");
  v1::ServiceUnit unit = MakeUnit("disdukcapil-bdg", "pemkot-bandung", "32.73");
  v1::Service service = MakeService("akta-lahir", "disdukcapil-bdg", "pemkot-bandung", "32.73");
  v1::StandardVersion version = MakeVersion("akta-lahir", 1, "disdukcapil-bdg", "pemkot-bandung",
                                            "32.73", v1::STANDARD_STATE_DRAFT, "Akta Kelahiran");
  version.mutable_components()->add_procedure("Isi formulir F-2.01");
  v1::Maklumat maklumat = MakeMaklumat("disdukcapil-bdg", 1);

  MustCommit({W(agency, 0)});
  MustCommit({W(unit, 0), W(service, 0), W(version, 0), W(maklumat, 0)});

  agency.set_revision(1);
  unit.set_revision(1);
  service.set_revision(1);
  version.set_revision(1);
  maklumat.set_revision(1);
  auto got_agency = store_->GetAgency("pemkot-bandung");
  ASSERT_TRUE(got_agency.ok()) << got_agency.status();
  ASSERT_TRUE(got_agency->has_value());
  EXPECT_THAT(**got_agency, EqualsProto(agency));
  auto got_unit = store_->GetUnit("disdukcapil-bdg");
  ASSERT_TRUE(got_unit.ok() && got_unit->has_value());
  EXPECT_THAT(**got_unit, EqualsProto(unit));
  auto got_service = store_->GetService("akta-lahir");
  ASSERT_TRUE(got_service.ok() && got_service->has_value());
  EXPECT_THAT(**got_service, EqualsProto(service));
  auto got_version = store_->GetStandardVersion("akta-lahir.v1");
  ASSERT_TRUE(got_version.ok() && got_version->has_value());
  EXPECT_THAT(**got_version, EqualsProto(version));
  auto got_maklumat = store_->GetMaklumat("disdukcapil-bdg.m1");
  ASSERT_TRUE(got_maklumat.ok() && got_maklumat->has_value());
  EXPECT_THAT(**got_maklumat, EqualsProto(maklumat));

  auto absent = store_->GetAgency("nobody");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  auto absent_version = store_->GetStandardVersion("akta-lahir.v2");
  ASSERT_TRUE(absent_version.ok());
  EXPECT_FALSE(absent_version->has_value());

  // The layout keeps objects as hashes {rev, pb}.
  RedisReply rev = Raw({"HGET", absl::StrCat(kBase, "agency:pemkot-bandung"), "rev"});
  EXPECT_EQ(rev.str, "1");
}

TEST_F(RedisStoreTest, UpdateBumpsRevisionAndKeepsOneIndexEntry) {
  v1::Agency agency = MakeAgency("kemenkes", v1::AGENCY_KIND_MINISTRY, "");
  MustCommit({W(agency, 0)});
  agency.set_name("Kementerian Kesehatan");
  MustCommit({W(agency, 1)});
  auto got = store_->GetAgency("kemenkes");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->revision(), 2);
  EXPECT_EQ((*got)->name(), "Kementerian Kesehatan");
  auto listed = store_->ListAgencies({}, "", 10);
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(Ids(*listed), ElementsAre("kemenkes"));
}

TEST_F(RedisStoreTest, StaleRevisionConflictChangesNothing) {
  v1::Agency agency = MakeAgency("pemprov-jabar", v1::AGENCY_KIND_PROVINCE, "32");
  MustCommit({W(agency, 0)});
  agency.set_name("Pemerintah Provinsi Jawa Barat");
  MustCommit({W(agency, 1)});
  const long long feed_length = FeedLength();
  auto cursor = store_->LatestCursor();
  ASSERT_TRUE(cursor.ok());

  v1::Agency stale = agency;
  stale.set_kind(v1::AGENCY_KIND_OTHER);
  stale.set_region_code("13.05");
  stale.set_name("Stale");
  v1::ChangeEvent event;
  event.set_action("UpdateAgency");
  auto result = store_->Commit({W(stale, 1)}, event);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->committed);
  EXPECT_EQ(result->conflict_index, 0);
  EXPECT_EQ(result->current_revision, 2);
  EXPECT_TRUE(result->cursor.empty());

  auto got = store_->GetAgency("pemprov-jabar");
  ASSERT_TRUE(got.ok() && got->has_value());
  agency.set_revision(2);
  EXPECT_THAT(**got, EqualsProto(agency));
  EXPECT_TRUE(InIndex("ix:agency:kind:3", "pemprov-jabar"));
  EXPECT_TRUE(InIndex("ix:agency:region:32", "pemprov-jabar"));
  EXPECT_FALSE(InIndex("ix:agency:kind:6", "pemprov-jabar"));
  EXPECT_FALSE(InIndex("ix:agency:region:13", "pemprov-jabar"));
  EXPECT_EQ(FeedLength(), feed_length);
  EXPECT_EQ(*store_->LatestCursor(), *cursor);
}

TEST_F(RedisStoreTest, CreateIfAbsentConflicts) {
  v1::Agency agency = MakeAgency("bpjs", v1::AGENCY_KIND_AGENCY, "");
  MustCommit({W(agency, 0)});
  agency.set_name("Other");
  auto result = store_->Commit({W(agency, 0)}, v1::ChangeEvent());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->committed);
  EXPECT_EQ(result->conflict_index, 0);
  EXPECT_EQ(result->current_revision, 1);
  EXPECT_EQ((*store_->GetAgency("bpjs"))->name(), "Agency bpjs");

  // Expecting a revision of an object that does not exist is a conflict too.
  auto missing =
      store_->Commit({W(MakeAgency("ghost", v1::AGENCY_KIND_OTHER, ""), 3)}, v1::ChangeEvent());
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->committed);
  EXPECT_EQ(missing->current_revision, 0);
  EXPECT_FALSE(store_->GetAgency("ghost")->has_value());
}

TEST_F(RedisStoreTest, MultiObjectCommitIsAllOrNothing) {
  v1::Agency a = MakeAgency("ag-a", v1::AGENCY_KIND_CITY, "32.73");
  MustCommit({W(a, 0)});
  MustCommit({W(a, 1)});
  const long long feed_length = FeedLength();

  v1::Agency b = MakeAgency("ag-b", v1::AGENCY_KIND_CITY, "32.73");
  v1::ServiceUnit u = MakeUnit("unit-b", "ag-b", "32.73");
  v1::Agency a_changed = a;
  a_changed.set_kind(v1::AGENCY_KIND_OTHER);
  auto result = store_->Commit({W(b, 0), W(u, 0), W(a_changed, 1)}, v1::ChangeEvent());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->committed);
  EXPECT_EQ(result->conflict_index, 2);
  EXPECT_EQ(result->current_revision, 2);
  EXPECT_FALSE(store_->GetAgency("ag-b")->has_value());
  EXPECT_FALSE(store_->GetUnit("unit-b")->has_value());
  EXPECT_EQ((*store_->GetAgency("ag-a"))->kind(), v1::AGENCY_KIND_CITY);
  EXPECT_FALSE(InIndex("ix:agency:all", "ag-b"));
  EXPECT_FALSE(InIndex("ix:unit:all", "unit-b"));
  EXPECT_FALSE(InIndex("ix:agency:kind:6", "ag-a"));
  EXPECT_EQ(FeedLength(), feed_length);

  // With the right revision everything applies in one event.
  CommitResult ok = MustCommit({W(b, 0), W(u, 0), W(a_changed, 2)});
  EXPECT_TRUE(store_->GetAgency("ag-b")->has_value());
  EXPECT_TRUE(store_->GetUnit("unit-b")->has_value());
  EXPECT_EQ((*store_->GetAgency("ag-a"))->kind(), v1::AGENCY_KIND_OTHER);
  std::vector<v1::ChangeEvent> events = ReadAll();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().cursor(), ok.cursor);
  EXPECT_EQ(events.back().objects_size(), 3);
}

TEST_F(RedisStoreTest, RejectsMalformedWrites) {
  v1::Agency a = MakeAgency("ag-a", v1::AGENCY_KIND_CITY, "32.73");
  ObjectWrite wrong_revision = W(a, 0);
  wrong_revision.object.mutable_agency()->set_revision(5);
  EXPECT_EQ(store_->Commit({wrong_revision}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Commit({W(a, 0), W(a, 0)}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Commit({ObjectWrite{}}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Commit({W(MakeAgency("", v1::AGENCY_KIND_CITY, ""), 0)}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FeedLength(), 0);
}

TEST_F(RedisStoreTest, IndexesFollowAgencyAndUnitChanges) {
  v1::Agency a = MakeAgency("pemkab-bogor", v1::AGENCY_KIND_REGENCY, "32.01");
  MustCommit({W(a, 0)});
  EXPECT_TRUE(InIndex("ix:agency:region:32", "pemkab-bogor"));
  EXPECT_TRUE(InIndex("ix:agency:region:32.01", "pemkab-bogor"));
  EXPECT_TRUE(InIndex("ix:agency:kind:4", "pemkab-bogor"));

  a.set_kind(v1::AGENCY_KIND_CITY);
  a.set_region_code("13.05");
  MustCommit({W(a, 1)});
  EXPECT_FALSE(InIndex("ix:agency:region:32", "pemkab-bogor"));
  EXPECT_FALSE(InIndex("ix:agency:region:32.01", "pemkab-bogor"));
  EXPECT_FALSE(InIndex("ix:agency:kind:4", "pemkab-bogor"));
  EXPECT_TRUE(InIndex("ix:agency:region:13", "pemkab-bogor"));
  EXPECT_TRUE(InIndex("ix:agency:region:13.05", "pemkab-bogor"));
  EXPECT_TRUE(InIndex("ix:agency:kind:5", "pemkab-bogor"));
  EXPECT_TRUE(InIndex("ix:agency:all", "pemkab-bogor"));
  EXPECT_THAT(Ids(*store_->ListAgencies({"32", v1::AGENCY_KIND_UNSPECIFIED}, "", 10)), IsEmpty());
  EXPECT_THAT(Ids(*store_->ListAgencies({"13.05", v1::AGENCY_KIND_CITY}, "", 10)),
              ElementsAre("pemkab-bogor"));

  v1::ServiceUnit u = MakeUnit("dinkes-bogor", "pemkab-bogor", "32.01.02");
  MustCommit({W(u, 0)});
  u.set_region_code("32.01.05");
  MustCommit({W(u, 1)});
  EXPECT_TRUE(InIndex("ix:unit:region:32", "dinkes-bogor"));
  EXPECT_TRUE(InIndex("ix:unit:region:32.01", "dinkes-bogor"));
  EXPECT_FALSE(InIndex("ix:unit:region:32.01.02", "dinkes-bogor"));
  EXPECT_TRUE(InIndex("ix:unit:region:32.01.05", "dinkes-bogor"));
  EXPECT_THAT(Ids(*store_->ListUnits({"", "32.01.02"}, "", 10)), IsEmpty());
  EXPECT_THAT(Ids(*store_->ListUnits({"pemkab-bogor", "32.01.05"}, "", 10)),
              ElementsAre("dinkes-bogor"));
}

TEST_F(RedisStoreTest, IndexesFollowVersionChanges) {
  v1::StandardVersion v = MakeVersion("izin-usaha", 1, "dpmptsp", "pemkab-bogor", "32.01",
                                      v1::STANDARD_STATE_DRAFT, "Izin Usaha Mikro");
  v.mutable_components()->mutable_fee()->set_note("gratis");
  MustCommit({W(v, 0)});
  EXPECT_TRUE(InIndex("ix:version:state:1", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:kw:mikro", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:kw:gratis", "izin-usaha.v1"));

  // State, region, agency and keywords change.
  v.set_state(v1::STANDARD_STATE_PUBLIC_CONSULTATION);
  v.set_region_code("13.05");
  v.set_agency_id("pemkab-pp");
  v.set_unit_id("dpmptsp-pp");
  v.set_service_name("Izin Usaha Kecil");
  v.mutable_components()->mutable_fee()->clear_note();
  MustCommit({W(v, 1)});
  EXPECT_FALSE(InIndex("ix:version:state:1", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:state:2", "izin-usaha.v1"));
  EXPECT_FALSE(InIndex("ix:version:kw:mikro", "izin-usaha.v1"));
  EXPECT_FALSE(InIndex("ix:version:kw:gratis", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:kw:kecil", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:kw:izin", "izin-usaha.v1"));
  EXPECT_FALSE(InIndex("ix:version:region:32", "izin-usaha.v1"));
  EXPECT_FALSE(InIndex("ix:version:region:32.01", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:region:13.05", "izin-usaha.v1"));
  EXPECT_FALSE(InIndex("ix:version:agency:pemkab-bogor", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:agency:pemkab-pp", "izin-usaha.v1"));
  EXPECT_FALSE(InIndex("ix:version:unit:dpmptsp", "izin-usaha.v1"));
  EXPECT_TRUE(InIndex("ix:version:unit:dpmptsp-pp", "izin-usaha.v1"));
  EXPECT_EQ(Raw({"ZCARD", absl::StrCat(kBase, "ix:version:all")}).integer, 1);

  StandardQuery by_old;
  by_old.keyword_tokens = {"mikro"};
  EXPECT_THAT(*store_->SearchStandards(by_old, "", 10), IsEmpty());
  StandardQuery by_new;
  by_new.agency_id = "pemkab-pp";
  by_new.states = {v1::STANDARD_STATE_PUBLIC_CONSULTATION};
  by_new.keyword_tokens = {"izin", "kecil"};
  EXPECT_THAT(Ids(*store_->SearchStandards(by_new, "", 10)), ElementsAre("izin-usaha.v1"));
}

TEST_F(RedisStoreTest, ListsAgenciesUnitsAndServicesWithFilters) {
  struct A {
    std::string id;
    v1::AgencyKind kind;
    std::string region;
  };
  const std::vector<A> agencies = {
      {"kemenkes", v1::AGENCY_KIND_MINISTRY, ""},
      {"pemprov-jabar", v1::AGENCY_KIND_PROVINCE, "32"},
      {"pemkot-bandung", v1::AGENCY_KIND_CITY, "32.73"},
      {"pemkot-bekasi", v1::AGENCY_KIND_CITY, "32.75"},
      {"pemkab-bogor", v1::AGENCY_KIND_REGENCY, "32.01"},
      {"pemkab-pp", v1::AGENCY_KIND_REGENCY, "13.05"},
      {"pemprov-sumbar", v1::AGENCY_KIND_PROVINCE, "13"},
      {"bpn-bandung", v1::AGENCY_KIND_AGENCY, "32.73"},
  };
  std::vector<ObjectWrite> writes;
  for (const A& a : agencies) writes.push_back(W(MakeAgency(a.id, a.kind, a.region), 0));
  MustCommit(writes);

  auto list_all = [&](const AgencyFilter& filter, int page) {
    std::vector<std::string> ids;
    std::string after;
    while (true) {
      auto got = store_->ListAgencies(filter, after, page);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) break;
      EXPECT_LE(static_cast<int>(got->size()), page);
      for (const auto& a : *got) ids.push_back(a.id());
      if (static_cast<int>(got->size()) < page) break;
      after = got->back().id();
    }
    return ids;
  };
  for (std::string region : {"", "32", "32.73", "13", "99"}) {
    for (v1::AgencyKind kind :
         {v1::AGENCY_KIND_UNSPECIFIED, v1::AGENCY_KIND_CITY, v1::AGENCY_KIND_PROVINCE}) {
      std::vector<std::string> expected;
      for (const A& a : agencies) {
        bool region_ok = region.empty() || a.region == region ||
                         a.region.rfind(absl::StrCat(region, "."), 0) == 0;
        if (region_ok && (kind == v1::AGENCY_KIND_UNSPECIFIED || kind == a.kind)) {
          expected.push_back(a.id);
        }
      }
      std::sort(expected.begin(), expected.end());
      for (int page : {1, 2, 100}) {
        EXPECT_EQ(list_all({region, kind}, page), expected)
            << "region " << region << " kind " << kind << " page " << page;
      }
    }
  }

  MustCommit({W(MakeUnit("u-bdg-1", "pemkot-bandung", "32.73.01"), 0),
              W(MakeUnit("u-bdg-2", "pemkot-bandung", "32.73.02"), 0),
              W(MakeUnit("u-bks-1", "pemkot-bekasi", "32.75.01"), 0),
              W(MakeUnit("u-pp-1", "pemkab-pp", "13.05.01"), 0)});
  EXPECT_THAT(Ids(*store_->ListUnits({}, "", 10)),
              ElementsAre("u-bdg-1", "u-bdg-2", "u-bks-1", "u-pp-1"));
  EXPECT_THAT(Ids(*store_->ListUnits({}, "u-bdg-2", 2)), ElementsAre("u-bks-1", "u-pp-1"));
  EXPECT_THAT(Ids(*store_->ListUnits({"pemkot-bandung", ""}, "", 10)),
              ElementsAre("u-bdg-1", "u-bdg-2"));
  EXPECT_THAT(Ids(*store_->ListUnits({"", "32"}, "", 10)),
              ElementsAre("u-bdg-1", "u-bdg-2", "u-bks-1"));
  EXPECT_THAT(Ids(*store_->ListUnits({"pemkot-bandung", "32.73.02"}, "", 10)),
              ElementsAre("u-bdg-2"));
  EXPECT_THAT(Ids(*store_->ListUnits({"pemkab-pp", "32"}, "", 10)), IsEmpty());

  MustCommit({W(MakeService("akta", "u-bdg-1", "pemkot-bandung", "32.73.01"), 0),
              W(MakeService("ktp", "u-bdg-1", "pemkot-bandung", "32.73.01"), 0),
              W(MakeService("imb", "u-bdg-2", "pemkot-bandung", "32.73.02"), 0),
              W(MakeService("nib", "u-pp-1", "pemkab-pp", "13.05.01"), 0)});
  EXPECT_THAT(Ids(*store_->ListServices({}, "", 10)), ElementsAre("akta", "imb", "ktp", "nib"));
  EXPECT_THAT(Ids(*store_->ListServices({"pemkot-bandung", ""}, "", 10)),
              ElementsAre("akta", "imb", "ktp"));
  EXPECT_THAT(Ids(*store_->ListServices({"", "u-bdg-1"}, "", 10)), ElementsAre("akta", "ktp"));
  EXPECT_THAT(Ids(*store_->ListServices({"", "u-bdg-1"}, "akta", 10)), ElementsAre("ktp"));
  EXPECT_THAT(Ids(*store_->ListServices({"pemkot-bandung", "u-bdg-2"}, "", 10)),
              ElementsAre("imb"));
  EXPECT_THAT(Ids(*store_->ListServices({"pemkab-pp", "u-bdg-2"}, "", 10)), IsEmpty());

  EXPECT_EQ(store_->ListServices({}, "", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

// RedisStoreSearchTest runs on a fixed corpus of versions with varied agency, unit, region,
// state and words.
class RedisStoreSearchTest : public RedisStoreTest {
 protected:
  void SetUp() override {
    RedisStoreTest::SetUp();
    if (HasFatalFailure()) return;
    struct U {
      const char* id;
      const char* agency;
      const char* region;
    };
    const U units[] = {{"u-1", "ag-a", "32.71.01"},
                       {"u-2", "ag-a", "32.72"},
                       {"u-3", "ag-b", "13.05.02"},
                       {"u-4", "ag-c", "32.71.04"}};
    const char* first[] = {"akta", "izin", "paspor"};
    const char* second[] = {"kelahiran", "usaha", "bangunan", "kematian"};
    std::vector<ObjectWrite> writes;
    for (int i = 0; i < 90; ++i) {
      const U& u = units[i % 4];
      auto state = static_cast<v1::StandardState>((i / 4) % 5 + 1);
      std::string name = absl::StrCat(first[i % 3], " ", second[(i / 3) % 4]);
      v1::StandardVersion v = MakeVersion(absl::StrFormat("svc-%02d", i / 3), i % 3 + 1, u.id,
                                          u.agency, u.region, state, name);
      // Management text is not searchable.
      v.mutable_components()->set_internal_supervision("inspektorat rahasia");
      corpus_.push_back(v);
      writes.push_back(W(v, 0));
    }
    MustCommit(writes);
  }

  std::vector<std::string> Expected(const StandardQuery& q) {
    std::vector<std::string> ids;
    for (const v1::StandardVersion& v : corpus_) {
      if (!q.agency_id.empty() && v.agency_id() != q.agency_id) continue;
      if (!q.unit_id.empty() && v.unit_id() != q.unit_id) continue;
      if (!q.region_code_prefix.empty()) {
        std::vector<std::string> prefixes = RegionPrefixes(v.region_code());
        if (std::find(prefixes.begin(), prefixes.end(), q.region_code_prefix) == prefixes.end()) {
          continue;
        }
      }
      if (!q.states.empty() &&
          std::find(q.states.begin(), q.states.end(), v.state()) == q.states.end()) {
        continue;
      }
      std::vector<std::string> tokens = KeywordTokens(v);
      bool all = true;
      for (const std::string& t : q.keyword_tokens) {
        all = all && std::find(tokens.begin(), tokens.end(), t) != tokens.end();
      }
      if (all) ids.push_back(v.id());
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::vector<std::string> SearchAll(const StandardQuery& q, int page) {
    std::vector<std::string> ids;
    std::string after;
    while (true) {
      auto got = store_->SearchStandards(q, after, page);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) break;
      EXPECT_LE(static_cast<int>(got->size()), page);
      for (const auto& v : *got) ids.push_back(v.id());
      if (static_cast<int>(got->size()) < page) break;
      after = got->back().id();
    }
    return ids;
  }

  std::vector<v1::StandardVersion> corpus_;
};

TEST_F(RedisStoreSearchTest, EveryFilterAndCombinationMatchesBruteForce) {
  int non_empty = 0;
  for (std::string agency : {"", "ag-a", "ag-b"}) {
    for (std::string unit : {"", "u-1"}) {
      for (std::string region : {"", "32", "32.71", "13.05.02"}) {
        for (const std::vector<v1::StandardState>& states :
             std::vector<std::vector<v1::StandardState>>{
                 {},
                 {v1::STANDARD_STATE_ADOPTED},
                 {v1::STANDARD_STATE_DRAFT, v1::STANDARD_STATE_SUPERSEDED}}) {
          for (const std::vector<std::string>& keywords :
               std::vector<std::vector<std::string>>{{}, {"akta"}, {"kelahiran", "akta"}}) {
            StandardQuery q{agency, unit, region, states, keywords};
            std::vector<std::string> expected = Expected(q);
            if (!expected.empty()) ++non_empty;
            SCOPED_TRACE(absl::StrCat("agency=", agency, " unit=", unit, " region=", region,
                                      " states=", states.size(), " kw=", keywords.size()));
            EXPECT_EQ(SearchAll(q, 1000), expected);
            EXPECT_EQ(SearchAll(q, 4), expected);
          }
        }
      }
    }
  }
  EXPECT_GT(non_empty, 40);  // the corpus exercises real matches, not only empty results
}

TEST_F(RedisStoreSearchTest, KeywordsAreAnded) {
  StandardQuery one;
  one.keyword_tokens = {"akta"};
  StandardQuery two;
  two.keyword_tokens = {"akta", "kelahiran"};
  StandardQuery disjoint;
  disjoint.keyword_tokens = {"kelahiran", "kematian"};
  StandardQuery management;
  management.keyword_tokens = {"inspektorat"};
  std::vector<std::string> akta = SearchAll(one, 100);
  std::vector<std::string> akta_lahir = SearchAll(two, 100);
  EXPECT_EQ(akta.size(), 30u);
  EXPECT_FALSE(akta_lahir.empty());
  EXPECT_LT(akta_lahir.size(), akta.size());
  for (const std::string& id : akta_lahir) {
    auto v = store_->GetStandardVersion(id);
    ASSERT_TRUE(v.ok() && v->has_value());
    EXPECT_THAT((*v)->service_name(), HasSubstr("akta kelahiran"));
  }
  EXPECT_THAT(SearchAll(disjoint, 100), IsEmpty());
  EXPECT_THAT(SearchAll(management, 100), IsEmpty());
}

TEST_F(RedisStoreSearchTest, PaginationHasNoGapsOrDuplicatesWhileInserting) {
  StandardQuery q;
  q.region_code_prefix = "32";
  q.states = {v1::STANDARD_STATE_DRAFT, v1::STANDARD_STATE_ADOPTED};
  const std::vector<std::string> original = Expected(q);
  ASSERT_GT(original.size(), 10u);
  std::vector<std::string> seen;
  std::string after;
  int inserted = 0;
  while (true) {
    auto page = store_->SearchStandards(q, after, 3);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& v : *page) seen.push_back(v.id());
    if (page->size() < 3) break;
    after = page->back().id();
    // Insert matching versions both before and after the position.
    for (const std::string& service :
         std::vector<std::string>{absl::StrCat("svc-00a", inserted), "zz-new"}) {
      v1::StandardVersion v = MakeVersion(service, inserted + 1, "u-1", "ag-a", "32.71.01",
                                          v1::STANDARD_STATE_DRAFT, "baru");
      MustCommit({W(v, 0)});
    }
    ++inserted;
  }
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
  for (const std::string& id : original) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), id), seen.end()) << id << " was skipped";
  }
  // Versions inserted after the position show up in later pages.
  EXPECT_NE(std::find(seen.begin(), seen.end(), "zz-new.v1"), seen.end());
}

TEST_F(RedisStoreTest, PaginationOfAgenciesWhileInserting) {
  std::vector<ObjectWrite> writes;
  std::vector<std::string> original;
  for (int i = 10; i < 50; i += 2) {
    std::string id = absl::StrCat("ag-", i);
    original.push_back(id);
    writes.push_back(W(MakeAgency(id, v1::AGENCY_KIND_CITY, "32.73"), 0));
  }
  MustCommit(writes);
  std::vector<std::string> seen;
  std::string after;
  int next_odd = 11;
  while (true) {
    auto page = store_->ListAgencies({"32.73", v1::AGENCY_KIND_CITY}, after, 3);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& a : *page) seen.push_back(a.id());
    if (page->size() < 3) break;
    after = page->back().id();
    MustCommit({W(MakeAgency(absl::StrCat("ag-", next_odd), v1::AGENCY_KIND_CITY, "32.73"), 0)});
    next_odd += 4;
  }
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
  for (const std::string& id : original) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), id), seen.end()) << id << " was skipped";
  }
}

TEST_F(RedisStoreTest, SearchWalksPastLongNonMatchingRuns) {
  // Both filter indexes hold 1,200+ versions but they share only the last few ids, so one
  // script run (bounded walk) cannot reach them; the store must keep walking.
  std::vector<ObjectWrite> writes;
  auto flush = [&] {
    if (!writes.empty()) MustCommit(writes);
    writes.clear();
  };
  for (int i = 0; i < 2400; ++i) {
    bool first_half = i < 1200;
    v1::StandardVersion v =
        MakeVersion(absl::StrFormat("svc-%04d", i), 1, "u", first_half ? "ag-a" : "ag-b", "32",
                    first_half ? v1::STANDARD_STATE_ADOPTED : v1::STANDARD_STATE_DRAFT, "layanan");
    writes.push_back(W(v, 0));
    if (writes.size() == 200) flush();
  }
  for (int i = 2400; i < 2405; ++i) {
    writes.push_back(W(MakeVersion(absl::StrFormat("svc-%04d", i), 1, "u", "ag-a", "32",
                                   v1::STANDARD_STATE_DRAFT, "layanan"),
                       0));
  }
  flush();
  StandardQuery q;
  q.agency_id = "ag-a";
  q.states = {v1::STANDARD_STATE_DRAFT};
  auto got = store_->SearchStandards(q, "", 3);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAre("svc-2400.v1", "svc-2401.v1", "svc-2402.v1"));
  auto rest = store_->SearchStandards(q, "svc-2402.v1", 3);
  ASSERT_TRUE(rest.ok());
  EXPECT_THAT(Ids(*rest), ElementsAre("svc-2403.v1", "svc-2404.v1"));
  auto none = store_->SearchStandards(q, "svc-2404.v1", 3);
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
}

TEST_F(RedisStoreTest, ListsServiceVersionsAndMaklumatByNumber) {
  std::vector<ObjectWrite> writes;
  for (int n : {3, 1, 12, 2}) {
    writes.push_back(W(MakeVersion("ktp", n, "u", "ag", "32", v1::STANDARD_STATE_DRAFT, "KTP"), 0));
  }
  writes.push_back(W(MakeVersion("other", 1, "u", "ag", "32", v1::STANDARD_STATE_DRAFT, "X"), 0));
  for (int n : {2, 1, 10}) writes.push_back(W(MakeMaklumat("u-1", n), 0));
  writes.push_back(W(MakeMaklumat("u-2", 1), 0));
  MustCommit(writes);

  EXPECT_THAT(Ids(*store_->ListServiceVersions("ktp", 0, 10)),
              ElementsAre("ktp.v1", "ktp.v2", "ktp.v3", "ktp.v12"));
  EXPECT_THAT(Ids(*store_->ListServiceVersions("ktp", 0, 2)), ElementsAre("ktp.v1", "ktp.v2"));
  EXPECT_THAT(Ids(*store_->ListServiceVersions("ktp", 2, 2)), ElementsAre("ktp.v3", "ktp.v12"));
  EXPECT_THAT(Ids(*store_->ListServiceVersions("ktp", 12, 2)), IsEmpty());
  EXPECT_THAT(Ids(*store_->ListServiceVersions("none", 0, 2)), IsEmpty());
  EXPECT_THAT(Ids(*store_->ListUnitMaklumat("u-1", 0, 10)),
              ElementsAre("u-1.m1", "u-1.m2", "u-1.m10"));
  EXPECT_THAT(Ids(*store_->ListUnitMaklumat("u-1", 1, 1)), ElementsAre("u-1.m2"));
  EXPECT_THAT(Ids(*store_->ListUnitMaklumat("u-2", 0, 10)), ElementsAre("u-2.m1"));
}

TEST_F(RedisStoreTest, ListsReviewDueInOrderAndDropsSuperseded) {
  auto adopted = [](const std::string& service, const std::string& agency, common::v1::Date due) {
    v1::StandardVersion v =
        MakeVersion(service, 1, "u", agency, "32", v1::STANDARD_STATE_ADOPTED, service);
    *v.mutable_review_due_date() = due;
    return v;
  };
  v1::StandardVersion r1 = adopted("svc-b", "ag-a", Date(2024, 1, 10));
  v1::StandardVersion r2 = adopted("svc-c", "ag-b", Date(2024, 1, 10));
  v1::StandardVersion r3 = adopted("svc-z", "ag-a", Date(2024, 1, 5));
  v1::StandardVersion r4 = adopted("svc-a", "ag-a", Date(2024, 3, 1));
  v1::StandardVersion r5 = adopted("svc-d", "ag-b", Date(2024, 2, 1));
  v1::StandardVersion draft = adopted("svc-0", "ag-a", Date(2024, 1, 1));
  draft.set_state(v1::STANDARD_STATE_DRAFT);
  MustCommit({W(r1, 0), W(r2, 0), W(r3, 0), W(r4, 0), W(r5, 0), W(draft, 0)});
  const int64_t march = DayNumber(Date(2024, 3, 1));

  auto all = store_->ListReviewDue("", march, std::nullopt, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  const std::vector<std::string> expected = {"svc-z.v1", "svc-b.v1", "svc-c.v1", "svc-d.v1"};
  EXPECT_EQ(Ids(*all), expected);

  for (int page : {1, 2, 3}) {
    std::vector<std::string> seen;
    std::optional<ReviewDueKey> after;
    while (true) {
      auto got = store_->ListReviewDue("", march, after, page);
      ASSERT_TRUE(got.ok()) << got.status();
      for (const auto& v : *got) seen.push_back(v.id());
      if (static_cast<int>(got->size()) < page) break;
      after = ReviewDueKey{DayNumber(got->back().review_due_date()), got->back().id()};
    }
    EXPECT_EQ(seen, expected) << "page " << page;
  }
  // A position between two ids of the same day, and one past a whole day.
  EXPECT_THAT(Ids(*store_->ListReviewDue("", march,
                                         ReviewDueKey{DayNumber(Date(2024, 1, 10)), "svc-bb"}, 10)),
              ElementsAre("svc-c.v1", "svc-d.v1"));
  EXPECT_THAT(Ids(*store_->ListReviewDue("", march,
                                         ReviewDueKey{DayNumber(Date(2024, 1, 10)), "svc-zz"}, 10)),
              ElementsAre("svc-d.v1"));
  EXPECT_THAT(Ids(*store_->ListReviewDue("ag-a", march, std::nullopt, 10)),
              ElementsAre("svc-z.v1", "svc-b.v1"));
  EXPECT_THAT(Ids(*store_->ListReviewDue("ag-a", march + 1, std::nullopt, 10)),
              ElementsAre("svc-z.v1", "svc-b.v1", "svc-a.v1"));
  EXPECT_THAT(Ids(*store_->ListReviewDue("", DayNumber(Date(2024, 1, 5)), std::nullopt, 10)),
              IsEmpty());

  // Superseding removes the version from both review-due indexes.
  r1.set_state(v1::STANDARD_STATE_SUPERSEDED);
  MustCommit({W(r1, 1)});
  EXPECT_FALSE(InIndex("ix:version:review_due", "svc-b.v1"));
  EXPECT_FALSE(InIndex("ix:version:review_due:agency:ag-a", "svc-b.v1"));
  EXPECT_THAT(Ids(*store_->ListReviewDue("", march, std::nullopt, 10)),
              ElementsAre("svc-z.v1", "svc-c.v1", "svc-d.v1"));
  // A recorded review moves the due date.
  *r2.mutable_review_due_date() = Date(2025, 1, 10);
  MustCommit({W(r2, 1)});
  EXPECT_THAT(Ids(*store_->ListReviewDue("", march, std::nullopt, 10)),
              ElementsAre("svc-z.v1", "svc-d.v1"));
  EXPECT_THAT(Ids(*store_->ListReviewDue("ag-b", DayNumber(Date(2026, 1, 1)), std::nullopt, 10)),
              ElementsAre("svc-d.v1", "svc-c.v1"));
}

TEST_F(RedisStoreTest, FeedDeliversEventsInCommitOrder) {
  auto empty = store_->LatestCursor();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "0-0");
  EXPECT_THAT(ReadAll(), IsEmpty());

  std::vector<CommitResult> commits;
  std::vector<v1::Agency> agencies;
  for (int i = 0; i < 5; ++i) {
    v1::Agency a = MakeAgency(absl::StrCat("ag-", i), v1::AGENCY_KIND_CITY, "32");
    commits.push_back(MustCommit({W(a, 0)}, absl::StrCat("CreateAgency", i)));
    a.set_revision(1);
    agencies.push_back(a);
  }
  std::vector<v1::ChangeEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(events[i].cursor(), commits[i].cursor);
    EXPECT_EQ(events[i].action(), absl::StrCat("CreateAgency", i));
    EXPECT_EQ(events[i].actor(), "tester");
    ASSERT_EQ(events[i].objects_size(), 1);
    EXPECT_THAT(events[i].objects(0).agency(), EqualsProto(agencies[i]));
  }
  EXPECT_EQ(*store_->LatestCursor(), commits[4].cursor);

  std::vector<v1::ChangeEvent> rest = ReadAll(commits[1].cursor);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].cursor(), commits[2].cursor);
  auto two = store_->ReadChanges(commits[0].cursor, 2, absl::ZeroDuration());
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].cursor(), commits[2].cursor);
  EXPECT_THAT(ReadAll(commits[4].cursor), IsEmpty());

  EXPECT_EQ(store_->ReadChanges("$", 10, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadChanges("", 10, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A cursor newer than anything the feed produced means the feed was reset.
  EXPECT_EQ(store_->ReadChanges("99999999999999-0", 10, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(RedisStoreTest, ReadChangesBlocksUntilACommitArrives) {
  // A short pool command timeout proves that the blocking read raises its own timeout.
  RedisOptions options;
  options.port = server_->port();
  options.command_timeout = absl::Milliseconds(300);
  RedisPool short_pool(options);
  RedisRegistryStore reader(&short_pool, {});

  MustCommit({W(MakeAgency("ag-0", v1::AGENCY_KIND_CITY, ""), 0)});
  std::string cursor = *reader.LatestCursor();

  const absl::Time start = absl::Now();
  auto none = reader.ReadChanges(cursor, 10, absl::Milliseconds(800));
  const absl::Duration waited = absl::Now() - start;
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
  EXPECT_GE(waited, absl::Milliseconds(750));
  EXPECT_LT(waited, absl::Seconds(3));

  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(300));
    MustCommit({W(MakeAgency("ag-1", v1::AGENCY_KIND_CITY, ""), 0)}, "Late");
  });
  const absl::Time start2 = absl::Now();
  auto got = reader.ReadChanges(cursor, 10, absl::Seconds(10));
  const absl::Duration waited2 = absl::Now() - start2;
  writer.join();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].action(), "Late");
  EXPECT_LT(waited2, absl::Seconds(5));
  // The connection went back to the pool with its normal timeout and still works.
  EXPECT_TRUE(short_pool.Ping().ok());
}

TEST_F(RedisStoreTest, TrimmedCursorIsOutOfRange) {
  // With feed_max_len 10 (no slack below 100 events) every commit trims the feed to exactly
  // the 10 newest events.
  RedisRegistryStore small(pool_.get(), {.key_prefix = "simpul:reg", .feed_max_len = 10});
  std::vector<std::string> cursors;
  v1::Agency a = MakeAgency("ag", v1::AGENCY_KIND_CITY, "");
  for (int i = 0; i < 30; ++i) {
    cursors.push_back(MustCommit({W(a, i)}, "Update", &small).cursor);
  }
  EXPECT_EQ(FeedLength(), 10);

  auto trimmed = small.ReadChanges(cursors[0], 10, absl::ZeroDuration());
  EXPECT_EQ(trimmed.status().code(), absl::StatusCode::kOutOfRange) << trimmed.status();
  // Right before the oldest retained event nothing was missed; one earlier, an event was.
  auto boundary = small.ReadChanges(cursors[19], 100, absl::ZeroDuration());
  ASSERT_TRUE(boundary.ok()) << boundary.status();
  ASSERT_EQ(boundary->size(), 10u);
  EXPECT_EQ((*boundary)[0].cursor(), cursors[20]);
  EXPECT_EQ(small.ReadChanges(cursors[18], 1, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kOutOfRange);
  // "0" means the oldest retained event, never out of range.
  auto oldest = small.ReadChanges("0", 1, absl::ZeroDuration());
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  ASSERT_EQ(oldest->size(), 1u);
  EXPECT_EQ((*oldest)[0].cursor(), cursors[20]);
  auto latest = small.ReadChanges(cursors[28], 10, absl::ZeroDuration());
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].cursor(), cursors[29]);
  // A blocking read from a trimmed cursor fails at once instead of waiting.
  const absl::Time start = absl::Now();
  EXPECT_EQ(small.ReadChanges(cursors[5], 10, absl::Seconds(5)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(RedisStoreTest, ACursorWhoseEventRedisLostIsOutOfRangeEvenAfterNewerEvents) {
  v1::Agency a = MakeAgency("ag", v1::AGENCY_KIND_CITY, "");
  std::vector<std::string> cursors;
  for (int i = 0; i < 3; ++i) cursors.push_back(MustCommit({W(a, i)}, "Update").cursor);
  ASSERT_TRUE(store_->ReadChanges(cursors[1], 10, absl::ZeroDuration()).ok());
  // Redis loses its data (a flush here; a failover to a replica that had not received the
  // newest events does the same), then takes newer commits: their ids are past every old
  // cursor, and nothing was trimmed.
  absl::StatusOr<RedisReply> flushed = pool_->Command({"FLUSHALL"});
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  absl::SleepFor(absl::Milliseconds(2));  // the new ids come from a later millisecond
  std::vector<std::string> after;
  for (int i = 0; i < 2; ++i) after.push_back(MustCommit({W(a, i)}, "Update").cursor);
  for (const std::string& lost : cursors) {
    absl::StatusOr<std::vector<v1::ChangeEvent>> read =
        store_->ReadChanges(lost, 10, absl::ZeroDuration());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kOutOfRange) << lost;
    EXPECT_THAT(read.status().message(), HasSubstr("not in the change feed any more")) << lost;
    // A blocking read fails at once too.
    const absl::Time start = absl::Now();
    EXPECT_EQ(store_->ReadChanges(lost, 10, absl::Seconds(5)).status().code(),
              absl::StatusCode::kOutOfRange);
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  }
  // The cursors of the events Redis has are fine, as is "0" and the latest cursor.
  auto next = store_->ReadChanges(after[0], 10, absl::ZeroDuration());
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].cursor(), after[1]);
  EXPECT_TRUE(store_->ReadChanges("0", 10, absl::ZeroDuration()).ok());
  absl::StatusOr<std::string> latest = store_->LatestCursor();
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(store_->ReadChanges(*latest, 10, absl::ZeroDuration()).ok());
}

TEST_F(RedisStoreTest, LargeFeedTrimsInBatches) {
  // feed_max_len 300 has a slack of 3: the feed grows to 303 events, then drops to 300.
  RedisRegistryStore store(pool_.get(), {.key_prefix = "simpul:reg", .feed_max_len = 300});
  std::vector<std::string> cursors;
  v1::Agency a = MakeAgency("ag", v1::AGENCY_KIND_CITY, "");
  for (int i = 0; i < 303; ++i) cursors.push_back(MustCommit({W(a, i)}, "U", &store).cursor);
  EXPECT_EQ(FeedLength(), 303);
  EXPECT_TRUE(store.ReadChanges(cursors[0], 1, absl::ZeroDuration()).ok());
  cursors.push_back(MustCommit({W(a, 303)}, "U", &store).cursor);
  EXPECT_EQ(FeedLength(), 300);
  EXPECT_EQ(store.ReadChanges(cursors[2], 1, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kOutOfRange);
  auto ok = store.ReadChanges(cursors[3], 1, absl::ZeroDuration());
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].cursor(), cursors[4]);
}

TEST_F(RedisStoreTest, SurvivesKillAndRestart) {
  v1::Agency a = MakeAgency("pemkot-padang", v1::AGENCY_KIND_CITY, "13.71");
  v1::StandardVersion v = MakeVersion("ktp", 1, "disdukcapil", "pemkot-padang", "13.71",
                                      v1::STANDARD_STATE_ADOPTED, "KTP Elektronik");
  *v.mutable_review_due_date() = Date(2024, 6, 1);
  MustCommit({W(a, 0)});
  CommitResult last = MustCommit({W(v, 0)});

  server_->Kill();
  EXPECT_FALSE(store_->GetAgency("pemkot-padang").ok());
  ASSERT_TRUE(server_->Restart().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!pool_->Ping().ok() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(pool_->Ping().ok());

  auto got = store_->GetAgency("pemkot-padang");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((*got)->region_code(), "13.71");
  StandardQuery q;
  q.region_code_prefix = "13";
  q.keyword_tokens = {"elektronik"};
  EXPECT_THAT(Ids(*store_->SearchStandards(q, "", 10)), ElementsAre("ktp.v1"));
  EXPECT_THAT(Ids(*store_->ListReviewDue("", DayNumber(Date(2025, 1, 1)), std::nullopt, 10)),
              ElementsAre("ktp.v1"));
  std::vector<v1::ChangeEvent> events = ReadAll();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].cursor(), last.cursor);
  EXPECT_EQ(*store_->LatestCursor(), last.cursor);
}

TEST_F(RedisStoreTest, TransportAndDataErrors) {
  ASSERT_TRUE(pool_->Ping().ok());
  Raw({"HSET", absl::StrCat(kBase, "agency:broken"), "rev", "1", "pb", "\xff\xff\xff\xff"});
  auto broken = store_->GetAgency("broken");
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(broken.status().message(), HasSubstr("agency:broken"));

  server_->Kill();
  auto down = store_->GetAgency("any");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  auto commit = store_->Commit({W(MakeAgency("x-1", v1::AGENCY_KIND_CITY, ""), 0)}, {});
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kUnavailable) << commit.status();
}

TEST_F(RedisStoreTest, ConcurrentCommitsOnOneRevisionCommitExactlyOnce) {
  v1::Agency a = MakeAgency("contested", v1::AGENCY_KIND_CITY, "32");
  MustCommit({W(a, 0)});
  const long long feed_length = FeedLength();
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> committed{0}, conflicts{0}, errors{0};
  std::vector<int> winner_kind(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      v1::Agency mine = a;
      mine.set_name(absl::StrCat("Writer ", t));
      mine.set_region_code(absl::StrCat("5", t));
      start.arrive_and_wait();
      auto result = store_->Commit({W(mine, 1)}, v1::ChangeEvent());
      if (!result.ok()) {
        ++errors;
      } else if (result->committed) {
        ++committed;
        winner_kind[t] = 1;
      } else {
        EXPECT_EQ(result->current_revision, 2);
        ++conflicts;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(committed.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(FeedLength(), feed_length + 1);
  int winner = std::find(winner_kind.begin(), winner_kind.end(), 1) - winner_kind.begin();
  auto got = store_->GetAgency("contested");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name(), absl::StrCat("Writer ", winner));
  EXPECT_EQ((*got)->revision(), 2);
  // Only the winner's region is indexed.
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(InIndex(absl::StrCat("ix:agency:region:5", t), "contested"), t == winner) << t;
  }
  EXPECT_FALSE(InIndex("ix:agency:region:32", "contested"));
}

TEST_F(RedisStoreTest, ConcurrentCreatesCommitExactlyOnce) {
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> committed{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      v1::Agency mine = MakeAgency("fresh", v1::AGENCY_KIND_CITY, absl::StrCat("1", t));
      start.arrive_and_wait();
      auto result = store_->Commit({W(mine, 0)}, v1::ChangeEvent());
      ASSERT_TRUE(result.ok()) << result.status();
      (result->committed ? committed : conflicts)++;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(committed.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(FeedLength(), 1);
  EXPECT_EQ(Raw({"ZCARD", absl::StrCat(kBase, "ix:agency:all")}).integer, 1);
}

}  // namespace
}  // namespace simpul::registry
