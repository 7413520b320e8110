// Uploaded attachments of a case: what a file is (sniffed from its first bytes, never from its
// name or declared type), the limits of an upload, and who sees which attachment. The RPCs are
// ComplaintDesk::UploadAttachment and friends (attachments.cc); the bytes live in an
// ObjectStore (object_store.h) under a key the server makes, the metadata in the case record
// (Complaint.uploaded_attachments).
//
// Durability: an upload writes (and fsyncs) the object first and then commits the case record
// that references it. A crash in between leaves an object no record names (an orphan, never a
// record naming a missing object); a redaction commits the record first and deletes the object
// after, so a failed delete also leaves only an orphan. Orphans are harmless (nobody can read
// them: reads go through the record) and are listed by comparing the store's keys with the
// records (docs/operations.md, "Attachments").
#ifndef SIMPUL_SERVICES_COMPLAINTS_ATTACHMENTS_H_
#define SIMPUL_SERVICES_COMPLAINTS_ATTACHMENTS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/identity.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

class ObjectStore;

// AttachmentOptions are the limits of uploads and where their bytes go.
struct AttachmentOptions {
  ObjectStore* objects = nullptr;  // null: the attachment RPCs are UNIMPLEMENTED
  int64_t max_bytes = 3 << 20;     // per attachment (decoded); gRPC's 4 MiB message bounds it
  int max_per_case = 10;           // uploads per case, redacted ones included
};

// Sniffed is what a file's first bytes say it is.
struct Sniffed {
  std::string media_type;  // "image/jpeg", ... ; empty when not an accepted kind
  std::string kind;        // a short name for messages: "JPEG", "HTML", "Windows executable", ...
};

// SniffContent recognises JPEG, PNG, GIF, WebP and PDF by their magic bytes; anything else has
// an empty media_type and a `kind` naming what it looks like (HTML, XML/SVG, a Windows or ELF
// executable, ZIP, a script, or "unknown").
Sniffed SniffContent(std::string_view content);

// IsImage: the media type is one of the accepted image types.
bool IsImage(std::string_view media_type);

// AttachmentObjectKey is the object store key of an attachment: "<case id>/<attachment id>"
// (the case id's dash kept: both parts are A-Z 0-9 -).
std::string AttachmentObjectKey(std::string_view complaint_id, std::string_view attachment_id);

// PubliclyVisible: the public may see `a` of case `c`: the case is publicly listed and
// PublishedToPublic (views.h) allows it.
bool PubliclyVisible(const v1::Complaint& c, const v1::Attachment& a);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_ATTACHMENTS_H_
