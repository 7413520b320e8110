#include "common/redis_sentinel.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"

namespace simpul {
namespace {

// OwnedReply frees a hiredis reply.
struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using OwnedReply = std::unique_ptr<redisReply, ReplyDeleter>;

// Send runs one command on ctx; null on a transport error (ctx->errstr says why).
OwnedReply Send(redisContext* ctx, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  return OwnedReply(static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
}

// AskOne asks one sentinel; on failure *why says what went wrong.
std::optional<RedisAddress> AskOne(const RedisAddress& sentinel, const RedisOptions& options,
                                   std::string* why) {
  redisContext* ctx = redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port,
                                              absl::ToTimeval(options.sentinel_timeout));
  if (ctx == nullptr) {
    *why = "cannot allocate a context";
    return std::nullopt;
  }
  std::unique_ptr<redisContext, void (*)(redisContext*)> owned(ctx, redisFree);
  if (ctx->err != 0) {
    *why = absl::StrCat("connect: ", ctx->errstr);
    return std::nullopt;
  }
  if (redisSetTimeout(ctx, absl::ToTimeval(options.sentinel_timeout)) != REDIS_OK) {
    *why = absl::StrCat("set timeout: ", ctx->errstr);
    return std::nullopt;
  }
  if (!options.sentinel_password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options.sentinel_user.empty()) auth.push_back(options.sentinel_user);
    auth.push_back(options.sentinel_password);
    OwnedReply reply = Send(ctx, auth);
    if (reply == nullptr) {
      *why = absl::StrCat("AUTH: ", ctx->err != 0 ? ctx->errstr : "no reply");
      return std::nullopt;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      // The reply never holds the password.
      *why = absl::StrCat("AUTH refused: ", std::string(reply->str, reply->len),
                          " (check the sentinel user and its password file)");
      return std::nullopt;
    }
  }
  OwnedReply reply = Send(ctx, {"SENTINEL", "get-master-addr-by-name", options.master_name});
  if (reply == nullptr) {
    *why = absl::StrCat("SENTINEL get-master-addr-by-name: ",
                        ctx->err != 0 ? ctx->errstr : "no reply");
    return std::nullopt;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    *why = absl::StrCat("SENTINEL get-master-addr-by-name: ", std::string(reply->str, reply->len));
    return std::nullopt;
  }
  if (reply->type == REDIS_REPLY_NIL) {
    *why = absl::StrCat("knows no master named '", options.master_name, "'");
    return std::nullopt;
  }
  int port = 0;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_STRING ||
      !absl::SimpleAtoi(absl::string_view(reply->element[1]->str, reply->element[1]->len), &port) ||
      port < 1 || port > 65535 || reply->element[0]->len == 0) {
    *why = "unexpected reply to SENTINEL get-master-addr-by-name";
    return std::nullopt;
  }
  return RedisAddress{std::string(reply->element[0]->str, reply->element[0]->len), port};
}

}  // namespace

absl::StatusOr<RedisAddress> ResolveRedisMaster(const RedisOptions& options) {
  if (options.sentinels.empty()) {
    return absl::FailedPreconditionError("no Redis sentinels configured");
  }
  std::vector<std::string> failures;
  for (const RedisAddress& sentinel : options.sentinels) {
    std::string why;
    if (std::optional<RedisAddress> master = AskOne(sentinel, options, &why)) return *master;
    failures.push_back(absl::StrCat(sentinel.host, ":", sentinel.port, ": ", why));
  }
  return absl::UnavailableError(absl::StrCat("no Redis sentinel named the master '",
                                             options.master_name, "' (",
                                             absl::StrJoin(failures, "; "), ")"));
}

absl::StatusOr<std::vector<RedisAddress>> ParseRedisAddressList(std::string_view text) {
  std::vector<RedisAddress> out;
  if (absl::StripAsciiWhitespace(AbslView(text)).empty()) return out;
  for (absl::string_view entry : absl::StrSplit(AbslView(text), ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("\"", entry, "\": ", AbslView(why)));
    };
    if (entry.empty()) return bad("empty entry (expected host:port)");
    const size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos) return bad("expected host:port");
    absl::string_view host = entry.substr(0, colon);
    if (absl::StartsWith(host, "[")) {
      if (host.size() < 3 || !absl::EndsWith(host, "]")) return bad("expected [v6 address]:port");
      host = host.substr(1, host.size() - 2);
    } else if (absl::StrContains(host, ':')) {
      return bad("an IPv6 host needs brackets: [v6]:port");
    }
    int port = 0;
    if (host.empty()) return bad("no host");
    for (char c : host) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c))) return bad("space in the host");
    }
    if (!absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return bad("expected a port in 1..65535");
    }
    out.push_back(RedisAddress{std::string(host), port});
  }
  return out;
}

bool ReplyIsMasterRole(const RedisReply& reply) {
  return reply.type == RedisReply::Type::kArray && !reply.elements.empty() &&
         (reply.elements[0].type == RedisReply::Type::kString ||
          reply.elements[0].type == RedisReply::Type::kStatus) &&
         reply.elements[0].str == "master";
}

}  // namespace simpul
