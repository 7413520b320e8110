// Policy: parsing the policy file and matching calls.
#include "gateway/policy.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "simpul/gateway/v1/gateway.pb.h"

namespace simpul::gateway {
namespace {

using common::v1::Role;

// ROLE_SERVICE is deliberately absent: no rule can name it, so the gateway admits it nowhere
// (services call each other directly, each with its own key; API keys never carry it).
constexpr std::pair<std::string_view, Role> kRoles[] = {
    {"public", common::v1::ROLE_UNSPECIFIED},
    {"agency_admin", common::v1::ROLE_AGENCY_ADMIN},
    {"agency_operator", common::v1::ROLE_AGENCY_OPERATOR},
    {"channel", common::v1::ROLE_CHANNEL},
    {"dashboard", common::v1::ROLE_DASHBOARD},
    {"platform_admin", common::v1::ROLE_PLATFORM_ADMIN},
};

// ValidPattern: "<package.Service>/<Method>" or "<package.Service>/<prefix>*" (the prefix may
// be empty: every method of the service).
bool ValidPattern(std::string_view p) {
  const size_t slash = p.find('/');
  if (slash == 0 || slash == std::string_view::npos || p.find('/', slash + 1) != p.npos) {
    return false;
  }
  const std::string_view service = p.substr(0, slash);
  if (service.find('.') == std::string_view::npos) return false;
  std::string_view method = p.substr(slash + 1);
  if (!method.empty() && method.back() == '*')
    method.remove_suffix(1);
  else if (method.empty())
    return false;
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  return std::all_of(method.begin(), method.end(), name_char) &&
         std::all_of(service.begin(), service.end(),
                     [&](char c) { return name_char(c) || c == '.'; });
}

}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [name, r] : kRoles) {
    if (r == role) return name;
  }
  return "unknown";
}

absl::StatusOr<Policy> Policy::FromJson(std::string_view json) {
  v1::PolicyFile file;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &file, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy is not a valid PolicyFile JSON: ", parsed.message().as_string()));
  }
  FieldViolations v;
  if (file.rules().empty()) v.Add("rules", "a policy without rules denies everything");
  Policy policy;
  for (int i = 0; i < file.rules_size(); ++i) {
    const v1::PolicyRule& r = file.rules(i);
    const std::string at = absl::StrCat("rules[", i, "]");
    Rule rule;
    if (r.methods().empty()) v.Add(at + ".methods", "list at least one method");
    if (r.roles().empty()) v.Add(at + ".roles", "list at least one role");
    for (int j = 0; j < r.methods_size(); ++j) {
      const std::string& m = r.methods(j);
      if (!ValidPattern(m)) {
        v.Add(absl::StrCat(at, ".methods[", j, "]"),
              absl::StrCat("expected \"package.Service/Method\" or \"package.Service/Prefix*\", "
                           "got \"",
                           m, "\""));
      } else if (m.back() == '*') {
        rule.prefixes.push_back(m.substr(0, m.size() - 1));
      } else {
        rule.exact.push_back(m);
      }
    }
    for (int j = 0; j < r.roles_size(); ++j) {
      auto it = std::find_if(std::begin(kRoles), std::end(kRoles),
                             [&](const auto& e) { return e.first == r.roles(j); });
      if (it == std::end(kRoles)) {
        v.Add(absl::StrCat(at, ".roles[", j, "]"),
              absl::StrCat("unknown role \"", r.roles(j),
                           "\" (public, agency_admin, agency_operator, channel, dashboard, "
                           "platform_admin)"));
      } else {
        rule.roles.push_back(it->second);
      }
    }
    policy.rules_.push_back(std::move(rule));
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("PolicyFile"));
  return policy;
}

absl::StatusOr<Policy> Policy::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read policy file \"", path, "\""));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Policy> policy = FromJson(text.str());
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

bool Policy::Allows(Role role, std::string_view method) const {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  for (const Rule& rule : rules_) {
    if (std::find(rule.roles.begin(), rule.roles.end(), role) == rule.roles.end()) continue;
    for (const std::string& e : rule.exact) {
      if (e == method) return true;
    }
    for (const std::string& p : rule.prefixes) {
      if (method.size() > p.size() && method.compare(0, p.size(), p) == 0) return true;
    }
  }
  return false;
}

}  // namespace simpul::gateway
