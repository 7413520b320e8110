// LocalDiskObjectStore: objects as files, written atomically (temp file, fsync, rename, fsync
// of the directory).
#include "services/complaints/object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"

namespace simpul::complaints {
namespace {

constexpr size_t kMaxSegments = 4;
constexpr size_t kMaxSegmentChars = 64;

absl::Status Errno(std::string_view what, const std::string& path) {
  const int e = errno;
  return absl::InternalError(
      absl::StrCat("object store: ", AbslView(what), " ", path, ": ", std::strerror(e)));
}

// MakeDirs creates `path` and its missing parents with mode 0700.
absl::Status MakeDirs(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("object store: ", path, " exists and is not a directory"));
  }
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status parent = MakeDirs(path.substr(0, slash));
    if (!parent.ok()) return parent;
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", path);
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync directory", dir);
  return absl::OkStatus();
}

std::string RandomSuffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrCat(::getpid(), "-", rng());
}

}  // namespace

absl::Status ValidObjectKey(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("object key is empty");
  std::vector<absl::string_view> segments = absl::StrSplit(AbslView(key), '/');
  if (segments.size() > kMaxSegments) {
    return absl::InvalidArgumentError(
        absl::StrCat("object key has more than ", kMaxSegments, " segments"));
  }
  for (absl::string_view segment : segments) {
    if (segment.empty() || segment.size() > kMaxSegmentChars) {
      return absl::InvalidArgumentError(
          absl::StrCat("object key segments must be 1..", kMaxSegmentChars, " characters"));
    }
    for (char ch : segment) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
      if (!ok) {
        return absl::InvalidArgumentError(
            "object keys hold only A-Z a-z 0-9 - _ and '/' between segments");
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LocalDiskObjectStore>> LocalDiskObjectStore::Create(
    std::string root) {
  if (root.empty()) return absl::InvalidArgumentError("object store directory is empty");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  absl::Status made = MakeDirs(root);
  if (!made.ok()) return made;
  if (::access(root.c_str(), W_OK | X_OK) != 0) return Errno("cannot write to", root);
  return std::unique_ptr<LocalDiskObjectStore>(new LocalDiskObjectStore(std::move(root)));
}

absl::StatusOr<std::string> LocalDiskObjectStore::PathOf(std::string_view key) const {
  absl::Status valid = ValidObjectKey(key);
  if (!valid.ok()) return valid;
  return absl::StrCat(root_, "/", AbslView(key));
}

absl::Status LocalDiskObjectStore::Put(std::string_view key, std::string_view bytes,
                                       const ObjectMetadata&) {
  absl::StatusOr<std::string> path = PathOf(key);
  if (!path.ok()) return path.status();
  const std::string dir = path->substr(0, path->find_last_of('/'));
  absl::Status made = MakeDirs(dir);
  if (!made.ok()) return made;
  const std::string tmp = absl::StrCat(dir, "/.tmp-", RandomSuffix());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  auto fail = [&](std::string_view what) {
    absl::Status status = Errno(what, tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  };
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    absl::Status status = Errno("close", tmp);
    ::unlink(tmp.c_str());
    return status;
  }
  if (::rename(tmp.c_str(), path->c_str()) != 0) {
    absl::Status status = Errno("rename", tmp);
    ::unlink(tmp.c_str());
    return status;
  }
  return SyncDir(dir);
}

absl::StatusOr<std::string> LocalDiskObjectStore::Get(std::string_view key) {
  absl::StatusOr<std::string> path = PathOf(key);
  if (!path.ok()) return path.status();
  const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat("no object ", AbslView(key)));
    }
    return Errno("open", *path);
  }
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status status = Errno("read", *path);
      ::close(fd);
      return status;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status LocalDiskObjectStore::Delete(std::string_view key) {
  absl::StatusOr<std::string> path = PathOf(key);
  if (!path.ok()) return path.status();
  if (::unlink(path->c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return Errno("unlink", *path);
  }
  return SyncDir(path->substr(0, path->find_last_of('/')));
}

absl::StatusOr<bool> LocalDiskObjectStore::Exists(std::string_view key) {
  absl::StatusOr<std::string> path = PathOf(key);
  if (!path.ok()) return path.status();
  struct stat st;
  if (::lstat(path->c_str(), &st) == 0) return S_ISREG(st.st_mode);
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return Errno("stat", *path);
}

}  // namespace simpul::complaints
