// ChildProcess runs a program (a Simpul service binary) for an end-to-end test, with its
// output appended to a log file, and stops it with a signal of the test's choice.
#ifndef SIMPUL_TESTS_TESTING_PROCESS_H_
#define SIMPUL_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace simpul::testing {

class ChildProcess {
 public:
  // Start runs `argv` (argv[0] is the path) with stdout and stderr appended to `log_path`, in
  // this process's environment plus `env` ("NAME=value" each).
  ChildProcess(std::vector<std::string> argv, std::string log_path,
               std::vector<std::string> env = {});
  ~ChildProcess();  // SIGKILL if still running

  bool running();
  // Signal sends `sig` and waits up to `timeout` for the exit; returns the exit status as
  // waitpid reports it, or nullopt if the process did not exit in time.
  std::optional<int> Stop(int sig, absl::Duration timeout);
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Log returns what the process has written so far.
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// WaitForTcpPort returns true once something accepts TCP connections on 127.0.0.1:port.
bool WaitForTcpPort(int port, absl::Duration timeout);

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_PROCESS_H_
