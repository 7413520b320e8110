// simpul-gateway: the one entry point of the platform (gateway/app.h says what it serves).
// Configuration: flags or SIMPUL_GATEWAY_* environment variables; run with --help for the
// list (gateway/config.h). The process skeleton is common/service_main.h.
#include "common/service_main.h"
#include "gateway/app.h"
#include "gateway/config.h"

extern char** environ;

int main(int argc, char** argv) {
  return simpul::RunService(simpul::gateway::GatewaySpec(), argc, argv, environ,
                            simpul::gateway::SetUpGateway);
}
