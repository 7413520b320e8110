#include "common/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/absl_compat.h"

namespace simpul {

bool IsValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > KeyFile::kMaxKeyIdBytes) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                           size_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int saved = errno;
    const std::string message =
        absl::StrCat("cannot open ", AbslView(what), " ", path, ": ", std::strerror(saved));
    return saved == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int saved = errno;
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot stat ", AbslView(what), " ", path, ": ", std::strerror(saved)));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), " ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(
        absl::StrCat(AbslView(what), " ", path, " has mode ", mode,
                     ": it must not be accessible by group or others (chmod 600 ", path, ")"));
  }
  std::string content;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", AbslView(what), " ", path, ": ", std::strerror(saved)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > max_bytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(what), " ", path, " is larger than ", max_bytes, " bytes"));
    }
  }
  close(fd);
  return content;
}

absl::StatusOr<KeyFile> ParseKeyFile(std::string_view text, std::string_view source,
                                     bool allow_active_mark) {
  KeyFile file;
  const std::string expected = allow_active_mark
                                   ? "expected \"<key id> <64 hex digits>\", optionally followed "
                                     "by \"active\""
                                   : "expected \"<key id> <64 hex digits>\"";
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(AbslView(text), '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(source), " line ", line_number, ": ", AbslView(why)));
    };
    const bool marked = fields.size() == 3 && allow_active_mark && fields[2] == "active";
    if (fields.size() != 2 && !marked) return bad(expected);
    const std::string id(fields[0]);
    if (!IsValidKeyId(id)) {
      return bad(absl::StrCat("key id must be 1..", KeyFile::kMaxKeyIdBytes,
                              " characters of A-Z a-z 0-9 . _ -"));
    }
    if (fields[1].size() != 2 * KeyFile::kKeyBytes) {
      return bad(absl::StrCat("key \"", id, "\" must be ", 2 * KeyFile::kKeyBytes,
                              " hex digits; got ", fields[1].size(), " characters"));
    }
    for (char c : fields[1]) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
        return bad(absl::StrCat("key \"", id, "\" holds a character that is not a hex digit"));
      }
    }
    if (file.keys.count(id) > 0) return bad(absl::StrCat("key id \"", id, "\" appears twice"));
    if (marked) {
      if (!file.marked_active_id.empty()) {
        return bad(absl::StrCat("key \"", id, "\" is marked active but \"", file.marked_active_id,
                                "\" already is (mark one key only)"));
      }
      file.marked_active_id = id;
    }
    if (file.first_id.empty()) file.first_id = id;
    file.keys[id] = absl::HexStringToBytes(fields[1]);
  }
  if (file.keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": no key (", expected, ")"));
  }
  return file;
}

}  // namespace simpul
