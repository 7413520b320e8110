// simpul-audit: the operators' tool for the gateway's audit trail (usage in
// gateway/audit_cli.h).
#include <iostream>
#include <string>
#include <vector>

#include "gateway/audit_cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return simpul::gateway::RunAuditCli(args, std::cout, std::cerr);
}
