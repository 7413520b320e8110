// TempDir is a fresh directory for one test (under the test's TempDir(), named after the
// process and the running test), removed when it goes out of scope.
#ifndef SIMPUL_TESTS_TESTING_TEMP_DIR_H_
#define SIMPUL_TESTS_TESTING_TEMP_DIR_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace simpul::testing {

class TempDir {
 public:
  // `prefix` starts the directory's name, e.g. the test binary's name.
  explicit TempDir(const std::string& prefix) {
    path_ = std::filesystem::path(::testing::TempDir()) /
            absl::StrCat(prefix, "_", getpid(), "_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Write creates (or replaces) the file `name` in the directory with `content`.
  void Write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name) << content;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_TEMP_DIR_H_
