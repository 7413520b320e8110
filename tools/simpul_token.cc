// simpul-token mints a signed identity token for calling a Simpul service directly (without
// the gateway), e.g. from the command line during development or operations:
//   simpul-token --key_file=var/identity.key --role=agency_admin --agency=<id> --subject=me
// It prints the token to put in the "x-simpul-identity" metadata.
#include <iostream>
#include <map>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/channel_scope.h"
#include "common/config.h"
#include "common/identity.h"

extern char** environ;

int main(int argc, char** argv) {
  using simpul::ConfigKey;
  using simpul::ConfigType;
  namespace cv1 = simpul::common::v1;
  static const std::map<std::string, cv1::Role, std::less<>> kRoles = {
      {"agency_admin", cv1::ROLE_AGENCY_ADMIN},
      {"agency_operator", cv1::ROLE_AGENCY_OPERATOR},
      {"channel", cv1::ROLE_CHANNEL},
      {"dashboard", cv1::ROLE_DASHBOARD},
      {"platform_admin", cv1::ROLE_PLATFORM_ADMIN}};
  std::vector<ConfigKey> keys = {
      {.name = "key_file",
       .default_value = "var/identity.key",
       .help = "file holding the shared identity key (at least 32 bytes)"},
      {.name = "role",
       .default_value = "platform_admin",
       .help = "agency_admin, agency_operator, channel, dashboard or platform_admin",
       .validate = [](std::string_view v) -> absl::Status {
         if (kRoles.count(v) == 0) {
           return absl::InvalidArgumentError(
               "expected agency_admin, agency_operator, channel, dashboard or platform_admin");
         }
         return absl::OkStatus();
       }},
      {.name = "agency", .default_value = "", .help = "agency id, required for agency roles"},
      {.name = "channel", .default_value = "", .help = "channel name, for the channel role"},
      {.name = "scope_agencies",
       .default_value = "",
       .help = "channel role: agency ids (comma-separated) it files and submits surveys for"},
      {.name = "scope_units",
       .default_value = "",
       .help = "channel role: service unit ids (comma-separated) it acts for"},
      {.name = "all_agencies",
       .type = ConfigType::kBool,
       .default_value = "false",
       .help = "channel role: act for every agency (a national channel)"},
      {.name = "subject", .default_value = "cli", .help = "who the token is for (audit)"},
      {.name = "ttl",
       .type = ConfigType::kDuration,
       .default_value = "24h",
       .help = "how long the token is valid"},
  };
  auto config = simpul::Config::Parse("TOKEN", keys, argc, argv, environ);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 2;
  }
  cv1::Principal principal;
  principal.set_role(kRoles.find(config->GetString("role"))->second);
  principal.set_agency_id(config->GetString("agency"));
  principal.set_channel(config->GetString("channel"));
  principal.set_subject(config->GetString("subject"));
  for (absl::string_view id :
       absl::StrSplit(config->GetString("scope_agencies"), ',', absl::SkipEmpty())) {
    principal.add_scope_agency_ids(std::string(id));
  }
  for (absl::string_view id :
       absl::StrSplit(config->GetString("scope_units"), ',', absl::SkipEmpty())) {
    principal.add_scope_unit_ids(std::string(id));
  }
  principal.set_scope_all_agencies(config->GetBool("all_agencies"));
  simpul::FieldViolations violations;
  simpul::CheckChannelScope(principal, "principal", violations);
  if (absl::Status scope = violations.ToStatus("token"); !scope.ok()) {
    std::cerr << scope.message() << "\n";
    return 2;
  }
  bool agency_role =
      principal.role() == cv1::ROLE_AGENCY_ADMIN || principal.role() == cv1::ROLE_AGENCY_OPERATOR;
  if (agency_role && principal.agency_id().empty()) {
    std::cerr << "agency: required for role " << config->GetString("role") << "\n";
    return 2;
  }
  principal.mutable_expire_time()->set_seconds(
      absl::ToUnixSeconds(absl::Now() + config->GetDuration("ttl")));
  auto signer = simpul::IdentitySigner::FromKeyFile(config->GetString("key_file"));
  if (!signer.ok()) {
    std::cerr << "key_file: " << signer.status().message() << "\n";
    return 2;
  }
  std::cout << signer->Sign(principal) << "\n";
  return 0;
}
