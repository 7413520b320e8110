// Redis Sentinel master discovery, written on hiredis (which has none): ask each configured
// sentinel in turn for the address of a named master, as the Redis Sentinel client guidelines
// describe. RedisPool (common/redis.h) uses it when RedisOptions::sentinels is set and checks
// the answer with ROLE on the connection it opens.
#ifndef SIMPUL_COMMON_REDIS_SENTINEL_H_
#define SIMPUL_COMMON_REDIS_SENTINEL_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis.h"

namespace simpul {

// ResolveRedisMaster asks options.sentinels in order, each within options.sentinel_timeout
// (authenticating as sentinel_user/sentinel_password when a password is set),
// "SENTINEL get-master-addr-by-name <master_name>" and returns the first address given. When
// none answers it is UNAVAILABLE, naming each sentinel and why (unreachable, refused AUTH, no
// master of that name).
absl::StatusOr<RedisAddress> ResolveRedisMaster(const RedisOptions& options);

// ParseRedisAddressList parses a comma-separated list of host:port ("[v6]:port" for IPv6),
// spaces around commas allowed, ports 1..65535; an empty text is an empty list. Errors say
// which entry is wrong.
absl::StatusOr<std::vector<RedisAddress>> ParseRedisAddressList(std::string_view text);

// ReplyIsMasterRole is true for a ROLE reply whose first element is "master".
bool ReplyIsMasterRole(const RedisReply& reply);

}  // namespace simpul

#endif  // SIMPUL_COMMON_REDIS_SENTINEL_H_
