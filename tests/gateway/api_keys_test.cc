// Tests of the gateway's API keys against a real redis-server: issue and verify, the Verify
// cache and revocation, listing, the admin rules, Redis outages, concurrency and the
// simpul-apikey CLI.
#include "gateway/api_keys.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "common/channel_scope.h"
#include "common/clock.h"
#include "common/redis.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"

namespace simpul::gateway {
namespace {

using common::v1::Principal;
using common::v1::Role;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// MakePrincipal: a channel may act for every agency (its scope is tested on its own).
Principal MakePrincipal(Role role, std::string agency_id = "", std::string channel = "") {
  Principal p;
  p.set_role(role);
  p.set_agency_id(std::move(agency_id));
  p.set_channel(std::move(channel));
  p.set_scope_all_agencies(role == common::v1::ROLE_CHANNEL);
  return p;
}

// ScopedChannel is a channel principal bound to `agencies` and `units`.
Principal ScopedChannel(std::vector<std::string> agencies, std::vector<std::string> units = {}) {
  Principal p = MakePrincipal(common::v1::ROLE_CHANNEL, "", "sms");
  p.set_scope_all_agencies(false);
  for (auto& a : agencies) p.add_scope_agency_ids(std::move(a));
  for (auto& u : units) p.add_scope_unit_ids(std::move(u));
  return p;
}

// SplitToken returns the id and the secret text of a token.
std::pair<std::string, std::string> SplitToken(const std::string& token) {
  const size_t dot = token.find('.');
  return {token.substr(0, dot), token.substr(dot + 1)};
}

std::string Sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::vector<std::string> FieldsOf(const absl::Status& status) {
  std::vector<std::string> fields;
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

class ApiKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    pool_ = std::make_unique<RedisPool>(RedisOpts());
  }

  RedisOptions RedisOpts() const {
    RedisOptions options;
    options.port = server_->port();
    options.pool_size = 8;
    options.connect_timeout = absl::Milliseconds(300);
    options.command_timeout = absl::Seconds(2);
    options.acquire_timeout = absl::Milliseconds(500);
    options.max_backoff = absl::Milliseconds(100);
    return options;
  }

  std::unique_ptr<ApiKeyStore> NewStore(absl::Duration cache_ttl = absl::Seconds(5),
                                        const Clock* clock = nullptr) {
    ApiKeyStore::Options options;
    options.cache_ttl = cache_ttl;
    options.clock = clock != nullptr ? clock : &clock_;
    auto store = ApiKeyStore::Create(pool_.get(), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }

  // MustIssue issues a key or fails the test.
  IssuedApiKey MustIssue(ApiKeyStore& store, const Principal& principal,
                         const std::string& label = "test key") {
    auto issued = store.Issue(principal, label, "key:kadmin");
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *std::move(issued) : IssuedApiKey{};
  }

  // AllRedisKeys returns every key in the test Redis (SCAN).
  std::vector<std::string> AllRedisKeys() {
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      auto reply = pool_->Command({"SCAN", cursor, "COUNT", "100"});
      EXPECT_TRUE(reply.ok()) << reply.status();
      if (!reply.ok() || reply->elements.size() != 2) return keys;
      cursor = reply->elements[0].str;
      for (const RedisReply& key : reply->elements[1].elements) keys.push_back(key.str);
    } while (cursor != "0");
    return keys;
  }

  FakeClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisPool> pool_;
};

TEST_F(ApiKeyStoreTest, IssueThenVerifyRoundTripsThePrincipal) {
  auto store = NewStore();
  const struct {
    Principal principal;
  } cases[] = {
      {MakePrincipal(common::v1::ROLE_PLATFORM_ADMIN)},
      {MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-kesehatan")},
      {MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "dinas-kesehatan")},
      {MakePrincipal(common::v1::ROLE_CHANNEL, "", "sms_1708")},
      {ScopedChannel({"dinas-kesehatan", "dinas-pendidikan"}, {"puskesmas-1"})},
      {MakePrincipal(common::v1::ROLE_DASHBOARD)},
  };
  std::set<std::string> ids;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.principal.ShortDebugString());
    auto issued = store->Issue(c.principal, "SMS gateway 1708", "key:kadmin");
    ASSERT_TRUE(issued.ok()) << issued.status();
    const v1::ApiKey& key = issued->key;
    EXPECT_THAT(key.id(), MatchesRegex("k[0-9a-f]{16}"));
    EXPECT_THAT(issued->token, MatchesRegex("k[0-9a-f]{16}\\.[A-Za-z0-9_-]{43}"));
    EXPECT_EQ(SplitToken(issued->token).first, key.id());
    EXPECT_EQ(key.label(), "SMS gateway 1708");
    EXPECT_EQ(key.created_by(), "key:kadmin");
    EXPECT_EQ(key.create_time().seconds(), 1767225600);
    EXPECT_FALSE(key.has_revoke_time());
    EXPECT_EQ(key.principal().subject(), "key:" + key.id());
    ids.insert(key.id());

    auto principal = store->Verify(issued->token);
    ASSERT_TRUE(principal.ok()) << principal.status();
    Principal expected = c.principal;
    expected.set_subject("key:" + key.id());
    EXPECT_EQ(principal->SerializeAsString(), expected.SerializeAsString())
        << principal->ShortDebugString();

    auto got = store->Get(key.id());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->SerializeAsString(), key.SerializeAsString());
  }
  EXPECT_EQ(ids.size(), std::size(cases));
}

TEST_F(ApiKeyStoreTest, BadTokensAreUnauthenticatedWithOneMessage) {
  for (absl::Duration ttl : {absl::Seconds(5), absl::ZeroDuration()}) {
    SCOPED_TRACE(absl::StrCat("cache_ttl ", absl::FormatDuration(ttl)));
    auto store = NewStore(ttl);
    const IssuedApiKey issued = MustIssue(*store, MakePrincipal(common::v1::ROLE_DASHBOARD));
    const auto [id, secret] = SplitToken(issued.token);
    ASSERT_TRUE(store->Verify(issued.token).ok());  // cached now (if caching)

    std::string other_secret = secret;
    other_secret[0] = other_secret[0] == 'A' ? 'B' : 'A';
    std::string upper_id = id;
    upper_id[1] = 'F';
    // The last character of 43 carries 4 bits and 2 zero bits: set one of those.
    std::string noncanonical = secret;
    const size_t last = std::string_view(kBase64UrlAlphabet).find(secret.back());
    noncanonical.back() = kBase64UrlAlphabet[(last & ~size_t{3}) | 1];
    std::string standard_alphabet = secret;
    standard_alphabet[5] = '+';

    const std::vector<std::string> bad_tokens = {
        id + "." + other_secret,              // wrong secret of an existing key
        "k0123456789abcdef." + secret,        // unknown id
        "kfedcba9876543210." + other_secret,  // unknown id, other secret
        "",                                   // malformed from here on
        "garbage",
        id,
        id + ".",
        "." + secret,
        secret,
        upper_id + "." + secret,
        "K" + id.substr(1) + "." + secret,
        id + "." + secret + "=",
        id + "." + secret.substr(0, 42),
        id + "." + secret + "A",
        id + "." + noncanonical,
        id + "." + standard_alphabet,
        id + "." + absl::BytesToHexString(std::string(32, 'x')),
        " " + issued.token,
        issued.token + "\n",
        "Bearer " + issued.token,
        id + ":" + secret,
        id + "." + id + "." + secret,
    };
    for (const std::string& token : bad_tokens) {
      SCOPED_TRACE(absl::StrCat("token \"", absl::CHexEscape(token), "\""));
      auto verified = store->Verify(token);
      ASSERT_FALSE(verified.ok());
      EXPECT_EQ(verified.status().code(), absl::StatusCode::kUnauthenticated);
      EXPECT_EQ(StdView(verified.status().message()), kInvalidApiKeyMessage);
    }
    EXPECT_TRUE(store->Verify(issued.token).ok());
  }
}

TEST_F(ApiKeyStoreTest, NothingSecretIsStoredInRedis) {
  auto store = NewStore();
  std::vector<IssuedApiKey> issued;
  issued.push_back(MustIssue(*store, MakePrincipal(common::v1::ROLE_PLATFORM_ADMIN)));
  issued.push_back(MustIssue(*store, MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-a")));
  issued.push_back(MustIssue(*store, MakePrincipal(common::v1::ROLE_CHANNEL, "", "web")));
  ASSERT_TRUE(store->Revoke(issued[1].key.id(), "key:kadmin").ok());

  const std::vector<std::string> keys = AllRedisKeys();
  ASSERT_FALSE(keys.empty());
  std::string everything;
  for (const std::string& key : keys) {
    EXPECT_THAT(key, ::testing::StartsWith("simpul:gw:{k}:"));
    everything += key;
    auto type = pool_->Command({"TYPE", key});
    ASSERT_TRUE(type.ok());
    if (type->str == "string") {
      auto value = pool_->Command({"GET", key});
      ASSERT_TRUE(value.ok());
      everything += value->str;
    } else if (type->str == "zset") {
      auto members = pool_->Command({"ZRANGE", key, "0", "-1", "WITHSCORES"});
      ASSERT_TRUE(members.ok());
      for (const RedisReply& m : members->elements) everything += m.str;
    } else {
      ADD_FAILURE() << "unexpected " << type->str << " at " << key;
    }
  }
  for (const IssuedApiKey& key : issued) {
    const std::string secret_text = SplitToken(key.token).second;
    std::string secret_bytes;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(secret_text, &secret_bytes));
    ASSERT_EQ(secret_bytes.size(), 32u);
    EXPECT_EQ(everything.find(key.token), std::string::npos);
    EXPECT_EQ(everything.find(secret_text), std::string::npos);
    EXPECT_EQ(everything.find(secret_bytes), std::string::npos);
    EXPECT_EQ(everything.find(absl::BytesToHexString(secret_bytes)), std::string::npos);
    EXPECT_EQ(everything.find(absl::Base64Escape(secret_bytes)), std::string::npos);

    // What is stored is the SHA-256 of the secret's bytes.
    auto raw = pool_->Command({"GET", "simpul:gw:{k}:key:" + key.key.id()});
    ASSERT_TRUE(raw.ok());
    v1::ApiKeyRecord record;
    ASSERT_TRUE(record.ParseFromString(raw->str));
    EXPECT_EQ(record.secret_sha256(), Sha256(secret_bytes));
    EXPECT_EQ(record.key().id(), key.key.id());
  }
}

TEST_F(ApiKeyStoreTest, IssueNamesEveryBadField) {
  auto store = NewStore();
  Principal expiring = MakePrincipal(common::v1::ROLE_PLATFORM_ADMIN);
  expiring.set_subject("me");
  expiring.mutable_expire_time()->set_seconds(1);
  const struct {
    Principal principal;
    std::string label;
    std::string created_by;
    std::vector<std::string> fields;
  } cases[] = {
      {MakePrincipal(common::v1::ROLE_UNSPECIFIED), "x", "me", {"principal.role"}},
      {MakePrincipal(static_cast<Role>(42)), "x", "me", {"principal.role"}},
      {MakePrincipal(common::v1::ROLE_SERVICE), "x", "me", {"principal.role"}},
      {MakePrincipal(common::v1::ROLE_AGENCY_ADMIN), "x", "me", {"principal.agency_id"}},
      {MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "Dinas A"),
       "x",
       "me",
       {"principal.agency_id"}},
      {MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-a", "sms"),
       "x",
       "me",
       {"principal.channel"}},
      {MakePrincipal(common::v1::ROLE_CHANNEL), "x", "me", {"principal.channel"}},
      {MakePrincipal(common::v1::ROLE_CHANNEL, "", "SMS gateway"),
       "x",
       "me",
       {"principal.channel"}},
      {MakePrincipal(common::v1::ROLE_CHANNEL, "", "-sms"), "x", "me", {"principal.channel"}},
      {MakePrincipal(common::v1::ROLE_CHANNEL, "dinas-a", "sms"),
       "x",
       "me",
       {"principal.agency_id"}},
      {MakePrincipal(common::v1::ROLE_DASHBOARD, "dinas-a", "sms"),
       "x",
       "me",
       {"principal.agency_id", "principal.channel"}},
      {MakePrincipal(common::v1::ROLE_PLATFORM_ADMIN, "dinas-a"),
       "x",
       "me",
       {"principal.agency_id"}},
      // A channel names what it acts for: agencies and/or units, or every agency.
      {ScopedChannel({}), "x", "me", {"principal.scope_agency_ids"}},
      {[] {
         Principal p = ScopedChannel({"dinas-a"});
         p.set_scope_all_agencies(true);
         return p;
       }(),
       "x",
       "me",
       {"principal.scope_all_agencies"}},
      {ScopedChannel({"Dinas A", "dinas-b", "dinas-b"}, {"unit 1"}),
       "x",
       "me",
       {"principal.scope_agency_ids[0]", "principal.scope_agency_ids[2]",
        "principal.scope_unit_ids[0]"}},
      {ScopedChannel(std::vector<std::string>(kMaxScopeEntries + 1, "dinas-a")),
       "x",
       "me",
       {"principal.scope_agency_ids"}},
      {[] {
         Principal p = MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "dinas-a");
         p.add_scope_unit_ids("unit-1");
         return p;
       }(),
       "x",
       "me",
       {"principal.scope_agency_ids"}},
      {[] {
         Principal p = MakePrincipal(common::v1::ROLE_DASHBOARD);
         p.set_scope_all_agencies(true);
         return p;
       }(),
       "x",
       "me",
       {"principal.scope_all_agencies"}},
      {expiring, "x", "me", {"principal.subject", "principal.expire_time"}},
      {MakePrincipal(common::v1::ROLE_DASHBOARD), "", "me", {"label"}},
      {MakePrincipal(common::v1::ROLE_DASHBOARD), std::string(201, 'x'), "me", {"label"}},
      {MakePrincipal(common::v1::ROLE_DASHBOARD), "tab\tok but bell\a", "me", {"label"}},
      {MakePrincipal(common::v1::ROLE_DASHBOARD), "x", "", {"created_by"}},
      {MakePrincipal(common::v1::ROLE_UNSPECIFIED),
       "",
       "",
       {"principal.role", "label", "created_by"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(
        absl::StrCat(c.principal.ShortDebugString(), " label \"", absl::CHexEscape(c.label), "\""));
    auto issued = store->Issue(c.principal, c.label, c.created_by);
    ASSERT_FALSE(issued.ok());
    EXPECT_EQ(issued.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(FieldsOf(issued.status()), UnorderedElementsAreArray(c.fields)) << issued.status();
  }
  EXPECT_TRUE(AllRedisKeys().empty()) << "nothing is written for a rejected key";

  // The bounds themselves are fine.
  EXPECT_TRUE(
      store->Issue(MakePrincipal(common::v1::ROLE_DASHBOARD), std::string(200, 'x'), "me").ok());
  EXPECT_TRUE(store->Issue(MakePrincipal(common::v1::ROLE_CHANNEL, "", "wa"), "x", "me").ok());
}

TEST_F(ApiKeyStoreTest, CacheAnswersRepeatedVerifiesWithoutRedis) {
  ApiKeyStore::Options options;
  options.clock = &clock_;
  options.cache_ttl = absl::Seconds(5);
  options.negative_cache_ttl = absl::Seconds(1);
  auto created = ApiKeyStore::Create(pool_.get(), options);
  ASSERT_TRUE(created.ok());
  ApiKeyStore& store = **created;
  const IssuedApiKey issued = MustIssue(store, MakePrincipal(common::v1::ROLE_DASHBOARD));

  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store.Verify(issued.token).ok());
  EXPECT_EQ(store.stats().redis_lookups, 1);
  EXPECT_EQ(store.stats().cache_hits, 99);

  // A wrong secret for a cached key is answered from the cache too.
  std::string wrong = issued.token;
  wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
  EXPECT_EQ(store.Verify(wrong).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(store.stats().redis_lookups, 1);

  // Unknown ids are remembered for negative_cache_ttl.
  const std::string unknown = "k00000000000000ff." + SplitToken(issued.token).second;
  EXPECT_FALSE(store.Verify(unknown).ok());
  EXPECT_FALSE(store.Verify(unknown).ok());
  EXPECT_EQ(store.stats().redis_lookups, 2);
  EXPECT_EQ(store.stats().cached_unknown_ids, 1u);
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(store.Verify(unknown).ok());
  EXPECT_EQ(store.stats().redis_lookups, 3);

  // The key itself is read again once cache_ttl has passed.
  clock_.Advance(absl::Seconds(4));
  EXPECT_TRUE(store.Verify(issued.token).ok());
  EXPECT_EQ(store.stats().redis_lookups, 4);
}

TEST_F(ApiKeyStoreTest, VerifyCachedAnswersOnlyWithoutRedis) {
  auto issuer = NewStore();
  const IssuedApiKey issued = MustIssue(*issuer, MakePrincipal(common::v1::ROLE_DASHBOARD));
  auto store = NewStore();  // another gateway: nothing cached yet
  EXPECT_FALSE(store->VerifyCached(issued.token).has_value());
  EXPECT_EQ(store->stats().redis_lookups, 0);
  // A malformed token needs no Redis to be refused.
  auto malformed = store->VerifyCached("not-a-key");
  ASSERT_TRUE(malformed.has_value());
  EXPECT_EQ(malformed->status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(store->Verify(issued.token).ok());  // reads Redis, caches
  auto cached = store->VerifyCached(issued.token);
  ASSERT_TRUE(cached.has_value());
  ASSERT_TRUE(cached->ok()) << cached->status();
  EXPECT_EQ((*cached)->role(), common::v1::ROLE_DASHBOARD);
  std::string wrong = issued.token;
  wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
  auto refused = store->VerifyCached(wrong);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(store->stats().redis_lookups, 1);
  // Past the cache's lifetime it would need Redis again.
  clock_.Advance(absl::Seconds(6));
  EXPECT_FALSE(store->VerifyCached(issued.token).has_value());
  // Without a cache it never answers.
  auto uncached = NewStore(absl::ZeroDuration());
  ASSERT_TRUE(uncached->Verify(issued.token).ok());
  EXPECT_FALSE(uncached->VerifyCached(issued.token).has_value());
}

TEST_F(ApiKeyStoreTest, CachesAreBounded) {
  ApiKeyStore::Options options;
  options.clock = &clock_;
  options.cache_capacity = 4;
  options.negative_cache_capacity = 4;
  auto created = ApiKeyStore::Create(pool_.get(), options);
  ASSERT_TRUE(created.ok());
  ApiKeyStore& store = **created;
  std::vector<IssuedApiKey> keys;
  for (int i = 0; i < 10; ++i) {
    keys.push_back(MustIssue(store, MakePrincipal(common::v1::ROLE_DASHBOARD)));
  }
  for (int round = 0; round < 3; ++round) {
    for (const IssuedApiKey& key : keys) {
      ASSERT_TRUE(store.Verify(key.token).ok());
      EXPECT_LE(store.stats().cached_keys, 4u);
    }
  }
  const std::string secret = SplitToken(keys[0].token).second;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(
        store.Verify(absl::StrCat("k00000000000000", absl::Hex(i + 16), ".", secret)).ok());
    EXPECT_LE(store.stats().cached_unknown_ids, 4u);
  }
  EXPECT_LE(store.stats().cached_keys, 4u);
}

TEST_F(ApiKeyStoreTest, RevokedKeyStopsWorkingElsewhereAfterCacheTtl) {
  auto gateway = NewStore(absl::Seconds(5));  // another gateway process
  auto admin = NewStore(absl::Seconds(5));
  const IssuedApiKey issued =
      MustIssue(*admin, MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "dinas-a"));
  ASSERT_TRUE(gateway->Verify(issued.token).ok());

  clock_.Advance(absl::Seconds(1));
  auto revoked = admin->Revoke(issued.key.id(), "key:kboss");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revoke_time().seconds(), 1767225601);
  EXPECT_EQ(revoked->revoked_by(), "key:kboss");

  // The other gateway trusts its cache until cache_ttl after it read the key.
  clock_.Advance(absl::Milliseconds(3999));
  EXPECT_TRUE(gateway->Verify(issued.token).ok());
  clock_.Advance(absl::Milliseconds(1));
  auto after = gateway->Verify(issued.token);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(after.status().message(), HasSubstr("has been revoked"));

  // A wrong secret does not learn that the key is revoked.
  std::string wrong = issued.token;
  wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
  EXPECT_EQ(StdView(gateway->Verify(wrong).status().message()), kInvalidApiKeyMessage);
}

TEST_F(ApiKeyStoreTest, RevokeTakesEffectAtOnceInTheRevokingProcess) {
  auto store = NewStore(absl::Seconds(5));
  const IssuedApiKey issued = MustIssue(*store, MakePrincipal(common::v1::ROLE_DASHBOARD));
  ASSERT_TRUE(store->Verify(issued.token).ok());
  ASSERT_TRUE(store->Revoke(issued.key.id(), "key:kadmin").ok());
  auto verified = store->Verify(issued.token);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(verified.status().message()),
            "API key " + issued.key.id() + " has been revoked");
}

TEST_F(ApiKeyStoreTest, RevokedKeyFailsImmediatelyWithoutCache) {
  auto gateway = NewStore(absl::ZeroDuration());
  auto admin = NewStore();
  const IssuedApiKey issued = MustIssue(*admin, MakePrincipal(common::v1::ROLE_DASHBOARD));
  ASSERT_TRUE(gateway->Verify(issued.token).ok());
  ASSERT_TRUE(admin->Revoke(issued.key.id(), "key:kadmin").ok());
  EXPECT_EQ(gateway->Verify(issued.token).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(gateway->stats().cache_hits, 0);
  EXPECT_EQ(gateway->stats().cached_keys, 0u);
}

TEST_F(ApiKeyStoreTest, RevokedKeyStopsWorkingAfterShortRealTtl) {
  SystemClock real;
  auto gateway = NewStore(absl::Milliseconds(50), &real);
  auto admin = NewStore(absl::Milliseconds(50), &real);
  const IssuedApiKey issued = MustIssue(*admin, MakePrincipal(common::v1::ROLE_DASHBOARD));
  ASSERT_TRUE(gateway->Verify(issued.token).ok());
  ASSERT_TRUE(admin->Revoke(issued.key.id(), "key:kadmin").ok());
  absl::SleepFor(absl::Milliseconds(60));
  EXPECT_EQ(gateway->Verify(issued.token).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(ApiKeyStoreTest, RevokeIsIdempotentAndNamesProblems) {
  auto store = NewStore();
  const IssuedApiKey issued =
      MustIssue(*store, MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-a"));
  auto first = store->Revoke(issued.key.id(), "key:kone");
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Hours(1));
  auto second = store->Revoke(issued.key.id(), "key:ktwo");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->SerializeAsString(), first->SerializeAsString());
  EXPECT_EQ(second->revoked_by(), "key:kone");
  auto got = store->Get(issued.key.id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->SerializeAsString(), first->SerializeAsString());

  auto unknown = store->Revoke("k0123456789abcdef", "key:kone");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("k0123456789abcdef"));
  EXPECT_EQ(store->Get("k0123456789abcdef").status().code(), absl::StatusCode::kNotFound);

  auto malformed = store->Revoke("k0123", "");
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(malformed.status()), ElementsAre("id", "revoked_by"));
  EXPECT_THAT(FieldsOf(store->Get("").status()), ElementsAre("id"));
}

TEST_F(ApiKeyStoreTest, ListPagesInCreationOrderWithFilters) {
  auto store = NewStore();
  struct Made {
    std::string id;
    int64_t ms;
    std::string agency;
  };
  std::vector<Made> made;
  auto issue = [&](const Principal& p) {
    const IssuedApiKey k = MustIssue(*store, p);
    made.push_back({k.key.id(), absl::ToUnixMillis(clock_.Now()), p.agency_id()});
    return k.key.id();
  };
  issue(MakePrincipal(common::v1::ROLE_PLATFORM_ADMIN));
  issue(MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-a"));  // same millisecond
  clock_.Advance(absl::Milliseconds(1));
  const std::string a2 = issue(MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "dinas-a"));
  clock_.Advance(absl::Milliseconds(1));
  issue(MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-b"));
  clock_.Advance(absl::Milliseconds(1));
  issue(MakePrincipal(common::v1::ROLE_CHANNEL, "", "sms"));
  clock_.Advance(absl::Seconds(1));
  issue(MakePrincipal(common::v1::ROLE_DASHBOARD));
  clock_.Advance(absl::Hours(24));
  issue(MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-a"));
  std::vector<Made> sorted = made;
  std::sort(sorted.begin(), sorted.end(), [](const Made& a, const Made& b) {
    return std::tie(a.ms, a.id) < std::tie(b.ms, b.id);
  });

  // list_all collects every page of a query and checks each page's size.
  auto list_all = [&](v1::ListApiKeysRequest request, int page_size) {
    request.mutable_page()->set_page_size(page_size);
    if (page_size == 0) page_size = 50;  // the default
    std::vector<std::string> ids;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = store->List(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      if (!page->next_page_token().empty()) {
        EXPECT_EQ(page->keys_size(), page_size);
      }
      EXPECT_LE(page->keys_size(), page_size);
      for (const v1::ApiKey& key : page->keys()) ids.push_back(key.id());
      if (page->next_page_token().empty()) break;
      request.mutable_page()->set_page_token(page->next_page_token());
    }
    return ids;
  };
  std::vector<std::string> all_ids, agency_a_ids;
  for (const Made& m : sorted) {
    all_ids.push_back(m.id);
    if (m.agency == "dinas-a") agency_a_ids.push_back(m.id);
  }
  v1::ListApiKeysRequest all;
  for (int size : {1, 2, 3, 6, 7, 8, 500}) {
    SCOPED_TRACE(absl::StrCat("page size ", size));
    EXPECT_EQ(list_all(all, size), all_ids);
  }
  EXPECT_EQ(list_all(all, 0), all_ids);  // the default page size
  v1::ListApiKeysRequest agency_a;
  agency_a.set_agency_id("dinas-a");
  EXPECT_EQ(list_all(agency_a, 2), agency_a_ids);
  v1::ListApiKeysRequest agency_none;
  agency_none.set_agency_id("dinas-z");
  EXPECT_TRUE(list_all(agency_none, 2).empty());

  // Revoked keys are listed only on request, with their revocation.
  ASSERT_TRUE(store->Revoke(a2, "key:kadmin").ok());
  std::vector<std::string> active_a = agency_a_ids;
  active_a.erase(std::find(active_a.begin(), active_a.end(), a2));
  EXPECT_EQ(list_all(agency_a, 1), active_a);
  std::vector<std::string> active_all = all_ids;
  active_all.erase(std::find(active_all.begin(), active_all.end(), a2));
  EXPECT_EQ(list_all(all, 2), active_all);
  v1::ListApiKeysRequest with_revoked = agency_a;
  with_revoked.set_include_revoked(true);
  EXPECT_EQ(list_all(with_revoked, 1), agency_a_ids);
  auto page = store->List(with_revoked);
  ASSERT_TRUE(page.ok());
  for (const v1::ApiKey& key : page->keys()) EXPECT_EQ(key.has_revoke_time(), key.id() == a2);
  v1::ListApiKeysRequest all_with_revoked;
  all_with_revoked.set_include_revoked(true);
  EXPECT_EQ(list_all(all_with_revoked, 4), all_ids);

  // Paging is stable: a key issued meanwhile comes after the ones already listed.
  all.mutable_page()->set_page_size(3);
  auto first = store->List(all);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->keys_size(), 3);
  clock_.Advance(absl::Seconds(1));
  const std::string late = issue(MakePrincipal(common::v1::ROLE_DASHBOARD));
  std::vector<std::string> seen;
  for (const auto& key : first->keys()) seen.push_back(key.id());
  v1::ListApiKeysRequest rest = all;
  rest.mutable_page()->set_page_token(first->next_page_token());
  rest.mutable_page()->set_page_size(500);
  auto second = store->List(rest);
  ASSERT_TRUE(second.ok());
  for (const auto& key : second->keys()) seen.push_back(key.id());
  std::vector<std::string> expected = active_all;
  expected.push_back(late);
  EXPECT_EQ(seen, expected);

  // A token belongs to its query.
  v1::ListApiKeysRequest mixed = agency_a;
  mixed.mutable_page()->set_page_token(first->next_page_token());
  EXPECT_THAT(FieldsOf(store->List(mixed).status()), ElementsAre("page.page_token"));
  v1::ListApiKeysRequest revoked_too = all;
  revoked_too.set_include_revoked(true);
  revoked_too.mutable_page()->set_page_token(first->next_page_token());
  EXPECT_THAT(FieldsOf(store->List(revoked_too).status()), ElementsAre("page.page_token"));
  v1::ListApiKeysRequest garbage;
  garbage.mutable_page()->set_page_token("not-a-token");
  EXPECT_THAT(FieldsOf(store->List(garbage).status()), ElementsAre("page.page_token"));
  v1::ListApiKeysRequest bad;
  bad.set_agency_id("Dinas A");
  bad.mutable_page()->set_page_size(501);
  EXPECT_THAT(FieldsOf(store->List(bad).status()),
              UnorderedElementsAreArray({"page.page_size", "agency_id"}));
}

TEST_F(ApiKeyStoreTest, KeyPrefixesKeepStoresApart) {
  ApiKeyStore::Options options;
  options.key_prefix = "other:{gw2}:";
  options.clock = &clock_;
  auto other = ApiKeyStore::Create(pool_.get(), options);
  ASSERT_TRUE(other.ok());
  auto store = NewStore();
  const IssuedApiKey issued = MustIssue(**other, MakePrincipal(common::v1::ROLE_DASHBOARD));
  EXPECT_TRUE((*other)->Verify(issued.token).ok());
  EXPECT_EQ(store->Verify(issued.token).status().code(), absl::StatusCode::kUnauthenticated);
  for (const std::string& key : AllRedisKeys()) {
    EXPECT_THAT(key, ::testing::StartsWith("other:{gw2}:"));
  }

  for (const char* prefix : {"simpul:gw:", "simpul:gw:{}:", "simpul:gw:{k:"}) {
    options.key_prefix = prefix;
    EXPECT_EQ(ApiKeyStore::Create(pool_.get(), options).status().code(),
              absl::StatusCode::kInvalidArgument)
        << prefix;
  }
  options.key_prefix = "x:{k}:";
  options.cache_ttl = absl::Seconds(-1);
  EXPECT_EQ(ApiKeyStore::Create(pool_.get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ApiKeyStoreTest, RedisDownIsUnavailableExceptForCachedKeys) {
  auto store = NewStore(absl::Seconds(5));
  const IssuedApiKey cached = MustIssue(*store, MakePrincipal(common::v1::ROLE_DASHBOARD));
  const IssuedApiKey uncached = MustIssue(*store, MakePrincipal(common::v1::ROLE_DASHBOARD));
  ASSERT_TRUE(store->Verify(cached.token).ok());

  server_->Kill();
  EXPECT_TRUE(store->Verify(cached.token).ok());
  auto down = store->Verify(uncached.token);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  const std::string unknown = "k0123456789abcdef." + SplitToken(cached.token).second;
  EXPECT_EQ(store->Verify(unknown).status().code(), absl::StatusCode::kUnavailable);
  // A malformed token needs no Redis to be refused.
  EXPECT_EQ(store->Verify("nope").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(store->Issue(MakePrincipal(common::v1::ROLE_DASHBOARD), "x", "me").status().code(),
            absl::StatusCode::kUnavailable);
  // Past cache_ttl even the cached key needs Redis.
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(store->Verify(cached.token).status().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(server_->Restart().ok());
  absl::StatusOr<Principal> back = absl::UnavailableError("not tried");
  for (int i = 0; i < 60 && !back.ok(); ++i) {
    back = store->Verify(uncached.token);
    if (!back.ok()) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(store->Verify(cached.token).ok());
}

TEST_F(ApiKeyStoreTest, ConcurrentVerifyIsSafe) {
  SystemClock real;
  ApiKeyStore::Options options;
  options.clock = &real;
  options.cache_ttl = absl::Milliseconds(2);  // entries expire and are re-read all the time
  options.cache_capacity = 3;                 // and are evicted
  options.negative_cache_capacity = 2;
  auto created = ApiKeyStore::Create(pool_.get(), options);
  ASSERT_TRUE(created.ok());
  ApiKeyStore& store = **created;
  std::vector<IssuedApiKey> keys;
  for (int i = 0; i < 5; ++i) {
    keys.push_back(
        MustIssue(store, MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, absl::StrCat("dinas-", i))));
  }
  const std::string doomed = keys[4].key.id();
  std::vector<std::string> wrong;
  for (const IssuedApiKey& key : keys) {
    std::string token = key.token;
    token[20] = token[20] == 'A' ? 'B' : 'A';
    wrong.push_back(token);
  }

  std::atomic<int> failures{0};
  std::atomic<bool> revoked{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1500; ++i) {
        const IssuedApiKey& key = keys[(i + t) % keys.size()];
        if (t == 0 && i == 700) {
          if (store.Revoke(doomed, "key:kadmin").ok()) revoked = true;
        }
        const bool was_revoked = revoked.load() && key.key.id() == doomed;
        auto good = store.Verify(key.token);
        if (key.key.id() == doomed) {
          // Before the revocation OK, after it refused; in between either.
          if (was_revoked && good.ok()) ++failures;
        } else if (!good.ok() || good->agency_id() != key.key.principal().agency_id() ||
                   good->subject() != "key:" + key.key.id()) {
          ++failures;
        }
        auto bad = store.Verify(wrong[(i + t) % wrong.size()]);
        if (bad.ok() || StdView(bad.status().message()) != kInvalidApiKeyMessage) ++failures;
        if (store
                .Verify(absl::StrCat("k00000000000000", absl::Hex(16 + i % 200), ".",
                                     SplitToken(key.token).second))
                .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(revoked.load());
  EXPECT_EQ(store.Verify(keys[4].token).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_LE(store.stats().cached_keys, 3u);
  EXPECT_LE(store.stats().cached_unknown_ids, 2u);
  EXPECT_GT(store.stats().cache_hits, 0);
}

TEST_F(ApiKeyStoreTest, ConcurrentCachedVerifyHitsTheCache) {
  auto store = NewStore(absl::Seconds(60));
  std::vector<IssuedApiKey> keys;
  for (int i = 0; i < 4; ++i) {
    keys.push_back(MustIssue(*store, MakePrincipal(common::v1::ROLE_DASHBOARD)));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        if (!store->Verify(keys[(i + t) % keys.size()].token).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // At most one read per key and thread that raced to fill the cache.
  EXPECT_LE(store->stats().redis_lookups, 4 * 8);
  EXPECT_EQ(store->stats().cache_hits + store->stats().redis_lookups, 8 * 5000);
}

// Measures Verify latency: run with --gtest_also_run_disabled_tests.
TEST_F(ApiKeyStoreTest, DISABLED_VerifyLatency) {
  SystemClock real;
  auto cached_store = NewStore(absl::Seconds(60), &real);
  auto uncached_store = NewStore(absl::ZeroDuration(), &real);
  const IssuedApiKey issued = MustIssue(*cached_store, MakePrincipal(common::v1::ROLE_DASHBOARD));
  ASSERT_TRUE(cached_store->Verify(issued.token).ok());
  auto measure = [&](ApiKeyStore& store, int n) {
    const absl::Time start = absl::Now();
    for (int i = 0; i < n; ++i) {
      if (!store.Verify(issued.token).ok()) ADD_FAILURE();
    }
    return (absl::Now() - start) / n;
  };
  const absl::Duration cached = measure(*cached_store, 200000);
  const absl::Duration uncached = measure(*uncached_store, 5000);
  std::cout << "Verify cached: " << absl::FormatDuration(cached)
            << " per call; uncached (one Redis GET): " << absl::FormatDuration(uncached)
            << " per call\n";
}

TEST(ApiKeyRulesTest, AdminRuleMatrix) {
  const Principal platform_admin = MakePrincipal(common::v1::ROLE_PLATFORM_ADMIN);
  const Principal admin_a = MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-a");
  const Principal admin_nowhere = MakePrincipal(common::v1::ROLE_AGENCY_ADMIN);
  const Principal operator_a = MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "dinas-a");
  const Principal channel = MakePrincipal(common::v1::ROLE_CHANNEL, "", "sms");
  const Principal dashboard = MakePrincipal(common::v1::ROLE_DASHBOARD);
  const Principal anonymous;

  const Principal keys[] = {
      MakePrincipal(common::v1::ROLE_PLATFORM_ADMIN),
      MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-a"),
      MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "dinas-a"),
      MakePrincipal(common::v1::ROLE_AGENCY_ADMIN, "dinas-b"),
      MakePrincipal(common::v1::ROLE_AGENCY_OPERATOR, "dinas-b"),
      MakePrincipal(common::v1::ROLE_CHANNEL, "", "sms"),
      MakePrincipal(common::v1::ROLE_DASHBOARD),
  };
  // Which of `keys` each caller may issue, see and revoke.
  const struct {
    const char* name;
    const Principal& caller;
    std::vector<bool> allowed;
  } callers[] = {
      {"platform admin", platform_admin, {true, true, true, true, true, true, true}},
      {"agency admin", admin_a, {false, true, true, false, false, false, false}},
      {"agency admin without agency", admin_nowhere, std::vector<bool>(7, false)},
      {"agency operator", operator_a, std::vector<bool>(7, false)},
      {"channel", channel, std::vector<bool>(7, false)},
      {"dashboard", dashboard, std::vector<bool>(7, false)},
      {"public", anonymous, std::vector<bool>(7, false)},
  };
  for (const auto& c : callers) {
    for (size_t i = 0; i < std::size(keys); ++i) {
      SCOPED_TRACE(absl::StrCat(c.name, " on ", keys[i].ShortDebugString()));
      v1::ApiKey key;
      key.set_id("k0123456789abcdef");
      *key.mutable_principal() = keys[i];
      for (const absl::Status& status :
           {CanIssue(c.caller, keys[i]), CanSee(c.caller, key), CanRevoke(c.caller, key)}) {
        if (c.allowed[i]) {
          EXPECT_TRUE(status.ok()) << status;
        } else {
          EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
        }
      }
    }
  }

  EXPECT_EQ(*ListScope(platform_admin, ""), "");
  EXPECT_EQ(*ListScope(platform_admin, "dinas-b"), "dinas-b");
  EXPECT_EQ(*ListScope(admin_a, ""), "dinas-a");
  EXPECT_EQ(*ListScope(admin_a, "dinas-a"), "dinas-a");
  EXPECT_EQ(ListScope(admin_a, "dinas-b").status().code(), absl::StatusCode::kPermissionDenied);
  for (const Principal* p : {&admin_nowhere, &operator_a, &channel, &dashboard, &anonymous}) {
    EXPECT_EQ(ListScope(*p, "").status().code(), absl::StatusCode::kPermissionDenied)
        << p->ShortDebugString();
  }
}

TEST(ApiKeyRulesTest, IdsAndChannelNames) {
  EXPECT_TRUE(IsValidApiKeyId("k0123456789abcdef"));
  EXPECT_FALSE(IsValidApiKeyId("k0123456789ABCDEF"));
  EXPECT_FALSE(IsValidApiKeyId("k0123456789abcde"));
  EXPECT_FALSE(IsValidApiKeyId("x0123456789abcdef"));
  EXPECT_FALSE(IsValidApiKeyId(""));
  EXPECT_TRUE(IsValidChannelName("sms"));
  EXPECT_TRUE(IsValidChannelName("wa"));
  EXPECT_TRUE(IsValidChannelName("lapor_sp4n-2"));
  EXPECT_FALSE(IsValidChannelName("s"));
  EXPECT_FALSE(IsValidChannelName("_sms"));
  EXPECT_FALSE(IsValidChannelName("SMS"));
  EXPECT_FALSE(IsValidChannelName("sms gateway"));
  EXPECT_FALSE(IsValidChannelName(std::string(65, 'a')));
}

// The simpul-apikey CLI, run as a process against the test Redis.
class ApiKeyCliTest : public ApiKeyStoreTest {
 protected:
  struct Result {
    int exit_code = -1;
    std::string out;
    std::string err;
  };

  static std::string ShellQuote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Run runs simpul-apikey with `args` after "--redis 127.0.0.1:<test port>" (unless
  // with_redis is false) and returns its exit code and output.
  Result Run(const std::vector<std::string>& args, bool with_redis = true) {
#ifdef SIMPUL_APIKEY_BIN
    const std::string dir = testing::MakeTempDir("simpul-apikey-cli");
    std::string command = ShellQuote(SIMPUL_APIKEY_BIN);
    if (with_redis) command += " --redis 127.0.0.1:" + std::to_string(server_->port());
    for (const std::string& arg : args) command += " " + ShellQuote(arg);
    command += " >" + dir + "/out 2>" + dir + "/err </dev/null";
    const int status = std::system(command.c_str());
    Result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = ReadFile(dir + "/out");
    result.err = ReadFile(dir + "/err");
    std::filesystem::remove_all(dir);
    return result;
#else
    ADD_FAILURE() << "SIMPUL_APIKEY_BIN is not defined: the test cannot find simpul-apikey";
    return Result{};
#endif
  }
};

TEST_F(ApiKeyCliTest, IssueListRevoke) {
  Result issued =
      Run({"issue", "--role", "platform_admin", "--label", "first admin", "--by", "cli:setup"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  EXPECT_THAT(issued.err, HasSubstr("shown only this once"));
  std::string id, token;
  for (absl::string_view line : absl::StrSplit(issued.out, '\n')) {
    if (absl::ConsumePrefix(&line, "id: ")) id = std::string(line);
    if (absl::ConsumePrefix(&line, "token: ")) token = std::string(line);
  }
  ASSERT_TRUE(IsValidApiKeyId(id)) << issued.out;
  auto store = NewStore(absl::ZeroDuration());
  auto principal = store->Verify(token);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->role(), common::v1::ROLE_PLATFORM_ADMIN);
  EXPECT_EQ(principal->subject(), "key:" + id);
  EXPECT_EQ(store->Get(id)->created_by(), "cli:setup");

  Result agency = Run({"issue", "--role=agency_operator", "--agency=dinas-a", "--label=ops"});
  ASSERT_EQ(agency.exit_code, 0) << agency.err;
  EXPECT_THAT(agency.out, HasSubstr("agency: dinas-a"));

  // A channel key carries the agencies and units it acts for into its principal.
  Result channel =
      Run({"issue", "--role=channel", "--channel=sms", "--scope-agency=dinas-a,dinas-b",
           "--scope-unit", "puskesmas-1", "--label=sms"});
  ASSERT_EQ(channel.exit_code, 0) << channel.err;
  EXPECT_THAT(channel.out, HasSubstr("scope agencies: dinas-a,dinas-b"));
  EXPECT_THAT(channel.out, HasSubstr("scope units: puskesmas-1"));
  std::string channel_token;
  for (absl::string_view line : absl::StrSplit(channel.out, '\n')) {
    if (absl::ConsumePrefix(&line, "token: ")) channel_token = std::string(line);
  }
  auto scoped = store->Verify(channel_token);
  ASSERT_TRUE(scoped.ok()) << scoped.status();
  EXPECT_THAT(scoped->scope_agency_ids(), ElementsAre("dinas-a", "dinas-b"));
  EXPECT_THAT(scoped->scope_unit_ids(), ElementsAre("puskesmas-1"));
  EXPECT_FALSE(scoped->scope_all_agencies());

  Result listed = Run({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(id));
  EXPECT_THAT(listed.out, HasSubstr("first admin"));
  EXPECT_THAT(listed.out, HasSubstr("dinas-a"));
  EXPECT_EQ(listed.out.find(token.substr(18)), std::string::npos) << "never a secret";
  Result filtered = Run({"list", "--agency", "dinas-a"});
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;
  EXPECT_EQ(filtered.out.find(id), std::string::npos);
  EXPECT_THAT(filtered.out, HasSubstr("agency_operator"));

  Result revoked = Run({"revoke", id, "--by", "cli:ops"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_THAT(revoked.out, HasSubstr("revoked: " + id));
  EXPECT_EQ(store->Verify(token).status().code(), absl::StatusCode::kUnauthenticated);
  Result again = Run({"revoke", id});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("already revoked: " + id));
  EXPECT_THAT(again.out, HasSubstr("by cli:ops"));
  EXPECT_EQ(Run({"list"}).out.find(id), std::string::npos);
  EXPECT_THAT(Run({"list", "--all"}).out, HasSubstr(id));
}

TEST_F(ApiKeyCliTest, ExitCodes) {
  const struct {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  } cases[] = {
      {{}, 2, "missing command"},
      {{"frobnicate"}, 2, "unknown command"},
      {{"list", "--frob"}, 2, "unknown option --frob"},
      {{"issue", "--label", "x"}, 2, "needs --role"},
      {{"issue", "--role", "wizard", "--label", "x"}, 2, "unknown --role wizard"},
      {{"issue", "--role", "platform_admin"}, 2, "needs --label"},
      {{"issue", "--role", "agency_admin", "--label", "x"}, 2, "--agency: required"},
      {{"issue", "--role", "channel", "--label", "x", "--agency", "dinas-a"}, 2, "--channel"},
      {{"list", "--role", "channel"}, 2, "list does not take --role"},
      {{"issue", "--role", "channel", "--channel", "sms", "--label", "x"}, 2, "--scope-agency"},
      {{"issue", "--role", "channel", "--channel", "sms", "--label", "x", "--all-agencies",
        "--scope-unit", "u-1"},
       2,
       "--all-agencies"},
      {{"issue", "--role", "dashboard", "--label", "x", "--all-agencies"}, 2, "--all-agencies"},
      {{"issue", "--role", "channel", "--all-agencies=yes"}, 2, "takes no value"},
      {{"revoke"}, 2, "needs the key id"},
      {{"revoke", "nope"}, 2, "not an API key id"},
      {{"revoke", "k0123456789abcdef"}, 1, "NOT_FOUND"},
      {{"list", "--label"}, 2, "needs a value"},
      {{"list", "--timeout", "soon"}, 2, "--timeout"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(absl::StrJoin(c.args, " "));
    Result result = Run(c.args);
    EXPECT_EQ(result.exit_code, c.exit_code) << result.err;
    EXPECT_THAT(result.err, HasSubstr(c.message));
  }

  Result help = Run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Usage: simpul-apikey"));
  Result bad_address = Run({"--redis", "localhost", "list"}, false);
  EXPECT_EQ(bad_address.exit_code, 2);
  EXPECT_THAT(bad_address.err, HasSubstr("HOST:PORT"));
  Result unreachable = Run(
      {"--redis", absl::StrCat("127.0.0.1:", testing::PickFreePort()), "--timeout", "1s", "list"},
      false);
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.err, HasSubstr("cannot reach Redis"));
  // Bad values are usage errors whether or not Redis is up.
  Result bad_value_offline =
      Run({"--redis", absl::StrCat("127.0.0.1:", testing::PickFreePort()), "issue", "--role",
           "agency_admin", "--agency", "Dinas A", "--label", "x"},
          false);
  EXPECT_EQ(bad_value_offline.exit_code, 2);
  EXPECT_THAT(bad_value_offline.err, HasSubstr("--agency"));
}

// The CLI authenticates as the Redis ACL user of SIMPUL_REDIS_USER /
// SIMPUL_REDIS_PASSWORD_FILE (deploy/redis-users users: simpul-admin for the operator).
TEST_F(ApiKeyCliTest, AuthenticatesAsTheRedisUserOfTheEnvironment) {
  auto acl = testing::RedisServer::StartWithAcl(/*append_only=*/false);
  ASSERT_TRUE(acl.ok()) << acl.status();
  const std::string redis = absl::StrCat("127.0.0.1:", (*acl)->port());
  auto as = [&](const std::string& user, const std::string& file) {
    setenv("SIMPUL_REDIS_USER", user.c_str(), 1);
    setenv("SIMPUL_REDIS_PASSWORD_FILE", file.c_str(), 1);
  };
  unsetenv("SIMPUL_REDIS_USER");
  unsetenv("SIMPUL_REDIS_PASSWORD_FILE");
  Result anonymous = Run({"--redis", redis, "list"}, /*with_redis=*/false);
  EXPECT_NE(anonymous.exit_code, 0);
  EXPECT_THAT(anonymous.err, HasSubstr("NOAUTH"));

  as("simpul-admin", (*acl)->PasswordFile("simpul-admin"));
  Result issued =
      Run({"--redis", redis, "issue", "--role", "platform_admin", "--label", "acl admin"},
          /*with_redis=*/false);
  EXPECT_EQ(issued.exit_code, 0) << issued.err;
  Result listed = Run({"--redis", redis, "list"}, /*with_redis=*/false);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("acl admin"));

  // The monitoring service's user may not read API keys.
  as("simpul-monitoring", (*acl)->PasswordFile("simpul-monitoring"));
  Result refused = Run({"--redis", redis, "list"}, /*with_redis=*/false);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, AllOf(HasSubstr("NOPERM"), HasSubstr("simpul-monitoring")));

  // A wrong password: the error names the user, never the password.
  const std::string dir = testing::MakeTempDir("simpul-apikey-acl");
  const std::string wrong = dir + "/wrong.password";
  std::ofstream(wrong) << "not-this-Xq-secret\n";
  chmod(wrong.c_str(), 0600);
  as("simpul-admin", wrong);
  Result bad = Run({"--redis", redis, "list"}, /*with_redis=*/false);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, AllOf(HasSubstr("AUTH as user 'simpul-admin' refused"),
                             HasSubstr("WRONGPASS"), Not(HasSubstr("Xq-secret"))));
  // A password file others may read is refused before connecting (usage error).
  chmod(wrong.c_str(), 0644);
  Result open_file = Run({"--redis", redis, "list"}, /*with_redis=*/false);
  EXPECT_EQ(open_file.exit_code, 2);
  EXPECT_THAT(open_file.err, AllOf(HasSubstr("SIMPUL_REDIS_PASSWORD_FILE"), HasSubstr("chmod 600"),
                                   Not(HasSubstr("Xq-secret"))));
  unsetenv("SIMPUL_REDIS_USER");
  unsetenv("SIMPUL_REDIS_PASSWORD_FILE");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace simpul::gateway
