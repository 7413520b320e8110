// Policy decides which roles may call which methods through the gateway: deny by default, a
// call is allowed when some rule of the policy file lists both its method and the caller's
// role (simpul.gateway.v1.PolicyFile, JSON). The services still enforce ownership (agency A
// never reads agency B's complaints); the policy only keeps roles away from methods they
// have no business calling, before any backend is reached.
#ifndef SIMPUL_GATEWAY_POLICY_H_
#define SIMPUL_GATEWAY_POLICY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::gateway {

// RoleName is the policy name of a role: "public" for ROLE_UNSPECIFIED, "agency_admin", ...
std::string_view RoleName(common::v1::Role role);

class Policy {
 public:
  // FromJson parses and validates a policy: unknown fields, unknown roles, empty rules and
  // method patterns that are not "<package.Service>/<Method or prefix*>" are INVALID_ARGUMENT
  // naming the rule and the entry.
  static absl::StatusOr<Policy> FromJson(std::string_view json);
  static absl::StatusOr<Policy> FromFile(const std::string& path);

  // Allows: `method` is "/package.Service/Method" (as gRPC names it) or without the slash.
  bool Allows(common::v1::Role role, std::string_view method) const;

 private:
  struct Rule {
    std::vector<std::string> exact;     // full names
    std::vector<std::string> prefixes;  // patterns with the trailing '*' removed
    std::vector<common::v1::Role> roles;
  };
  std::vector<Rule> rules_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_POLICY_H_
