// ApiKeyStore: API keys in Redis (key layout in the header), the Verify cache, and the
// authorization rules of the admin API.
#include "gateway/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/channel_scope.h"
#include "common/field_rules.h"
#include "common/page_token.h"
#include "common/status.h"
#include "google/protobuf/timestamp.pb.h"

namespace simpul::gateway {
namespace {

using common::v1::Principal;
using common::v1::Role;

constexpr size_t kIdRandomBytes = 8;  // 16 hex digits
constexpr size_t kIdSize = 1 + 2 * kIdRandomBytes;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // unpadded base64url of 32 bytes
constexpr size_t kMaxLabelBytes = 200;
constexpr size_t kMaxSubjectBytes = 256;
constexpr int kDefaultPageSize = 50;
constexpr int kIssueAttempts = 3;
constexpr int kRevokeAttempts = 5;
constexpr size_t kMemberTimeDigits = 16;

// kIndexTypeErrorLua defines index_type_error(): key_type_error (kLuaKeyTypeError) for the
// index keys KEYS[2..], sorted sets. The scripts below are run after both.
constexpr char kIndexTypeErrorLua[] = R"lua(
local function index_type_error()
  local checks = {}
  for i = 2, #KEYS do checks[#checks + 1] = {KEYS[i], 'zset'} end
  return key_type_error(checks)
end
)lua";

// kIssueLua stores a new key:
//   KEYS = [record, index...]; ARGV = [serialized v1.ApiKeyRecord, index member]
// Returns 1 after writing, or 0 without writing when the id is taken. Every check comes
// before the first write (Redis does not roll a script back).
constexpr char kIssueLua[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local err = index_type_error()
if err then return err end
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[2]) end
return 1
)lua";

// kRevokeLua replaces a record by its revoked form and leaves the active indexes:
//   KEYS = [record, active index...]; ARGV = [record as read, revoked record, index member]
// Returns 2 after writing, or without writing 1 when the record changed since it was read and
// 0 when there is none.
constexpr char kRevokeLua[] = R"lua(
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return 1 end
local err = index_type_error()
if err then return err end
redis.call('SET', KEYS[1], ARGV[2])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[3]) end
return 2
)lua";

bool IsAgencyRole(Role role) {
  return role == common::v1::ROLE_AGENCY_ADMIN || role == common::v1::ROLE_AGENCY_OPERATOR;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("the random generator (OpenSSL RAND_bytes) failed");
  }
  return out;
}

// Sha256Md is SHA-256 fetched once: EVP_sha256() makes every digest look the algorithm up
// again, which costs more than hashing 32 bytes (Verify hashes on every call).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

// Sha256 returns the 32-byte digest of `data` (empty if OpenSSL fails).
std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, Sha256Md(), nullptr) != 1) return "";
  return std::string(reinterpret_cast<const char*>(md), len);
}

struct ParsedToken {
  std::string_view id;
  std::string secret;  // 32 bytes
};

// ParseToken accepts exactly "<id>.<secret>" with the secret in canonical unpadded base64url.
std::optional<ParsedToken> ParseToken(std::string_view token) {
  if (token.size() != kIdSize + 1 + kSecretChars || token[kIdSize] != '.') return std::nullopt;
  std::string_view id = token.substr(0, kIdSize);
  std::string_view encoded = token.substr(kIdSize + 1);
  if (!IsValidApiKeyId(id) ||
      !std::all_of(encoded.begin(), encoded.end(), [](char c) { return IsBase64UrlChar(c); })) {
    return std::nullopt;
  }
  ParsedToken parsed{id, ""};
  if (!absl::WebSafeBase64Unescape(AbslView(encoded), &parsed.secret) ||
      parsed.secret.size() != kSecretBytes ||
      absl::WebSafeBase64Escape(parsed.secret) != AbslView(encoded)) {
    return std::nullopt;
  }
  return parsed;
}

absl::Status InvalidKey() { return absl::UnauthenticatedError(AbslView(kInvalidApiKeyMessage)); }

// StoreUnavailable maps a failed Redis read on the Verify path: transport trouble of any kind
// is UNAVAILABLE (the caller may retry; its key is not the problem), the rest stays as it is.
absl::Status StoreUnavailable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return absl::UnavailableError(absl::StrCat(
          "API keys cannot be verified now (key store unreachable): ", status.message()));
    default:
      return status;
  }
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Member is the index member of a key: "<create time in Unix ms, 16 digits>:<id>".
std::string Member(const v1::ApiKey& key) {
  const int64_t ms = std::max<int64_t>(0, absl::ToUnixMillis(ToTime(key.create_time())));
  return absl::StrCat(absl::Dec(ms, absl::kZeroPad16), ":", key.id());
}

bool IsValidMember(std::string_view member) {
  if (member.size() != kMemberTimeDigits + 1 + kIdSize || member[kMemberTimeDigits] != ':') {
    return false;
  }
  for (size_t i = 0; i < kMemberTimeDigits; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(member[i]))) return false;
  }
  return IsValidApiKeyId(member.substr(kMemberTimeDigits + 1));
}

std::string Quoted(std::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(AbslView(text.substr(0, 80))), "\"");
}

void CheckId(FieldViolations& v, std::string_view id) {
  if (id.empty()) {
    v.Add("id", "required");
  } else if (!IsValidApiKeyId(id)) {
    v.Add("id", absl::StrCat(Quoted(id),
                             " is not an API key id: expected \"k\" and 16 lowercase hex digits"));
  }
}

void CheckPrincipal(FieldViolations& v, const Principal& p) {
  const Role role = p.role();
  const std::string role_name =
      common::v1::Role_IsValid(role) ? common::v1::Role_Name(role) : absl::StrCat(role);
  if (role == common::v1::ROLE_UNSPECIFIED) {
    v.Add("principal.role",
          "required: ROLE_AGENCY_ADMIN, ROLE_AGENCY_OPERATOR, ROLE_CHANNEL, ROLE_DASHBOARD or "
          "ROLE_PLATFORM_ADMIN");
  } else if (!common::v1::Role_IsValid(role)) {
    v.Add("principal.role", absl::StrCat("unknown role ", role_name));
  } else if (role == common::v1::ROLE_SERVICE) {
    v.Add("principal.role",
          "ROLE_SERVICE is not for API keys: services call each other with their own keys");
  } else {
    if (IsAgencyRole(role)) {
      CheckSlug(v, "principal.agency_id", p.agency_id());
    } else if (!p.agency_id().empty()) {
      v.Add("principal.agency_id",
            absl::StrCat("must be empty for ", role_name, ", got ", Quoted(p.agency_id())));
    }
    if (role == common::v1::ROLE_CHANNEL) {
      if (p.channel().empty()) {
        v.Add("principal.channel", "required for ROLE_CHANNEL");
      } else if (!IsValidChannelName(p.channel())) {
        v.Add("principal.channel",
              absl::StrCat(Quoted(p.channel()),
                           " is not a valid channel name: expected 2..64 characters of a-z, "
                           "0-9, '-' and '_', starting and ending with a letter or digit"));
      }
    } else if (!p.channel().empty()) {
      v.Add("principal.channel",
            absl::StrCat("must be empty for ", role_name, ", got ", Quoted(p.channel())));
    }
    CheckChannelScope(p, "principal", v);
  }
  if (!p.subject().empty()) {
    v.Add("principal.subject",
          "must be empty: a key's subject is \"key:<id>\", set when it is issued");
  }
  if (p.has_expire_time()) {
    v.Add("principal.expire_time", "must be unset: API keys do not expire (revoke them)");
  }
}

absl::Status NotAKeyManager() {
  return absl::PermissionDeniedError("only platform admins and agency admins manage API keys");
}

// CanManageKey is the rule of CanSee and CanRevoke; `verb` is "see" or "revoke".
absl::Status CanManageKey(const Principal& caller, const v1::ApiKey& key, std::string_view verb) {
  switch (caller.role()) {
    case common::v1::ROLE_PLATFORM_ADMIN:
      return absl::OkStatus();
    case common::v1::ROLE_AGENCY_ADMIN:
      if (caller.agency_id().empty()) return NotAKeyManager();
      if (IsAgencyRole(key.principal().role()) &&
          key.principal().agency_id() == caller.agency_id()) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(
          absl::StrCat("an agency admin may ", AbslView(verb), " only the API keys of its own ",
                       "agency \"", caller.agency_id(), "\"; key ", key.id(), " is not one"));
    default:
      return NotAKeyManager();
  }
}

// Shrink makes room in a full cache map: it drops the expired entries, then arbitrary ones
// until a quarter is free, so that a flood of new ids costs amortized O(1) per insert.
template <typename Map, typename ExpiresOf>
void Shrink(Map& map, size_t capacity, absl::Time now, ExpiresOf expires_of) {
  absl::erase_if(map, [&](const auto& entry) { return expires_of(entry.second) <= now; });
  const size_t target = capacity - 1 - capacity / 4;
  for (auto it = map.begin(); it != map.end() && map.size() > target;) map.erase(it++);
}

}  // namespace

bool IsValidApiKeyId(std::string_view id) {
  return id.size() == kIdSize && id[0] == 'k' &&
         std::all_of(id.begin() + 1, id.end(), [](char c) { return IsLowerHex(c); });
}

bool IsValidChannelName(std::string_view channel) {
  if (channel.size() < 2 || channel.size() > 64) return false;
  for (char c : channel) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return false;
    }
  }
  auto alnum = [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); };
  return alnum(channel.front()) && alnum(channel.back());
}

absl::StatusOr<std::unique_ptr<ApiKeyStore>> ApiKeyStore::Create(RedisPool* pool, Options options) {
  if (pool == nullptr) return absl::InvalidArgumentError("API key store: no Redis pool");
  const size_t open = options.key_prefix.find('{');
  const size_t close =
      open == std::string::npos ? std::string::npos : options.key_prefix.find('}', open + 1);
  if (close == std::string::npos || close == open + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("API key store: key_prefix ", Quoted(options.key_prefix),
                     " has no non-empty hash tag \"{...}\" (e.g. \"simpul:gw:{k}:\")"));
  }
  if (options.cache_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("API key store: cache_ttl must not be negative");
  }
  if (options.negative_cache_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("API key store: negative_cache_ttl must not be negative");
  }
  return std::unique_ptr<ApiKeyStore>(new ApiKeyStore(pool, std::move(options)));
}

ApiKeyStore::ApiKeyStore(RedisPool* pool, Options options)
    : pool_(pool), options_(std::move(options)) {}

absl::Time ApiKeyStore::Now() const {
  return options_.clock != nullptr ? options_.clock->Now() : system_clock_.Now();
}

std::string ApiKeyStore::Key(std::string_view suffix) const {
  return absl::StrCat(options_.key_prefix, AbslView(suffix));
}

std::string ApiKeyStore::RecordKey(std::string_view id) const {
  return Key(absl::StrCat("key:", AbslView(id)));
}

std::string ApiKeyStore::IndexKey(std::string_view agency_id, bool active_only) const {
  const char* which = active_only ? "active" : "all";
  if (agency_id.empty()) return Key(absl::StrCat("ix:", which));
  return Key(absl::StrCat("ix:agency:", AbslView(agency_id), ":", which));
}

absl::StatusOr<IssuedApiKey> ApiKeyStore::Issue(const Principal& principal, std::string_view label,
                                                std::string_view created_by) {
  FieldViolations v;
  CheckPrincipal(v, principal);
  CheckText(v, "label", AbslView(label), 1, kMaxLabelBytes);
  CheckText(v, "created_by", AbslView(created_by), 1, kMaxSubjectBytes);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("API key"));

  const absl::Time now = Now();
  for (int attempt = 0; attempt < kIssueAttempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(std::string id_bytes, RandomBytes(kIdRandomBytes));
    SIMPUL_ASSIGN_OR_RETURN(std::string secret, RandomBytes(kSecretBytes));
    const std::string id = absl::StrCat("k", absl::BytesToHexString(id_bytes));

    v1::ApiKeyRecord record;
    v1::ApiKey& key = *record.mutable_key();
    key.set_id(id);
    *key.mutable_principal() = principal;
    key.mutable_principal()->set_subject(absl::StrCat(AbslView(kApiKeySubjectPrefix), id));
    key.set_label(std::string(label));
    *key.mutable_create_time() = ToProto(now);
    key.set_created_by(std::string(created_by));
    record.set_secret_sha256(Sha256(secret));
    if (record.secret_sha256().size() != 32) {
      return absl::InternalError("SHA-256 (OpenSSL EVP_Digest) failed");
    }

    std::vector<std::string> keys = {RecordKey(id), IndexKey("", false), IndexKey("", true)};
    if (!principal.agency_id().empty()) {
      keys.push_back(IndexKey(principal.agency_id(), false));
      keys.push_back(IndexKey(principal.agency_id(), true));
    }
    SIMPUL_ASSIGN_OR_RETURN(
        RedisReply reply,
        pool_->EvalWrite(LuaScript<kLuaKeyTypeError, kIndexTypeErrorLua, kIssueLua>(), keys,
                         {record.SerializeAsString(), Member(key)}));
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("issue of API key ", id)));
    const std::optional<int64_t> written = ReplyInt(reply);
    if (!written) return MalformedReply("API key issue script");
    if (*written == 1) {
      IssuedApiKey issued;
      issued.token = absl::StrCat(id, ".", absl::WebSafeBase64Escape(secret));
      issued.key = std::move(key);
      OPENSSL_cleanse(secret.data(), secret.size());
      return issued;
    }
    OPENSSL_cleanse(secret.data(), secret.size());
  }
  return absl::InternalError(
      absl::StrCat("no free API key id after ", kIssueAttempts, " random draws"));
}

absl::StatusOr<std::optional<std::pair<v1::ApiKeyRecord, std::string>>> ApiKeyStore::Read(
    std::string_view id) {
  using Result = std::optional<std::pair<v1::ApiKeyRecord, std::string>>;
  const std::string key = RecordKey(id);
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"GET", key}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("GET ", key)));
  if (reply.is_nil()) return Result();
  std::optional<std::string> bytes = ReplyString(reply);
  if (!bytes) return MalformedReply(absl::StrCat("GET ", key));
  v1::ApiKeyRecord record;
  if (!record.ParseFromString(*bytes)) {
    return absl::InternalError(
        absl::StrCat("stored simpul.gateway.v1.ApiKeyRecord at key ", key, " cannot be parsed"));
  }
  if (record.key().id() != id) {
    return absl::InternalError(absl::StrCat("stored record at key ", key, " holds another key"));
  }
  return Result(std::make_pair(std::move(record), std::move(*bytes)));
}

absl::StatusOr<Principal> ApiKeyStore::Check(const CachedKey& key, std::string_view id,
                                             std::string_view secret_sha256) const {
  if (key.secret_sha256.size() != secret_sha256.size() ||
      CRYPTO_memcmp(key.secret_sha256.data(), secret_sha256.data(), secret_sha256.size()) != 0) {
    return InvalidKey();
  }
  if (key.revoked) {
    return absl::UnauthenticatedError(absl::StrCat("API key ", AbslView(id), " has been revoked"));
  }
  return key.principal;
}

std::optional<absl::StatusOr<Principal>> ApiKeyStore::VerifyCached(std::string_view token) {
  if (options_.cache_ttl <= absl::ZeroDuration()) return std::nullopt;
  std::optional<ParsedToken> parsed = ParseToken(token);
  if (!parsed) return absl::StatusOr<Principal>(InvalidKey());
  const absl::Time now = Now();
  std::shared_ptr<const CachedKey> cached;
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    auto it = known_.find(AbslView(parsed->id));
    if (it != known_.end() && now < it->second.expires) {
      cached = it->second.key;
    } else {
      auto u = unknown_.find(AbslView(parsed->id));
      if (u == unknown_.end() || now >= u->second) return std::nullopt;
    }
  }
  cache_hits_.fetch_add(1, std::memory_order_relaxed);
  if (cached == nullptr) return absl::StatusOr<Principal>(InvalidKey());
  const std::string hash = Sha256(parsed->secret);
  OPENSSL_cleanse(parsed->secret.data(), parsed->secret.size());
  if (hash.empty()) {
    return absl::StatusOr<Principal>(absl::InternalError("SHA-256 (OpenSSL EVP_Digest) failed"));
  }
  return Check(*cached, parsed->id, hash);
}

absl::StatusOr<Principal> ApiKeyStore::Verify(std::string_view token) {
  std::optional<ParsedToken> parsed = ParseToken(token);
  if (!parsed) return InvalidKey();
  const std::string hash = Sha256(parsed->secret);
  OPENSSL_cleanse(parsed->secret.data(), parsed->secret.size());
  if (hash.empty()) return absl::InternalError("SHA-256 (OpenSSL EVP_Digest) failed");

  const absl::Time now = Now();
  const bool caching = options_.cache_ttl > absl::ZeroDuration();
  uint64_t epoch = 0;
  if (caching) {
    std::shared_ptr<const CachedKey> cached;
    bool unknown = false;
    {
      absl::ReaderMutexLock lock(&cache_mu_);
      epoch = forget_epoch_;
      auto it = known_.find(AbslView(parsed->id));
      if (it != known_.end() && now < it->second.expires) {
        cached = it->second.key;
      } else {
        auto u = unknown_.find(AbslView(parsed->id));
        unknown = u != unknown_.end() && now < u->second;
      }
    }
    if (cached != nullptr) {
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return Check(*cached, parsed->id, hash);
    }
    if (unknown) {
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return InvalidKey();
    }
  }

  redis_lookups_.fetch_add(1, std::memory_order_relaxed);
  auto read = Read(parsed->id);
  if (!read.ok()) return StoreUnavailable(read.status());
  const std::string id(parsed->id);
  if (!read->has_value()) {
    if (caching) CacheUnknown(id, now);
    return InvalidKey();
  }
  const v1::ApiKey& stored = (*read)->first.key();
  auto key = std::make_shared<CachedKey>();
  key->secret_sha256 = (*read)->first.secret_sha256();
  key->principal = stored.principal();
  key->principal.set_subject(absl::StrCat(AbslView(kApiKeySubjectPrefix), id));
  key->principal.clear_expire_time();
  key->revoked = stored.has_revoke_time();
  if (caching) CacheKey(id, key, now, epoch);
  return Check(*key, id, hash);
}

void ApiKeyStore::CacheKey(const std::string& id, std::shared_ptr<const CachedKey> key,
                           absl::Time now, uint64_t epoch) {
  if (options_.cache_capacity == 0) return;
  absl::MutexLock lock(&cache_mu_);
  if (epoch != forget_epoch_) return;
  unknown_.erase(id);
  if (known_.size() >= options_.cache_capacity && !known_.contains(id)) {
    Shrink(known_, options_.cache_capacity, now,
           [](const CacheEntry& entry) { return entry.expires; });
  }
  known_[id] = CacheEntry{now + options_.cache_ttl, std::move(key)};
}

void ApiKeyStore::CacheUnknown(const std::string& id, absl::Time now) {
  const absl::Duration ttl = std::min(options_.negative_cache_ttl, options_.cache_ttl);
  if (options_.negative_cache_capacity == 0 || ttl <= absl::ZeroDuration()) return;
  absl::MutexLock lock(&cache_mu_);
  if (unknown_.size() >= options_.negative_cache_capacity && !unknown_.contains(id)) {
    Shrink(unknown_, options_.negative_cache_capacity, now, [](absl::Time t) { return t; });
  }
  unknown_[id] = now + ttl;
}

void ApiKeyStore::Forget(std::string_view id) {
  absl::MutexLock lock(&cache_mu_);
  ++forget_epoch_;
  if (auto it = known_.find(AbslView(id)); it != known_.end()) known_.erase(it);
  if (auto it = unknown_.find(AbslView(id)); it != unknown_.end()) unknown_.erase(it);
}

ApiKeyStore::VerifyStats ApiKeyStore::stats() const {
  VerifyStats stats;
  stats.cache_hits = cache_hits_.load(std::memory_order_relaxed);
  stats.redis_lookups = redis_lookups_.load(std::memory_order_relaxed);
  absl::ReaderMutexLock lock(&cache_mu_);
  stats.cached_keys = known_.size();
  stats.cached_unknown_ids = unknown_.size();
  return stats;
}

absl::StatusOr<v1::ApiKey> ApiKeyStore::Get(std::string_view id) {
  FieldViolations v;
  CheckId(v, id);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("request"));
  SIMPUL_ASSIGN_OR_RETURN(auto read, Read(id));
  if (!read) return absl::NotFoundError(absl::StrCat("API key ", AbslView(id), " not found"));
  return std::move(*read->first.mutable_key());
}

absl::StatusOr<v1::ListApiKeysResponse> ApiKeyStore::List(const v1::ListApiKeysRequest& req) {
  FieldViolations v;
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  if (!req.agency_id().empty()) CheckSlug(v, "agency_id", req.agency_id());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ListApiKeysRequest"));
  const std::string query =
      absl::StrCat("apikeys|", req.agency_id(), "|", req.include_revoked() ? "all" : "active");
  SIMPUL_ASSIGN_OR_RETURN(std::string after,
                          DecodePageToken("page.page_token", req.page().page_token(), query));
  if (!after.empty() && !IsValidMember(after)) {
    return InvalidField("page.page_token", "not a page token returned by this API");
  }
  const size_t size = req.page().page_size() == 0 ? kDefaultPageSize : req.page().page_size();
  const std::string index = IndexKey(req.agency_id(), !req.include_revoked());

  // Reads size + 1 keys to learn whether there is another page. A key revoked between reading
  // the index and its record is skipped (when revoked ones are not wanted), and reading goes
  // on after the last member seen until the page is full or the index ends.
  struct Listed {
    std::string member;
    v1::ApiKey key;
  };
  std::vector<Listed> listed;
  std::string position = after;
  while (listed.size() <= size) {
    const size_t want = size + 1 - listed.size();
    SIMPUL_ASSIGN_OR_RETURN(
        RedisReply range,
        pool_->Command({"ZRANGEBYLEX", index, position.empty() ? "-" : absl::StrCat("(", position),
                        "+", "LIMIT", "0", absl::StrCat(want)}));
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(range, absl::StrCat("ZRANGEBYLEX ", index)));
    if (range.type != RedisReply::Type::kArray) {
      return MalformedReply(absl::StrCat("ZRANGEBYLEX ", index));
    }
    if (range.elements.empty()) break;
    std::vector<std::string> members;
    std::vector<std::string> mget = {"MGET"};
    for (const RedisReply& element : range.elements) {
      std::optional<std::string> member = ReplyString(element);
      if (!member || !IsValidMember(*member)) {
        return absl::InternalError(absl::StrCat("index ", index, " holds a malformed member"));
      }
      mget.push_back(RecordKey(std::string_view(*member).substr(kMemberTimeDigits + 1)));
      members.push_back(std::move(*member));
    }
    SIMPUL_ASSIGN_OR_RETURN(RedisReply records, pool_->Command(mget));
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(records, "MGET of API key records"));
    if (records.type != RedisReply::Type::kArray || records.elements.size() != members.size()) {
      return MalformedReply("MGET of API key records");
    }
    for (size_t i = 0; i < members.size(); ++i) {
      if (records.elements[i].is_nil()) continue;  // deleted by hand: not listed
      std::optional<std::string> bytes = ReplyString(records.elements[i]);
      v1::ApiKeyRecord record;
      if (!bytes || !record.ParseFromString(*bytes)) {
        return absl::InternalError(absl::StrCat("stored simpul.gateway.v1.ApiKeyRecord at key ",
                                                mget[i + 1], " cannot be parsed"));
      }
      if (record.key().id() != std::string_view(members[i]).substr(kMemberTimeDigits + 1)) {
        return absl::InternalError(
            absl::StrCat("stored record at key ", mget[i + 1], " holds another key"));
      }
      if (!req.include_revoked() && record.key().has_revoke_time()) continue;
      listed.push_back(Listed{members[i], std::move(*record.mutable_key())});
    }
    position = members.back();
    if (members.size() < want) break;
  }

  v1::ListApiKeysResponse resp;
  const bool more = listed.size() > size;
  if (more) listed.resize(size);
  for (Listed& item : listed) *resp.add_keys() = std::move(item.key);
  if (more) resp.set_next_page_token(EncodePageToken(query, listed.back().member));
  return resp;
}

absl::StatusOr<v1::ApiKey> ApiKeyStore::Revoke(std::string_view id, std::string_view revoked_by) {
  FieldViolations v;
  CheckId(v, id);
  CheckText(v, "revoked_by", AbslView(revoked_by), 1, kMaxSubjectBytes);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("revocation"));
  for (int attempt = 0; attempt < kRevokeAttempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(auto read, Read(id));
    if (!read) return absl::NotFoundError(absl::StrCat("API key ", AbslView(id), " not found"));
    const v1::ApiKeyRecord& record = read->first;
    if (record.key().has_revoke_time()) {
      Forget(id);
      return record.key();
    }
    v1::ApiKeyRecord revoked = record;
    *revoked.mutable_key()->mutable_revoke_time() = ToProto(Now());
    revoked.mutable_key()->set_revoked_by(std::string(revoked_by));
    const std::string& agency_id = record.key().principal().agency_id();
    std::vector<std::string> keys = {RecordKey(id), IndexKey("", true)};
    if (!agency_id.empty()) keys.push_back(IndexKey(agency_id, true));
    SIMPUL_ASSIGN_OR_RETURN(
        RedisReply reply,
        pool_->EvalWrite(LuaScript<kLuaKeyTypeError, kIndexTypeErrorLua, kRevokeLua>(), keys,
                         {read->second, revoked.SerializeAsString(), Member(record.key())}));
    SIMPUL_RETURN_IF_ERROR(
        ErrorFromReply(reply, absl::StrCat("revocation of API key ", AbslView(id))));
    const std::optional<int64_t> outcome = ReplyInt(reply);
    if (!outcome) return MalformedReply("API key revoke script");
    if (*outcome == 0) {
      return absl::NotFoundError(absl::StrCat("API key ", AbslView(id), " not found"));
    }
    if (*outcome == 2) {
      Forget(id);
      return std::move(*revoked.mutable_key());
    }
  }
  return absl::AbortedError(
      absl::StrCat("API key ", AbslView(id), " kept changing while being revoked; try again"));
}

absl::Status CanIssue(const Principal& caller, const Principal& requested) {
  switch (caller.role()) {
    case common::v1::ROLE_PLATFORM_ADMIN:
      return absl::OkStatus();
    case common::v1::ROLE_AGENCY_ADMIN:
      if (caller.agency_id().empty()) return NotAKeyManager();
      if (!IsAgencyRole(requested.role())) {
        return absl::PermissionDeniedError(
            "an agency admin may issue only ROLE_AGENCY_ADMIN and ROLE_AGENCY_OPERATOR keys");
      }
      if (requested.agency_id() != caller.agency_id()) {
        return absl::PermissionDeniedError(
            absl::StrCat("an agency admin may issue keys of its own agency \"", caller.agency_id(),
                         "\" only, not of ", Quoted(requested.agency_id())));
      }
      return absl::OkStatus();
    default:
      return NotAKeyManager();
  }
}

absl::Status CanSee(const Principal& caller, const v1::ApiKey& key) {
  return CanManageKey(caller, key, "see");
}

absl::Status CanRevoke(const Principal& caller, const v1::ApiKey& key) {
  return CanManageKey(caller, key, "revoke");
}

absl::StatusOr<std::string> ListScope(const Principal& caller,
                                      std::string_view requested_agency_id) {
  switch (caller.role()) {
    case common::v1::ROLE_PLATFORM_ADMIN:
      return std::string(requested_agency_id);
    case common::v1::ROLE_AGENCY_ADMIN:
      if (caller.agency_id().empty()) return NotAKeyManager();
      if (!requested_agency_id.empty() && requested_agency_id != caller.agency_id()) {
        return absl::PermissionDeniedError(
            absl::StrCat("an agency admin may list the API keys of its own agency \"",
                         caller.agency_id(), "\" only, not of ", Quoted(requested_agency_id)));
      }
      return caller.agency_id();
    default:
      return NotAKeyManager();
  }
}

}  // namespace simpul::gateway
