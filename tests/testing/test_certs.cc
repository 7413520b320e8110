// Test certificates made with the openssl command (tests/testing/test_certs.h).
#include "tests/testing/test_certs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace simpul::testing {
namespace {

constexpr char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

absl::Status TestCertificates::Run(const std::string& command) const {
  const std::string full = absl::StrCat("cd '", dir_, "' && ", command, " 2>/dev/null");
  if (std::system(full.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("failed: ", command));
  }
  return absl::OkStatus();
}

absl::StatusOr<TestCertificates> TestCertificates::Create(const std::string& dir,
                                                          const std::vector<std::string>& clients) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  TestCertificates certs(dir);
  // A CA signs `name` (a CSR with subject CN=name) with the extensions in `ext`.
  auto issue = [&](const std::string& ca, const std::string& name,
                   const std::string& ext) -> absl::Status {
    if (absl::Status s = certs.Run(absl::StrCat("openssl req ", kNewKey, " -keyout ", name,
                                                ".key -out ", name, ".csr -subj '/CN=", name, "'"));
        !s.ok()) {
      return s;
    }
    return certs.Run(absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ",
                                  ca, ".key -CAcreateserial -days 2 -out ", name, ".pem -extfile ",
                                  ext));
  };
  for (const char* ca : {"ca", "other-ca"}) {
    if (absl::Status s =
            certs.Run(absl::StrCat("openssl req -x509 ", kNewKey, " -keyout ", ca, ".key -out ", ca,
                                   ".pem -days 2 -subj '/CN=Simpul ", ca, "'"));
        !s.ok()) {
      return s;
    }
  }
  {
    std::ofstream server(dir + "/server.ext");
    server << "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
    std::ofstream client(dir + "/client.ext");
    client << "extendedKeyUsage=clientAuth\n";
  }
  if (absl::Status s = issue("ca", "server", "server.ext"); !s.ok()) return s;
  for (const std::string& name : clients) {
    if (absl::Status s = issue("ca", name, "client.ext"); !s.ok()) return s;
  }
  if (absl::Status s = issue("other-ca", "outsider", "client.ext"); !s.ok()) return s;
  return certs;
}

absl::StatusOr<std::string> TestCertificates::Fingerprint(const std::string& name) const {
  const std::string out = absl::StrCat(name, ".sha256");
  if (absl::Status s =
          Run(absl::StrCat("openssl x509 -noout -fingerprint -sha256 -in ", name, ".pem > ", out));
      !s.ok()) {
    return s;
  }
  std::ifstream in(dir_ + "/" + out);
  std::stringstream text;
  text << in.rdbuf();
  std::string line = text.str();
  const size_t eq = line.find('=');
  if (eq == std::string::npos) return absl::InternalError("no fingerprint in " + out);
  return std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
}

}  // namespace simpul::testing
