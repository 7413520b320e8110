// Archiving old audit records to files (format and guarantees in the header).
#include "gateway/audit_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/status.h"

namespace simpul::gateway {
namespace {

constexpr char kHeaderTag[] = "simpul-audit-archive/1";

std::string Hex(std::string_view bytes) { return absl::BytesToHexString(AbslView(bytes)); }

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat("cannot ", AbslView(what), " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

bool HasUnknownFields(const v1::AuditRecord& record) {
  return !record.GetReflection()->GetUnknownFields(record).empty() ||
         !record.time().GetReflection()->GetUnknownFields(record.time()).empty();
}

}  // namespace

absl::Status WriteAuditArchive(const std::string& path, const AuditArchive& archive) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat("archive file ", path, " exists"));
  }
  std::string text = absl::StrCat(kHeaderTag, " ", archive.first, " ", archive.last, " ",
                                  Hex(archive.previous_hash), "\n");
  for (const v1::AuditRecord& r : archive.records) {
    absl::StrAppend(&text, absl::Base64Escape(r.SerializeAsString()), "\n");
  }
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  absl::Status written = WriteAll(fd, text, tmp);
  if (written.ok() && fsync(fd) != 0) written = Errno("fsync", tmp);
  close(fd);
  if (written.ok() && rename(tmp.c_str(), path.c_str()) != 0) written = Errno("rename to", path);
  if (!written.ok()) {
    unlink(tmp.c_str());
    return written;
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("open directory", dir);
  const bool synced = fsync(dir_fd) == 0;
  close(dir_fd);
  if (!synced) return Errno("fsync directory", dir);
  return absl::OkStatus();
}

absl::StatusOr<AuditArchive> ReadAuditArchive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read archive file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  auto bad = [&path](size_t line, std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(path, " line ", line, ": ", AbslView(why)));
  };
  AuditArchive archive;
  if (lines.empty()) return bad(1, "empty (expected the simpul-audit-archive/1 header)");
  std::vector<absl::string_view> header = absl::StrSplit(lines[0], ' ');
  if (header.size() != 4 || header[0] != kHeaderTag ||
      !absl::SimpleAtoi(header[1], &archive.first) || !absl::SimpleAtoi(header[2], &archive.last) ||
      archive.first < 1 || archive.last < archive.first || header[3].size() != 2 * kAuditHashSize) {
    return bad(
        1, absl::StrCat("expected \"", kHeaderTag, " <first sequence> <last sequence> <64 hex>\""));
  }
  archive.previous_hash = absl::HexStringToBytes(header[3]);
  if (static_cast<int64_t>(lines.size()) - 1 != archive.last - archive.first + 1) {
    return bad(lines.size(), absl::StrCat("the header announces records ", archive.first, " to ",
                                          archive.last, " but the file holds ", lines.size() - 1,
                                          " records (cut short or padded)"));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string bytes;
    v1::AuditRecord record;
    if (!absl::Base64Unescape(lines[i], &bytes) || !record.ParseFromString(bytes)) {
      return bad(i + 1, "not a base64 serialized audit record");
    }
    if (record.sequence() != archive.first + static_cast<int64_t>(i) - 1) {
      return bad(i + 1, absl::StrCat("holds record ", record.sequence(), " where record ",
                                     archive.first + static_cast<int64_t>(i) - 1, " belongs"));
    }
    archive.records.push_back(std::move(record));
  }
  return archive;
}

absl::StatusOr<AuditVerifyReport> VerifyAuditRecords(const std::vector<v1::AuditRecord>& records,
                                                     const AuditChainHead& before,
                                                     int32_t before_version,
                                                     const AuditKeyring* keyring) {
  using P = AuditVerifyReport::Problem;
  AuditVerifyReport report;
  report.head = before;
  int32_t version = before_version;
  for (const v1::AuditRecord& r : records) {
    const int64_t e = report.head.sequence + 1;
    auto fail = [&](P problem, std::string detail) {
      report.problem = problem;
      report.sequence = e;
      report.detail = std::move(detail);
      return report;
    };
    if (r.sequence() != e) {
      return fail(r.sequence() > e ? P::kRemoved : P::kInserted,
                  absl::StrCat("record ", r.sequence(), " stands where record ", e, " belongs"));
    }
    if (r.encoding_version() == kAuditKeyedEncodingVersion && keyring == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("record ", e,
                       " has a keyed hash (encoding_version 2): verifying it "
                       "needs the audit key file (simpul-audit --key-file)"));
    }
    if (HasUnknownFields(r)) {
      return fail(P::kAltered,
                  absl::StrCat("record ", e, " carries fields its hash encoding does not cover"));
    }
    absl::StatusOr<std::string> hash = AuditRecordHash(r, keyring);
    if (!hash.ok()) {
      return fail(P::kAltered,
                  absl::StrCat("record ", e, " cannot be hashed: ", hash.status().message()));
    }
    if (*hash != r.hash()) {
      return fail(P::kAltered, absl::StrCat("record ", e, " does not match its hash (stored ",
                                            Hex(r.hash()), ", recomputed ", Hex(*hash), ")"));
    }
    if (r.previous_hash() != report.head.hash) {
      return fail(P::kAltered,
                  absl::StrCat("record ", e, " links to hash ", Hex(r.previous_hash()),
                               " but record ", e - 1, " has hash ", Hex(report.head.hash)));
    }
    if (version == kAuditKeyedEncodingVersion &&
        r.encoding_version() != kAuditKeyedEncodingVersion) {
      return fail(P::kAltered,
                  absl::StrCat("record ", e, " has hash encoding_version ", r.encoding_version(),
                               " after a keyed record: a "
                               "keyed chain never goes back to unkeyed records"));
    }
    version = r.encoding_version();
    report.head = AuditChainHead{e, r.hash()};
    ++report.records_checked;
  }
  return report;
}

absl::StatusOr<AuditArchiveResult> ArchiveAuditSegment(AuditLog& log, const AuditKeyring* keyring,
                                                       const AuditArchiveRequest& request) {
  if ((request.before_sequence > 0) == (request.older_than > absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        "archive needs exactly one of a sequence to archive before and an age to archive "
        "records older than");
  }
  if (request.out.empty()) return absl::InvalidArgumentError("archive needs an output file");
  SIMPUL_ASSIGN_OR_RETURN(std::optional<AuditArchiveAnchor> anchor, log.Anchor());
  const AuditArchiveAnchor from = anchor.value_or(AuditArchiveAnchor{});
  SIMPUL_ASSIGN_OR_RETURN(AuditChainHead head, log.Head());
  AuditArchiveResult result;
  result.first = from.head.sequence + 1;
  result.last = from.head.sequence;

  // A run interrupted after writing its archive: finish it.
  AuditArchive archive;
  absl::StatusOr<AuditArchive> existing = ReadAuditArchive(request.out);
  if (existing.ok()) {
    if (existing->first != result.first || existing->previous_hash != from.head.hash) {
      return absl::FailedPreconditionError(
          absl::StrCat("archive file ", request.out, " exists and holds records ", existing->first,
                       " to ", existing->last, ", not the next records after the anchor (record ",
                       from.head.sequence, "); choose a new file"));
    }
    archive = *std::move(existing);
    result.resumed = true;
  } else if (existing.status().code() != absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError(absl::StrCat(
        "archive file ", request.out, " exists but cannot be used: ", existing.status().message(),
        "; choose a new file"));
  } else {
    // The records to archive: after the anchor, before the head record.
    int64_t last = head.sequence - 1;
    if (request.before_sequence > 0) last = std::min(last, request.before_sequence - 1);
    if (last < result.first) return result;  // nothing to archive
    // From the stream's very start: every entry the removal trims must be in the archive (a
    // stray entry below the anchor fails the verification below).
    SIMPUL_ASSIGN_OR_RETURN(archive.records, log.ReadRecords(0, last));
    if (request.older_than > absl::ZeroDuration()) {
      const absl::Time cutoff = request.now - request.older_than;
      size_t keep = 0;
      while (keep < archive.records.size() &&
             absl::FromUnixSeconds(archive.records[keep].time().seconds()) +
                     absl::Nanoseconds(archive.records[keep].time().nanos()) <
                 cutoff) {
        ++keep;
      }
      archive.records.resize(keep);
      if (archive.records.empty()) return result;
    }
    archive.first = result.first;
    archive.last = archive.records.back().sequence();
    archive.previous_hash = from.head.hash;
  }

  // Verify before writing (or before removing what an interrupted run wrote): the records
  // continue the chain from the anchor, and each matches the one in Redis.
  SIMPUL_ASSIGN_OR_RETURN(
      AuditVerifyReport report,
      VerifyAuditRecords(archive.records, from.head, from.encoding_version, keyring));
  if (!report.ok() || archive.last != report.head.sequence) {
    return absl::FailedPreconditionError(
        absl::StrCat("records ", archive.first, " to ", archive.last,
                     " do not verify, nothing archived: ", FormatAuditVerifyReport(report)));
  }
  if (result.resumed) {
    SIMPUL_ASSIGN_OR_RETURN(std::vector<v1::AuditRecord> stored, log.ReadRecords(0, archive.last));
    if (stored.size() != archive.records.size() ||
        stored.back().hash() != archive.records.back().hash()) {
      return absl::FailedPreconditionError(
          absl::StrCat("archive file ", request.out, " holds records ", archive.first, " to ",
                       archive.last, " but Redis holds other records there; nothing removed"));
    }
  } else {
    SIMPUL_RETURN_IF_ERROR(WriteAuditArchive(request.out, archive));
  }
  std::set<std::string> agencies;
  for (const v1::AuditRecord& r : archive.records) {
    if (!r.agency_id().empty()) agencies.insert(r.agency_id());
  }
  SIMPUL_RETURN_IF_ERROR(
      log.RemoveArchived(from.head, archive.records.back(),
                         std::vector<std::string>(agencies.begin(), agencies.end())));
  result.last = archive.last;
  return result;
}

}  // namespace simpul::gateway
