// Unit tests of the gateway's cache of registry reads (gateway/read_cache.h), and of its feed
// watcher's resumption against an in-process registry; the feed watcher is tested end to end
// in gateway_e2e_test.cc.
#include "gateway/read_cache.h"

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/identity.h"
#include "common/logging.h"
#include "gtest/gtest.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/clients/registry/in_process_registry.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::gateway {
namespace {

constexpr char kGet[] = "/simpul.registry.v1.Registry/GetService";

common::v1::Principal Caller(common::v1::Role role, const std::string& agency = "") {
  common::v1::Principal p;
  p.set_role(role);
  p.set_agency_id(agency);
  p.set_subject("key:x");
  return p;
}

TEST(ReadCacheTest, CountsEachOutcomeInMetrics) {
  Metrics metrics;
  ReadCache cache({}, &metrics);
  const std::string key = ReadCache::Key(kGet, Caller(common::v1::ROLE_UNSPECIFIED), "req");
  EXPECT_FALSE(cache.Get(key).has_value());  // off: the feed is not watched
  cache.SetEnabled(true);
  EXPECT_FALSE(cache.Get(key).has_value());  // miss
  cache.Put(key, "resp", cache.generation());
  EXPECT_EQ(cache.Get(key).value_or(""), "resp");  // hit
  EXPECT_EQ(cache.Get(key).value_or(""), "resp");  // hit
  const std::string text = metrics.Exposition();
  EXPECT_TRUE(absl::StrContains(text, "simpul_gateway_read_cache_total{outcome=\"off\"} 1\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "simpul_gateway_read_cache_total{outcome=\"miss\"} 1\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "simpul_gateway_read_cache_total{outcome=\"hit\"} 2\n"))
      << text;
}

TEST(ReadCacheTest, OnlyRegistryReadsThatDoNotDependOnTheClockAreCached) {
  for (const char* m :
       {"GetAgency", "ListAgencies", "GetService", "ListServices", "GetCurrentStandard",
        "GetStandardVersion", "ListStandardVersions", "SearchStandards", "GetServiceUnit",
        "ListServiceUnits", "GetMaklumat", "ListMaklumat"}) {
    EXPECT_TRUE(ReadCache::Cacheable(absl::StrCat("/simpul.registry.v1.Registry/", m))) << m;
    EXPECT_FALSE(ReadCache::InvalidatedBy(absl::StrCat("/simpul.registry.v1.Registry/", m)));
  }
  for (const char* m :
       {"/simpul.registry.v1.Registry/ListReviewOverdue",
        "/simpul.registry.v1.Registry/GetCompleteness",
        "/simpul.registry.v1.Registry/WatchStandards", "/simpul.registry.v1.Registry/CreateService",
        "/simpul.complaints.v1.Complaints/GetComplaint",
        "/simpul.monitoring.v1.Monitoring/GetFigures"}) {
    EXPECT_FALSE(ReadCache::Cacheable(m)) << m;
  }
  for (const char* m : {"CreateService", "UpdateService", "AdoptStandardVersion",
                        "WithdrawStandardVersion", "PublishMaklumat", "CreateAgency"}) {
    EXPECT_TRUE(ReadCache::InvalidatedBy(absl::StrCat("/simpul.registry.v1.Registry/", m))) << m;
  }
  EXPECT_FALSE(ReadCache::InvalidatedBy("/simpul.complaints.v1.Complaints/FileComplaint"));
  EXPECT_FALSE(ReadCache::InvalidatedBy("/simpul.registry.v1.Registry/WatchStandards"));
}

TEST(ReadCacheTest, KeysSeparateMethodsRequestsRolesAndAgencies) {
  const auto pub = Caller(common::v1::ROLE_UNSPECIFIED);
  const auto a = Caller(common::v1::ROLE_AGENCY_ADMIN, "a");
  const auto b = Caller(common::v1::ROLE_AGENCY_ADMIN, "b");
  const auto a_op = Caller(common::v1::ROLE_AGENCY_OPERATOR, "a");
  const std::string k = ReadCache::Key(kGet, pub, "req");
  EXPECT_NE(k, ReadCache::Key(kGet, a, "req"));
  EXPECT_NE(ReadCache::Key(kGet, a, "req"), ReadCache::Key(kGet, b, "req"));
  EXPECT_NE(ReadCache::Key(kGet, a, "req"), ReadCache::Key(kGet, a_op, "req"));
  EXPECT_NE(k, ReadCache::Key(kGet, pub, "req2"));
  EXPECT_NE(k, ReadCache::Key("/simpul.registry.v1.Registry/GetAgency", pub, "req"));
  // Two callers of the same role and agency share entries (the subject does not matter).
  auto other_key = a;
  other_key.set_subject("key:y");
  EXPECT_EQ(ReadCache::Key(kGet, a, "req"), ReadCache::Key(kGet, other_key, "req"));
}

TEST(ReadCacheTest, OffUntilEnabledAndAfterDisabled) {
  ReadCache cache(ReadCache::Options{});
  EXPECT_FALSE(cache.enabled());
  cache.Put("k", "v", cache.generation());
  EXPECT_FALSE(cache.Get("k").has_value());
  cache.SetEnabled(true);
  EXPECT_FALSE(cache.Get("k").has_value()) << "a Put while off is dropped";
  cache.Put("k", "v", cache.generation());
  EXPECT_EQ(cache.Get("k"), "v");
  cache.SetEnabled(false);
  EXPECT_FALSE(cache.Get("k").has_value());
  cache.SetEnabled(true);
  EXPECT_FALSE(cache.Get("k").has_value()) << "entries do not survive being turned off";
}

TEST(ReadCacheTest, InvalidationDropsEntriesAndResponsesFetchedAcrossIt) {
  ReadCache cache(ReadCache::Options{});
  cache.SetEnabled(true);
  cache.Put("k1", "v1", cache.generation());
  const uint64_t before = cache.generation();  // a read starts
  cache.Invalidate();                          // a change arrives while it is in flight
  EXPECT_FALSE(cache.Get("k1").has_value());
  cache.Put("k2", "stale", before);  // the read ends: its answer may predate the change
  EXPECT_FALSE(cache.Get("k2").has_value());
  cache.Put("k2", "fresh", cache.generation());
  EXPECT_EQ(cache.Get("k2"), "fresh");
}

TEST(ReadCacheTest, AnswersFetchedSoonAfterAChangeAreNotStored) {
  // A registry replica may answer from a snapshot that trails the change for up to its
  // staleness bound: within `settle` of an invalidation nothing fetched is stored.
  ReadCache cache(ReadCache::Options{.settle = absl::Milliseconds(300)});
  cache.SetEnabled(true);
  EXPECT_FALSE(cache.Get("k").has_value());
  const absl::Time changed = absl::Now();
  cache.Invalidate();
  const uint64_t soon = cache.generation();  // a read starts right after the change
  cache.Put("k", "maybe stale", soon);
  const bool stored_soon = cache.Get("k").has_value();
  // Not asserted when the machine stalled past the settle time between the two lines above.
  if (absl::Now() - changed < absl::Milliseconds(300)) {
    EXPECT_FALSE(stored_soon) << "an answer fetched within settle of a change was kept";
  }
  absl::SleepFor(absl::Milliseconds(350));
  cache.Put("k", "fresh", cache.generation());
  EXPECT_EQ(cache.Get("k"), "fresh") << "after settle, answers are stored again";
  // A cache without settle stores at once (the default of Options).
  ReadCache plain(ReadCache::Options{});
  plain.SetEnabled(true);
  plain.Invalidate();
  plain.Put("k", "v", plain.generation());
  EXPECT_EQ(plain.Get("k"), "v");
}

TEST(ReadCacheTest, SharedEntriesOutliveTheirInvalidation) {
  ReadCache cache(ReadCache::Options{});
  EXPECT_EQ(cache.GetShared("k"), nullptr);  // off
  cache.SetEnabled(true);
  EXPECT_EQ(cache.GetShared("k"), nullptr);  // miss
  cache.Put("k", "v1", cache.generation());
  std::shared_ptr<const std::string> held = cache.GetShared("k");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(*held, "v1");
  EXPECT_EQ(cache.GetShared("k").get(), held.get()) << "the stored bytes, not a copy";
  cache.Invalidate();  // an answer being written keeps its bytes
  cache.Put("k", "v2", cache.generation());
  EXPECT_EQ(*held, "v1");
  EXPECT_EQ(*cache.GetShared("k"), "v2");
}

TEST(ReadCacheTest, EntriesExpireAfterMaxAge) {
  ReadCache cache(ReadCache::Options{.max_age = absl::Milliseconds(50)});
  cache.SetEnabled(true);
  cache.Put("k", "v", cache.generation());
  EXPECT_EQ(cache.Get("k"), "v");
  absl::SleepFor(absl::Milliseconds(80));
  EXPECT_FALSE(cache.Get("k").has_value());
}

TEST(ReadCacheTest, BoundedInSize) {
  ReadCache cache(ReadCache::Options{.max_entries = 160});
  cache.SetEnabled(true);
  for (int i = 0; i < 10000; ++i) cache.Put(absl::StrCat("k", i), "v", cache.generation());
  int kept = 0;
  for (int i = 0; i < 10000; ++i) kept += cache.Get(absl::StrCat("k", i)).has_value();
  EXPECT_GT(kept, 0);
  EXPECT_LE(kept, 160);
}

// Readers and writers at once with invalidations: once a change is announced (Invalidate
// returned), no reader gets a value fetched before the change.
TEST(ReadCacheTest, ConcurrentReadsWritesAndInvalidations) {
  ReadCache cache(ReadCache::Options{});
  cache.SetEnabled(true);
  std::atomic<int> version{0};    // the source's current version
  std::atomic<int> announced{0};  // the last version whose change has been announced
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string key = absl::StrCat("k", i % 32);
        if (t % 2 == 0) {  // a read that misses: generation first, then the source
          const uint64_t gen = cache.generation();
          cache.Put(key, absl::StrCat(version.load()), gen);
        } else {
          const int a = announced.load();
          if (auto got = cache.Get(key)) {
            int seen = 0;
            ASSERT_TRUE(absl::SimpleAtoi(*got, &seen));
            if (seen < a) stale.fetch_add(1);
          }
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    const int v = version.fetch_add(1) + 1;  // the source changes, then the change is announced
    cache.Invalidate();
    announced.store(v);
    absl::SleepFor(absl::Microseconds(200));
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(stale.load(), 0);
}

// The feed watcher on a real registry: it resumes from its cursor after a break, like every
// other watcher of the change feed, and the cache is back on once the stream is.
TEST(RegistryFeedWatcherTest, ResumesFromItsCursorAfterTheRegistryRestarts) {
  namespace v1 = ::simpul::registry::v1;
  absl::Mutex log_mu;
  std::vector<std::string> log;
  SetLogSink([&](std::string_view line) {
    absl::MutexLock lock(&log_mu);
    log.emplace_back(line);
  });
  auto redis = simpul::testing::RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  // The registry trusts the test's key for people and for the gateway's service role.
  auto signer = simpul::testing::LocalIdentityKeys("simpul-registry", {"simpul-gateway"});
  auto registry =
      std::make_unique<simpul::testing::InProcessRegistry>((*redis)->port(), signer.get());
  const int port = registry->Start(0);
  ASSERT_NE(port, 0);
  auto admin = [&](int p) {
    return v1::Registry::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", p), grpc::InsecureChannelCredentials()));
  };
  auto admin_ctx = [&] {
    common::v1::Principal principal;
    principal.set_role(common::v1::ROLE_PLATFORM_ADMIN);
    principal.set_subject("read-cache-test");
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx->set_wait_for_ready(true);
    ctx->AddMetadata(std::string(kIdentityMetadataKey),
                     simpul::testing::LocalToken(*signer, principal, "simpul-registry"));
    return ctx;
  };
  auto add_agency = [&](v1::Registry::Stub& stub, const std::string& id, const std::string& code) {
    v1::CreateAgencyRequest req;
    *req.mutable_agency() = simpul::testing::MakeAgency(id, v1::AGENCY_KIND_REGENCY, code);
    v1::CreateAgencyResponse resp;
    grpc::Status s = stub.CreateAgency(admin_ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  };
  auto eventually = [](const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done()) {
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  };

  ReadCache cache(ReadCache::Options{});
  {
    RegistryFeedWatcher watcher(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()),
        signer.get(), &cache);
    watcher.Start();
    ASSERT_TRUE(eventually([&] { return cache.enabled(); }));
    const std::string start = watcher.cursor();
    ASSERT_FALSE(start.empty());
    cache.Put("k", "v", cache.generation());
    ASSERT_EQ(cache.Get("k"), "v");
    ASSERT_NO_FATAL_FAILURE(add_agency(*admin(port), "kab-agam", "13.06"));
    ASSERT_TRUE(eventually([&] { return watcher.cursor() != start; }));
    EXPECT_FALSE(cache.Get("k").has_value()) << "a change drops the cache";
    const std::string seen = watcher.cursor();

    // The registry goes away; a change is made meanwhile through another registry on the same
    // Redis; the first comes back on its port.
    registry->Shutdown();
    ASSERT_TRUE(eventually([&] { return !cache.enabled(); })) << "off while not watched";
    {
      simpul::testing::InProcessRegistry side((*redis)->port(), signer.get());
      const int side_port = side.Start(0);
      ASSERT_NE(side_port, 0);
      ASSERT_NO_FATAL_FAILURE(add_agency(*admin(side_port), "kab-solok", "13.02"));
    }
    registry.reset();
    registry = std::make_unique<simpul::testing::InProcessRegistry>((*redis)->port(), signer.get());
    ASSERT_EQ(registry->Start(port), port);

    // Resumed from the cursor of the event it saw: the change made meanwhile is replayed.
    ASSERT_TRUE(eventually([&] { return cache.enabled() && watcher.cursor() != seen; }));
    absl::MutexLock lock(&log_mu);
    int resumed = 0;
    for (const std::string& line : log) {
      if (absl::StrContains(line, "\"registry watch started\"") &&
          absl::StrContains(line, absl::StrCat("\"cursor\":\"", seen, "\""))) {
        ++resumed;
      }
    }
    EXPECT_EQ(resumed, 1) << absl::StrJoin(log, "\n");
  }
  EXPECT_FALSE(cache.enabled()) << "off once the watcher stops";
  registry.reset();
  SetLogSink(nullptr);
}

}  // namespace
}  // namespace simpul::gateway
