// Uploaded attachments: sniffing, visibility, and the desk's UploadAttachment,
// ListAttachments, GetAttachment, RedactAttachment and PublishAttachment.
#include "services/complaints/attachments.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/absl_compat.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "services/complaints/access.h"
#include "services/complaints/complaints.h"
#include "services/complaints/object_store.h"
#include "services/complaints/tracking.h"
#include "services/complaints/validation.h"

namespace simpul::complaints {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// LooksLikeMarkup: after optional whitespace (and a UTF-8 byte order mark), an HTML or XML
// opening.
std::string MarkupKind(std::string_view s) {
  if (StartsWith(s, "\xEF\xBB\xBF")) s.remove_prefix(3);
  while (!s.empty() && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
    s.remove_prefix(1);
  }
  const std::string head = absl::AsciiStrToLower(AbslView(s.substr(0, 64)));
  if (absl::StartsWith(head, "<?xml") || absl::StartsWith(head, "<svg")) return "XML/SVG";
  if (absl::StartsWith(head, "<!doctype") || absl::StartsWith(head, "<html") ||
      absl::StartsWith(head, "<head") || absl::StartsWith(head, "<body") ||
      absl::StartsWith(head, "<script") || absl::StartsWith(head, "<!--")) {
    return "HTML";
  }
  return "";
}

absl::Status NoCase(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("no complaint with tracking code ", AbslView(id)));
}

absl::Status NoAttachment(std::string_view id, std::string_view attachment_id) {
  return absl::NotFoundError(
      absl::StrCat("complaint ", AbslView(id), " has no attachment ", AbslView(attachment_id)));
}

absl::Status NotConfigured() {
  return absl::UnimplementedError("attachments are not configured on this service (objects_dir)");
}

// ViewFor is an attachment as a reader sees it: the redaction's reason and time only for the
// agency.
v1::Attachment ViewFor(const v1::Attachment& a, bool agency) {
  v1::Attachment out = a;
  if (!agency) out.clear_redaction();
  return out;
}

const v1::Attachment* FindAttachment(const v1::Complaint& c, std::string_view attachment_id) {
  for (const v1::Attachment& a : c.uploaded_attachments()) {
    if (a.id() == attachment_id) return &a;
  }
  return nullptr;
}

v1::Attachment* FindAttachment(v1::Complaint& c, std::string_view attachment_id) {
  for (v1::Attachment& a : *c.mutable_uploaded_attachments()) {
    if (a.id() == attachment_id) return &a;
  }
  return nullptr;
}

const v1::Attachment* FindBySha(const v1::Complaint& c, std::string_view sha256) {
  for (const v1::Attachment& a : c.uploaded_attachments()) {
    if (!a.redacted() && a.sha256() == sha256) return &a;
  }
  return nullptr;
}

// NewAttachmentId is ten random Crockford base32 characters (a tracking code without its
// dash): unguessable, and a valid object key segment.
std::string NewAttachmentId() { return absl::StrReplaceAll(NewTrackingCode(), {{"-", ""}}); }

// UploadAllowed checks the state and count limits of an upload to `c`.
absl::Status UploadAllowed(const v1::Complaint& c, int max_per_case) {
  if (c.state() == v1::STATE_ARCHIVED || c.state() == v1::STATE_COMPLETED) {
    return absl::FailedPreconditionError(absl::StrCat("complaint ", c.id(), " is ",
                                                      StateName(c.state()),
                                                      "; a closed case takes no attachments"));
  }
  if (c.uploaded_attachments_size() >= max_per_case) {
    return absl::FailedPreconditionError(absl::StrCat("complaint ", c.id(), " already has ",
                                                      c.uploaded_attachments_size(),
                                                      " attachments, the most a case takes"));
  }
  return absl::OkStatus();
}

// kReplayMarker marks a mutation that found the same content already attached (a concurrent
// upload of the same file won the race).
constexpr absl::string_view kReplayMarker = "attachment already uploaded";

}  // namespace

Sniffed SniffContent(std::string_view s) {
  if (StartsWith(s, "\xFF\xD8\xFF")) return {"image/jpeg", "JPEG"};
  if (StartsWith(s, "\x89PNG\r\n\x1A\n")) return {"image/png", "PNG"};
  if (StartsWith(s, "GIF87a") || StartsWith(s, "GIF89a")) return {"image/gif", "GIF"};
  if (s.size() >= 12 && StartsWith(s, "RIFF") && s.substr(8, 4) == "WEBP") {
    return {"image/webp", "WebP"};
  }
  if (StartsWith(s, "%PDF-")) return {"application/pdf", "PDF"};
  // Not accepted: name what it looks like, for the error message.
  if (StartsWith(s, "MZ")) return {"", "Windows executable"};
  if (StartsWith(s,
                 "\x7F"
                 "ELF"))
    return {"", "ELF executable"};
  if (StartsWith(s, "PK\x03\x04")) return {"", "ZIP archive (or an Office document)"};
  if (StartsWith(s, "#!")) return {"", "script"};
  if (std::string kind = MarkupKind(s); !kind.empty()) return {"", kind};
  return {"", "unknown"};
}

bool IsImage(std::string_view media_type) { return StartsWith(media_type, "image/"); }

std::string AttachmentObjectKey(std::string_view complaint_id, std::string_view attachment_id) {
  return absl::StrCat(AbslView(complaint_id), "/", AbslView(attachment_id));
}

bool PubliclyVisible(const v1::Complaint& c, const v1::Attachment& a) {
  return IsPubliclyListed(c) && PublishedToPublic(c, a);
}

absl::StatusOr<ComplaintDesk::AttachmentReader> ComplaintDesk::ReadForAttachments(
    const Identity& caller, std::string_view id, std::string_view secret) {
  AttachmentReader reader;
  SIMPUL_ASSIGN_OR_RETURN(std::string code, ParseId("id", AbslView(id)));
  if (!secret.empty()) {
    SIMPUL_ASSIGN_OR_RETURN(reader.record, LoadForComplainant(code, secret));
    reader.complainant = true;
    reader.party = true;
    return reader;
  }
  SIMPUL_ASSIGN_OR_RETURN(auto record, store_.Get(code));
  if (!record) return NoCase(code);
  reader.record = *std::move(record);
  const v1::Complaint& c = reader.record.complaint();
  reader.agency = IsHandler(caller, c) || IsCoordinator(caller);
  reader.party = FiledThrough(caller, c);
  return reader;
}

absl::StatusOr<v1::UploadAttachmentResponse> ComplaintDesk::UploadAttachment(
    const Identity& caller, const v1::UploadAttachmentRequest& req) {
  ObjectStore* objects = options_.attachments.objects;
  if (objects == nullptr) return NotConfigured();
  FieldViolations v;
  Sniffed sniffed;
  const std::string& content = req.content();
  if (content.empty()) {
    v.Add("content", "required: the file's bytes (the upload is empty)");
  } else if (static_cast<int64_t>(content.size()) > options_.attachments.max_bytes) {
    v.Add("content",
          absl::StrCat("at most ", options_.attachments.max_bytes, " bytes, got ", content.size()));
  } else {
    sniffed = SniffContent(content);
    if (sniffed.media_type.empty()) {
      v.Add("content",
            absl::StrCat("must be a JPEG, PNG, GIF or WebP image or a PDF document; the content "
                         "is ",
                         sniffed.kind,
                         req.media_type().empty() && req.file_name().empty()
                             ? ""
                             : " whatever its declared type or file name says"));
    }
  }
  CheckChars(v, "media_type", req.media_type(), 0, 255);
  CheckChars(v, "file_name", req.file_name(), 0, 255);
  CheckChars(v, "description", req.description(), 0, 200);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));

  SIMPUL_ASSIGN_OR_RETURN(AttachmentReader reader,
                          ReadForAttachments(caller, req.id(), req.secret()));
  const v1::Complaint& c = reader.record.complaint();
  // Who may upload: the complainant, the filing channel, the handling agency. Anyone else
  // learns nothing, not even that the case exists.
  auto may_upload = [&](const v1::Complaint& current) {
    return reader.complainant || FiledThrough(caller, current) || IsHandler(caller, current);
  };
  if (!may_upload(c)) return NoCase(c.id());
  const std::string sha256 = absl::BytesToHexString(AbslView(Sha256(content)));
  v1::UploadAttachmentResponse response;
  if (const v1::Attachment* same = FindBySha(c, sha256)) {
    *response.mutable_attachment() = ViewFor(*same, reader.agency);
    response.set_replayed(true);
    return response;
  }
  SIMPUL_RETURN_IF_ERROR(UploadAllowed(c, options_.attachments.max_per_case));

  v1::Attachment attachment;
  attachment.set_id(NewAttachmentId());
  attachment.set_media_type(sniffed.media_type);
  attachment.set_description(req.description());
  attachment.set_size_bytes(static_cast<int64_t>(content.size()));
  attachment.set_sha256(sha256);
  const std::string key = AttachmentObjectKey(c.id(), attachment.id());
  // The object first, durably; only then the record that names it.
  absl::Status put = objects->Put(key, content, {sniffed.media_type, sha256});
  if (!put.ok()) {
    Log(LogLevel::kWarn, "attachment not stored", {{"error", put.ToString()}});
    return absl::UnavailableError("the attachment could not be stored; retry shortly");
  }

  const Mutation append = [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
    if (!reader.complainant && !may_upload(current.complaint())) return NoCase(c.id());
    if (FindBySha(current.complaint(), sha256) != nullptr) {
      return absl::AlreadyExistsError(kReplayMarker);
    }
    SIMPUL_RETURN_IF_ERROR(UploadAllowed(current.complaint(), options_.attachments.max_per_case));
    *s.next.add_uploaded_attachments() = attachment;
    s.entry.set_reason(absl::StrCat("attachment ", attachment.id(), " (", sniffed.media_type, ", ",
                                    content.size(), " bytes)"));
    return absl::OkStatus();
  };
  absl::StatusOr<v1::ComplaintRecord> committed =
      reader.complainant ? ActAsComplainant(req.id(), req.secret(), "UploadAttachment", append)
                         : Act(caller, "id", req.id(), 0, "UploadAttachment", append);
  if (!committed.ok()) {
    // Nothing references the object: remove it (a failure here leaves an orphan only).
    absl::Status removed = objects->Delete(key);
    if (!removed.ok()) {
      Log(LogLevel::kWarn, "orphan attachment object left", {{"error", removed.ToString()}});
    }
    if (committed.status().code() == absl::StatusCode::kAlreadyExists &&
        committed.status().message() == kReplayMarker) {
      SIMPUL_ASSIGN_OR_RETURN(reader, ReadForAttachments(caller, req.id(), req.secret()));
      if (const v1::Attachment* same = FindBySha(reader.record.complaint(), sha256)) {
        *response.mutable_attachment() = ViewFor(*same, reader.agency);
        response.set_replayed(true);
        return response;
      }
      return absl::AbortedError("the case changed during the upload; retry");
    }
    return committed.status();
  }
  *response.mutable_attachment() = ViewFor(attachment, reader.agency);
  return response;
}

absl::StatusOr<v1::ListAttachmentsResponse> ComplaintDesk::ListAttachments(
    const Identity& caller, const v1::ListAttachmentsRequest& req) {
  if (options_.attachments.objects == nullptr) return NotConfigured();
  SIMPUL_ASSIGN_OR_RETURN(AttachmentReader reader,
                          ReadForAttachments(caller, req.id(), req.secret()));
  const v1::Complaint& c = reader.record.complaint();
  v1::ListAttachmentsResponse response;
  for (const v1::Attachment& a : c.uploaded_attachments()) {
    if (reader.agency || reader.party) {
      *response.add_attachments() = ViewFor(a, reader.agency);
    } else if (PubliclyVisible(c, a)) {
      *response.add_attachments() = ViewFor(a, false);
    }
  }
  // The public learns nothing of a case it may not see.
  if (!reader.agency && !reader.party && !IsPubliclyListed(c)) return NoCase(c.id());
  return response;
}

absl::StatusOr<v1::GetAttachmentResponse> ComplaintDesk::GetAttachment(
    const Identity& caller, const v1::GetAttachmentRequest& req) {
  ObjectStore* objects = options_.attachments.objects;
  if (objects == nullptr) return NotConfigured();
  if (req.attachment_id().empty()) return InvalidField("attachment_id", "required");
  SIMPUL_ASSIGN_OR_RETURN(AttachmentReader reader,
                          ReadForAttachments(caller, req.id(), req.secret()));
  const v1::Complaint& c = reader.record.complaint();
  const v1::Attachment* a = FindAttachment(c, req.attachment_id());
  if (a == nullptr) return NoAttachment(c.id(), req.attachment_id());
  if (!reader.agency && !reader.party && !PubliclyVisible(c, *a)) {
    return NoAttachment(c.id(), req.attachment_id());
  }
  if (a->redacted()) {
    return absl::NotFoundError(absl::StrCat("attachment ", a->id(), " of complaint ", c.id(),
                                            " was redacted; its content is gone"));
  }
  absl::StatusOr<std::string> bytes = objects->Get(AttachmentObjectKey(c.id(), a->id()));
  if (!bytes.ok()) {
    Log(LogLevel::kError, "attachment content unreadable",
        {{"complaint", c.id()}, {"attachment", a->id()}, {"error", bytes.status().ToString()}});
    return absl::UnavailableError("the attachment's content cannot be read right now");
  }
  v1::GetAttachmentResponse response;
  *response.mutable_attachment() = ViewFor(*a, reader.agency);
  *response.mutable_content() = *std::move(bytes);
  return response;
}

absl::StatusOr<v1::RedactAttachmentResponse> ComplaintDesk::RedactAttachment(
    const Identity& caller, const v1::RedactAttachmentRequest& req) {
  ObjectStore* objects = options_.attachments.objects;
  if (objects == nullptr) return NotConfigured();
  FieldViolations v;
  if (req.attachment_id().empty()) v.Add("attachment_id", "required");
  CheckChars(v, "reason", req.reason(), 1, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(std::string code, ParseId("id", req.id()));
  const std::string key = AttachmentObjectKey(code, req.attachment_id());

  // A retry of a redaction whose delete failed: delete again, change nothing else.
  SIMPUL_ASSIGN_OR_RETURN(auto current, store_.Get(code));
  if (!current) return NoCase(code);
  SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, current->complaint(), /*coordinator_too=*/true));
  const v1::Attachment* existing = FindAttachment(current->complaint(), req.attachment_id());
  if (existing == nullptr) return NoAttachment(code, req.attachment_id());
  v1::RedactAttachmentResponse response;
  if (!existing->redacted()) {
    SIMPUL_ASSIGN_OR_RETURN(
        auto record, Act(caller, "id", req.id(), req.expected_revision(), "RedactAttachment",
                         [&](const v1::ComplaintRecord& now_record, Step& s) -> absl::Status {
                           SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, now_record.complaint(),
                                                                 /*coordinator_too=*/true));
                           v1::Attachment* a = FindAttachment(s.next, req.attachment_id());
                           if (a == nullptr) return NoAttachment(code, req.attachment_id());
                           if (a->redacted()) {
                             return absl::FailedPreconditionError(
                                 absl::StrCat("attachment ", a->id(), " is already redacted"));
                           }
                           a->set_redacted(true);
                           a->set_published(false);
                           a->mutable_redaction()->set_reason(req.reason());
                           *a->mutable_redaction()->mutable_time() = ToProto(s.now);
                           // The reason stays on the record, for the agency: the history is shown
                           // to the complainant (TrackComplaint).
                           s.entry.set_reason(absl::StrCat("attachment ", a->id(), " redacted"));
                           return absl::OkStatus();
                         }));
    *response.mutable_attachment() = *FindAttachment(record.complaint(), req.attachment_id());
  } else {
    *response.mutable_attachment() = *existing;
  }
  absl::Status deleted = objects->Delete(key);
  if (!deleted.ok()) {
    Log(LogLevel::kWarn, "redacted attachment not deleted yet",
        {{"complaint", code}, {"error", deleted.ToString()}});
    return absl::UnavailableError(
        "the redaction is recorded (nobody is served the content) but the content could not be "
        "deleted yet; repeat the call");
  }
  return response;
}

absl::StatusOr<v1::PublishAttachmentResponse> ComplaintDesk::PublishAttachment(
    const Identity& caller, const v1::PublishAttachmentRequest& req) {
  if (options_.attachments.objects == nullptr) return NotConfigured();
  if (req.attachment_id().empty()) return InvalidField("attachment_id", "required");
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "PublishAttachment",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            SIMPUL_RETURN_IF_ERROR(
                RequireHandler(caller, current.complaint(), /*coordinator_too=*/true));
            v1::Attachment* a = FindAttachment(s.next, req.attachment_id());
            if (a == nullptr) return NoAttachment(s.next.id(), req.attachment_id());
            if (req.published()) {
              if (a->redacted()) {
                return absl::FailedPreconditionError(
                    absl::StrCat("attachment ", a->id(), " is redacted"));
              }
              if (!IsImage(a->media_type())) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "only images are published; attachment ", a->id(), " is ", a->media_type()));
              }
              if (s.next.confidentiality() != v1::CONFIDENTIALITY_PUBLIC) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "complaint ", s.next.id(),
                    " is not PUBLIC; attachments of SECRET and ANONYMOUS cases stay private"));
              }
            }
            a->set_published(req.published());
            s.entry.set_reason(absl::StrCat("attachment ", a->id(),
                                            req.published() ? " published" : " unpublished"));
            return absl::OkStatus();
          }));
  v1::PublishAttachmentResponse response;
  *response.mutable_attachment() = *FindAttachment(record.complaint(), req.attachment_id());
  return response;
}

}  // namespace simpul::complaints
