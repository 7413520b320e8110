// Signed checkpoints of the audit chain (format in the header).
#include "gateway/audit_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/logging.h"

namespace simpul::gateway {
namespace {

constexpr char kLineTag[] = "simpul-audit-checkpoint/1";
constexpr char kDomain[] = "simpul.gateway.v1.AuditCheckpoint/1";
constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";

std::string SignedBytes(const AuditChainHead& head, int64_t seconds, std::string_view key_id) {
  std::string out;
  AppendAuditItem(&out, kDomain);
  AppendAuditInt(&out, head.sequence);
  AppendAuditItem(&out, head.hash);
  AppendAuditInt(&out, seconds);
  AppendAuditItem(&out, key_id);
  return out;
}

bool IsHex(absl::string_view text, size_t size) {
  if (text.size() != size) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<AuditCheckpoint> SignAuditCheckpoint(const AuditKeyring& keyring,
                                                    const AuditChainHead& head, absl::Time time) {
  AuditCheckpoint checkpoint;
  checkpoint.head = head;
  const int64_t seconds = absl::ToUnixSeconds(time);
  checkpoint.time = absl::FromUnixSeconds(seconds);
  checkpoint.key_id = keyring.active_key_id();
  absl::StatusOr<std::string> mac =
      keyring.Mac(checkpoint.key_id, SignedBytes(head, seconds, checkpoint.key_id));
  if (!mac.ok()) return mac.status();
  checkpoint.signature = *std::move(mac);
  return checkpoint;
}

std::string FormatAuditCheckpoint(const AuditCheckpoint& c) {
  return absl::StrCat(kLineTag, " ", c.head.sequence, " ",
                      absl::BytesToHexString(AbslView(c.head.hash)), " ",
                      absl::FormatTime(kTimeFormat, c.time, absl::UTCTimeZone()), " ", c.key_id,
                      " ", absl::BytesToHexString(AbslView(c.signature)));
}

absl::StatusOr<std::vector<AuditCheckpoint>> ParseAuditCheckpoints(std::string_view text,
                                                                   std::string_view source,
                                                                   const AuditKeyring& keyring) {
  std::vector<AuditCheckpoint> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(AbslView(text), '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = absl::StrCat(AbslView(source), " line ", line_number);
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    AuditCheckpoint c;
    std::string time_error;
    if (f.size() != 6 || f[0] != kLineTag || !absl::SimpleAtoi(f[1], &c.head.sequence) ||
        c.head.sequence < 0 || !IsHex(f[2], 2 * kAuditHashSize) || f[4].empty() ||
        !IsHex(f[5], 64) ||
        !absl::ParseTime(kTimeFormat, std::string(f[3]), absl::UTCTimeZone(), &c.time,
                         &time_error)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected \"", kLineTag,
                       " <sequence> <64 hex> <YYYY-MM-DDThh:mm:ssZ> <key id> <64 hex>\""));
    }
    c.head.hash = absl::HexStringToBytes(f[2]);
    c.key_id = std::string(f[4]);
    c.signature = absl::HexStringToBytes(f[5]);
    absl::StatusOr<std::string> mac =
        keyring.Mac(c.key_id, SignedBytes(c.head, absl::ToUnixSeconds(c.time), c.key_id));
    if (!mac.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(where, ": ", mac.status().message()));
    }
    if (*mac != c.signature) {
      return absl::DataLossError(absl::StrCat(
          where, ": the signature does not verify: the checkpoint (record ", c.head.sequence,
          ") was altered or not signed with audit key \"", c.key_id, "\""));
    }
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<AuditCheckpoint>> ReadAuditCheckpointFile(const std::string& path,
                                                                     const AuditKeyring& keyring) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read checkpoint file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseAuditCheckpoints(ss.str(), path, keyring);
}

absl::Status AppendAuditCheckpoint(const std::string& path, const AuditCheckpoint& checkpoint) {
  const std::string line = FormatAuditCheckpoint(checkpoint) + "\n";
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open checkpoint file ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      close(fd);
      return absl::UnavailableError(
          absl::StrCat("cannot write checkpoint file ", path, ": ", std::strerror(error)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot fsync checkpoint file ", path, ": ", std::strerror(error)));
  }
  close(fd);
  return absl::OkStatus();
}

AuditCheckpointWriter::AuditCheckpointWriter(AuditLog* log, const AuditKeyring* keyring,
                                             std::string path, absl::Duration interval)
    : log_(log), keyring_(keyring), path_(std::move(path)), interval_(interval) {
  thread_ = std::thread([this] { Run(); });
}

AuditCheckpointWriter::~AuditCheckpointWriter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
  // A last checkpoint of what this log appended since the last tick (the gateway stops
  // serving before its objects go).
  absl::StatusOr<bool> wrote = WriteNow();
  if (!wrote.ok()) {
    Log(LogLevel::kWarn, "last audit checkpoint not written",
        {{"file", path_}, {"error", wrote.status().ToString()}});
  }
}

absl::StatusOr<bool> AuditCheckpointWriter::WriteNow() {
  absl::MutexLock lock(&write_mu_);
  const std::optional<AuditChainHead> head = log_->LastAppended();
  if (!head || head->sequence == written_sequence_) return false;
  absl::StatusOr<AuditCheckpoint> checkpoint = SignAuditCheckpoint(*keyring_, *head, absl::Now());
  if (!checkpoint.ok()) return checkpoint.status();
  if (absl::Status s = AppendAuditCheckpoint(path_, *checkpoint); !s.ok()) return s;
  written_sequence_ = head->sequence;
  return true;
}

void AuditCheckpointWriter::Run() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_);
    if (stop_) return;
    mu_.Unlock();
    absl::StatusOr<bool> wrote = WriteNow();
    if (!wrote.ok()) {
      Log(LogLevel::kWarn, "audit checkpoint not written",
          {{"file", path_}, {"error", wrote.status().ToString()}});
    }
    mu_.Lock();
  }
}

}  // namespace simpul::gateway
