// Retention of the audit trail: the oldest records are archived to a file and removed from
// Redis, and the chain stays verifiable from record 1 across the archives and Redis.
//
// ArchiveAuditSegment (simpul-audit archive) takes the records after the archive anchor (P
// anchor, gateway/audit.h; record 0 at first) up to a sequence or an age, never the chain
// head: it verifies them (hashes, links, from the anchor), writes them to a new archive file
// (written to FILE.tmp, fsynced, renamed to FILE, directory fsynced), and only then removes
// them from the log stream and the agency indexes and moves the anchor to the last of them, in
// one script. A record is thus never removed unless it is in a durably written archive. A
// crash between the write and the removal leaves the archive and an unchanged Redis: running
// the same command again finds FILE holding exactly the records after the anchor, checks them
// against Redis, and removes them. Once removed, records are no longer listed
// (ListAuditRecords answers archived_through: records 1..N are in archives only).
//
// Archive file (text, one item per line):
//   simpul-audit-archive/1 <first sequence> <last sequence> <previous_hash: 64 hex>
//   <base64 of the serialized v1.AuditRecord, hash included>     (one line per record, in order)
// The records carry their own hashes and links, so the file needs no signature: a record
// altered in the archive no longer verifies (keyed records need the key), and the last
// archived record is the anchor Redis's chain links to.
#ifndef SIMPUL_GATEWAY_AUDIT_ARCHIVE_H_
#define SIMPUL_GATEWAY_AUDIT_ARCHIVE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/audit.h"
#include "gateway/audit_key.h"
#include "simpul/gateway/v1/gateway.pb.h"

namespace simpul::gateway {

struct AuditArchive {
  int64_t first = 0;
  int64_t last = 0;
  std::string previous_hash;  // the hash record `first` links to (32 bytes)
  std::vector<v1::AuditRecord> records;
};

// WriteAuditArchive writes `archive` durably to `path` (via path.tmp, fsync, rename, fsync of
// the directory). ALREADY_EXISTS when `path` exists; UNAVAILABLE on an I/O error (then
// nothing is at `path`).
absl::Status WriteAuditArchive(const std::string& path, const AuditArchive& archive);
// ReadAuditArchive reads an archive file: NOT_FOUND, or INVALID_ARGUMENT naming the line when
// it is not in the format above (header, base64, record count, consecutive sequences).
absl::StatusOr<AuditArchive> ReadAuditArchive(const std::string& path);

// VerifyAuditRecords checks that `records` continue the chain after `before` (whose encoding
// version is `before_version`): each record's hash under its encoding (keyed ones need
// `keyring`; FAILED_PRECONDITION without), its sequence, its link, and no version-1 record
// after a version-2 one. The report names the first problem; report.head is the last record.
absl::StatusOr<AuditVerifyReport> VerifyAuditRecords(const std::vector<v1::AuditRecord>& records,
                                                     const AuditChainHead& before,
                                                     int32_t before_version,
                                                     const AuditKeyring* keyring);

struct AuditArchiveRequest {
  // Archive the records before this sequence (0: not by sequence).
  int64_t before_sequence = 0;
  // Archive the records older than this (time < now - older_than; zero: not by age).
  absl::Duration older_than = absl::ZeroDuration();
  absl::Time now = absl::Now();
  std::string out;  // the archive file to write
};

struct AuditArchiveResult {
  int64_t first = 0;  // records first..last were archived (first > last: nothing to archive)
  int64_t last = 0;
  bool resumed = false;  // the archive file was already written by an interrupted run
};

// ArchiveAuditSegment archives as described above. INVALID_ARGUMENT for a request with
// neither or both of before_sequence and older_than; FAILED_PRECONDITION when the records to
// archive do not verify (nothing written or removed; the message says what verify found) or
// when `out` exists and is not the interrupted archive of exactly the next records;
// ALREADY_EXISTS never (see the previous point); Redis and I/O errors as they come.
absl::StatusOr<AuditArchiveResult> ArchiveAuditSegment(AuditLog& log, const AuditKeyring* keyring,
                                                       const AuditArchiveRequest& request);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_AUDIT_ARCHIVE_H_
