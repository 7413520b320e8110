// TestCertificates: X.509 certificates for TLS tests, made with the `openssl` command (EC
// P-256): a CA ("ca"), a server certificate it signs for 127.0.0.1 and localhost ("server"),
// client certificates it signs (names chosen by the test), and a second, unrelated CA
// ("other-ca") with a client certificate of its own ("outsider").
#ifndef SIMPUL_TESTS_TESTING_TEST_CERTS_H_
#define SIMPUL_TESTS_TESTING_TEST_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace simpul::testing {

class TestCertificates {
 public:
  // Create makes everything in `dir` (created if missing): <name>.pem and <name>.key for
  // "ca", "server", each of `clients`, "other-ca" and "outsider". Fails naming the command.
  static absl::StatusOr<TestCertificates> Create(const std::string& dir,
                                                 const std::vector<std::string>& clients);

  std::string Cert(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  // Fingerprint is the SHA-256 fingerprint of certificate `name` as openssl prints it
  // ("AB:CD:..."), the form a client_certificates file takes.
  absl::StatusOr<std::string> Fingerprint(const std::string& name) const;

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Run(const std::string& command) const;
  std::string dir_;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_TEST_CERTS_H_
