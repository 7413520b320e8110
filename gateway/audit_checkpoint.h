// Signed checkpoints of the audit chain: heads (sequence and hash of a record) exported to a
// file outside Redis, each signed with HMAC-SHA256 under the audit key (gateway/audit_key.h).
// `simpul-audit verify --checkpoints FILE` then checks that every checkpointed record is still
// in the chain with its hash and that the chain reaches the last checkpoint, which catches a
// rewrite of the tail even with genuine-looking (replayed or rehashed) records, and a
// truncation.
//
// Why HMAC and not Ed25519: the verifier needs the audit key anyway (version-2 record hashes
// are HMACs under it), so a second key kind would add a key to manage and protect without
// adding a party who could verify without being able to sign. What a checkpoint guards against
// is someone with Redis access only; the key file never goes to the Redis machine.
//
// Checkpoint file: UTF-8 text, one checkpoint per line, appended to (never rewritten):
//   simpul-audit-checkpoint/1 <sequence> <hash: 64 hex> <time: RFC 3339 UTC, seconds> <key id>
//       <signature: 64 hex>
// (one line, fields separated by one space). signature = HMAC-SHA256(key <key id>, E) where E
// is the items (gateway/audit.h, AppendAuditItem) "simpul.gateway.v1.AuditCheckpoint/1",
// sequence, hash, time as Unix seconds, key id. Blank lines and lines starting with '#' are
// ignored.
#ifndef SIMPUL_GATEWAY_AUDIT_CHECKPOINT_H_
#define SIMPUL_GATEWAY_AUDIT_CHECKPOINT_H_

#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/audit.h"
#include "gateway/audit_key.h"

namespace simpul::gateway {

struct AuditCheckpoint {
  AuditChainHead head;
  absl::Time time;  // whole seconds
  std::string key_id;
  std::string signature;  // 32 bytes
};

// SignAuditCheckpoint signs `head` at `time` (truncated to seconds) with the active key.
absl::StatusOr<AuditCheckpoint> SignAuditCheckpoint(const AuditKeyring& keyring,
                                                    const AuditChainHead& head, absl::Time time);

// FormatAuditCheckpoint is the checkpoint as one line of the file (without the newline).
std::string FormatAuditCheckpoint(const AuditCheckpoint& checkpoint);

// ParseAuditCheckpoints reads the text of a checkpoint file and checks every signature with
// `keyring`. INVALID_ARGUMENT naming `source` and the line for a malformed line,
// FAILED_PRECONDITION for a key id not in the ring, DATA_LOSS for a signature that does not
// verify (the file was edited).
absl::StatusOr<std::vector<AuditCheckpoint>> ParseAuditCheckpoints(std::string_view text,
                                                                   std::string_view source,
                                                                   const AuditKeyring& keyring);
// ReadAuditCheckpointFile reads the file at `path` (NOT_FOUND when missing) as
// ParseAuditCheckpoints does.
absl::StatusOr<std::vector<AuditCheckpoint>> ReadAuditCheckpointFile(const std::string& path,
                                                                     const AuditKeyring& keyring);

// AppendAuditCheckpoint appends the checkpoint as one line to the file at `path` (created with
// mode 600 if missing) and fsyncs it before returning.
absl::Status AppendAuditCheckpoint(const std::string& path, const AuditCheckpoint& checkpoint);

// AuditCheckpointWriter is the gateway's periodic exporter (`audit_checkpoint_file`,
// `audit_checkpoint_interval`): every interval, when the log appended since the last
// checkpoint, it signs the head of the last record this log appended itself (a head it
// computed, not one read back from Redis) and appends it to the file. Failures are logged and
// retried at the next tick.
class AuditCheckpointWriter {
 public:
  AuditCheckpointWriter(AuditLog* log, const AuditKeyring* keyring, std::string path,
                        absl::Duration interval);
  ~AuditCheckpointWriter();  // stops the thread, then writes a last checkpoint if due
  AuditCheckpointWriter(const AuditCheckpointWriter&) = delete;
  AuditCheckpointWriter& operator=(const AuditCheckpointWriter&) = delete;

  // WriteNow writes a checkpoint if the log appended since the last one; returns whether it
  // wrote (for tests and shutdown).
  absl::StatusOr<bool> WriteNow();

 private:
  void Run();

  AuditLog* const log_;
  const AuditKeyring* const keyring_;
  const std::string path_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex write_mu_;  // one WriteNow at a time
  int64_t written_sequence_ ABSL_GUARDED_BY(write_mu_) = -1;
  std::thread thread_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_AUDIT_CHECKPOINT_H_
