// simpul-openapi: writes the gateway's OpenAPI 3.1 document (gateway/openapi.h). The build
// runs it to make build/web/openapi.json, which the gateway serves as /openapi.json.
#include <string>
#include <vector>

#include "gateway/openapi.h"

int main(int argc, char** argv) {
  return simpul::gateway::RunOpenApiTool(std::vector<std::string>(argv + 1, argv + argc));
}
