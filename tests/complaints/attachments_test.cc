// Unit tests of uploaded attachments: content sniffing, the local-disk object store (atomic
// writes, keys that cannot leave the directory, missing keys), and the desk's attachment RPCs
// over the in-memory complaint store and an in-memory object store: limits (size, count,
// type), who may upload, read, redact and publish, redaction, and the order of writes.
#include "services/complaints/attachments.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/complaints/views.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/complaints/complaints.h"
#include "services/complaints/object_store.h"
#include "tests/testing/fake_complaint_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/identities.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace simpul::complaints {
namespace {

using ::simpul::testing::FakeComplaintStore;
using ::simpul::testing::FakeRouter;
using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kBogor[] = "kota-bogor";
constexpr char kBogorUnit[] = "dpmptsp-kota-bogor";
constexpr char kParkir[] = "parkir-kota-bogor";
constexpr char kPadang[] = "padang-pariaman";
constexpr char kPadangUnit[] = "disdukcapil-padang-pariaman";

// Small but real file headers.
const std::string kJpeg = std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11) + "jpegbody";
const std::string kPng = std::string("\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR", 16);
const std::string kPdf = "%PDF-1.7\n1 0 obj\n<<>>\nendobj\n";
const std::string kHtml = "<!DOCTYPE html><html><script>alert(1)</script></html>";
const std::string kExe = std::string("MZ\x90\x00\x03\x00\x00\x00", 8) + "This program";

// ---------------------------------------------------------------------------------------
// Sniffing

TEST(SniffContentTest, RecognisesAcceptedKindsByMagicBytesOnly) {
  struct Row {
    std::string content;
    std::string media_type;
    std::string kind;
  };
  const std::vector<Row> table = {
      {kJpeg, "image/jpeg", "JPEG"},
      {kPng, "image/png", "PNG"},
      {"GIF89a\x01\x00", "image/gif", "GIF"},
      {"GIF87a\x01\x00", "image/gif", "GIF"},
      {std::string("RIFF\x10\x00\x00\x00WEBPVP8 ", 16), "image/webp", "WebP"},
      {kPdf, "application/pdf", "PDF"},
      {kHtml, "", "HTML"},
      {"  \n<html><body>x</body></html>", "", "HTML"},
      {"\xEF\xBB\xBF<!doctype html>", "", "HTML"},
      {"<?xml version=\"1.0\"?><svg/>", "", "XML/SVG"},
      {"<svg onload=alert(1)>", "", "XML/SVG"},
      {kExe, "", "Windows executable"},
      {"\x7F"
       "ELF\x02\x01",
       "", "ELF executable"},
      {std::string("PK\x03\x04\x14\x00", 6), "", "ZIP archive (or an Office document)"},
      {"#!/bin/sh\nrm -rf /", "", "script"},
      {"RIFF\x10\x00\x00\x00WAVEfmt ", "", "unknown"},  // RIFF but not WebP
      {"\xFF\xD8", "", "unknown"},                      // truncated JPEG magic
      {"%PD", "", "unknown"},
      {"plain text that says image/jpeg", "", "unknown"},
      {"", "", "unknown"},
  };
  for (const Row& row : table) {
    Sniffed s = SniffContent(row.content);
    EXPECT_EQ(s.media_type, row.media_type) << row.content;
    EXPECT_EQ(s.kind, row.kind) << row.content;
  }
}

// ---------------------------------------------------------------------------------------
// LocalDiskObjectStore

class LocalDiskObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = LocalDiskObjectStore::Create(dir_.path() + "/objects");
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  std::vector<std::string> FilesUnder(const std::string& root) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) out.push_back(e.path().lexically_relative(root).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  simpul::testing::TempDir dir_{"object_store"};
  std::unique_ptr<LocalDiskObjectStore> store_;
};

TEST_F(LocalDiskObjectStoreTest, PutGetDeleteRoundTripWithPrivateFileMode) {
  ASSERT_THAT(store_->Put("7KQ2M-XW9DT/ABCDE12345", kJpeg, {"image/jpeg", "x"}), IsOk());
  EXPECT_THAT(store_->Exists("7KQ2M-XW9DT/ABCDE12345"), IsOk());
  EXPECT_TRUE(*store_->Exists("7KQ2M-XW9DT/ABCDE12345"));
  auto bytes = store_->Get("7KQ2M-XW9DT/ABCDE12345");
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(*bytes, kJpeg);
  // Exactly one file, the object, mode 0600: no temporary file left behind.
  EXPECT_EQ(FilesUnder(store_->root()), std::vector<std::string>{"7KQ2M-XW9DT/ABCDE12345"});
  struct stat st;
  ASSERT_EQ(::stat((store_->root() + "/7KQ2M-XW9DT/ABCDE12345").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  // Replacing is whole: the new bytes, never a mix.
  ASSERT_THAT(store_->Put("7KQ2M-XW9DT/ABCDE12345", kPdf, {}), IsOk());
  EXPECT_EQ(*store_->Get("7KQ2M-XW9DT/ABCDE12345"), kPdf);

  ASSERT_THAT(store_->Delete("7KQ2M-XW9DT/ABCDE12345"), IsOk());
  EXPECT_FALSE(*store_->Exists("7KQ2M-XW9DT/ABCDE12345"));
  EXPECT_THAT(store_->Get("7KQ2M-XW9DT/ABCDE12345"), StatusIs(absl::StatusCode::kNotFound));
  // Deleting again (a retried redaction) is fine.
  EXPECT_THAT(store_->Delete("7KQ2M-XW9DT/ABCDE12345"), IsOk());
}

TEST_F(LocalDiskObjectStoreTest, MissingKeyIsNotFound) {
  EXPECT_THAT(store_->Get("NOPE0-NOPE0/ABC"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(*store_->Exists("NOPE0-NOPE0/ABC"));
}

TEST_F(LocalDiskObjectStoreTest, KeysCannotLeaveTheDirectoryOrNameTemporaryFiles) {
  // A secret file next to the store: no key reaches it.
  { std::ofstream(dir_.path() + "/secret.txt") << "secret"; }
  for (const std::string& key : std::vector<std::string>{
           "../secret.txt", "..", ".", "/etc/passwd", "a/../../secret.txt", "a//b", "a/", "/a",
           ".tmp-1-2", "a/.tmp-1-2", "a\\..\\b", "a b", "a/b/c/d/e", "", "caf\xC3\xA9",
           std::string("a\0b", 3), std::string(65, 'a')}) {
    EXPECT_THAT(store_->Put(key, "x", {}), StatusIs(absl::StatusCode::kInvalidArgument)) << key;
    EXPECT_THAT(store_->Get(key), StatusIs(absl::StatusCode::kInvalidArgument)) << key;
    EXPECT_THAT(store_->Delete(key), StatusIs(absl::StatusCode::kInvalidArgument)) << key;
    EXPECT_THAT(store_->Exists(key), StatusIs(absl::StatusCode::kInvalidArgument)) << key;
  }
  EXPECT_THAT(FilesUnder(store_->root()), IsEmpty());
  std::ifstream secret(dir_.path() + "/secret.txt");
  std::string text;
  secret >> text;
  EXPECT_EQ(text, "secret");
}

TEST_F(LocalDiskObjectStoreTest, FailedPutLeavesNothingVisible) {
  // The key's directory cannot be made (a file is in the way): the put fails whole.
  { std::ofstream(store_->root() + "/BLOCK") << "a file, not a directory"; }
  EXPECT_THAT(store_->Put("BLOCK/ABC", kJpeg, {}), Not(IsOk()));
  EXPECT_EQ(FilesUnder(store_->root()), std::vector<std::string>{"BLOCK"});
  // A crash after the temporary file was written but before the rename leaves a ".tmp-" file,
  // which no key can name: the object is simply absent.
  std::filesystem::create_directories(store_->root() + "/CASE0");
  { std::ofstream(store_->root() + "/CASE0/.tmp-99-1") << "half"; }
  EXPECT_FALSE(*store_->Exists("CASE0/ABC"));
  EXPECT_THAT(store_->Get("CASE0/ABC"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(LocalDiskObjectStoreCreateTest, RefusesAnEmptyOrFileRoot) {
  simpul::testing::TempDir dir("object_store_create");
  EXPECT_THAT(LocalDiskObjectStore::Create(""), StatusIs(absl::StatusCode::kInvalidArgument));
  dir.Write("file", "x");
  EXPECT_THAT(LocalDiskObjectStore::Create(dir.path() + "/file"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// ---------------------------------------------------------------------------------------
// The desk's attachment RPCs

// MemoryObjectStore is an ObjectStore in memory; `on_put` runs before a put is accepted.
class MemoryObjectStore final : public ObjectStore {
 public:
  absl::Status Put(std::string_view key, std::string_view bytes, const ObjectMetadata&) override {
    SIMPUL_RETURN_IF_ERROR(ValidObjectKey(key));
    if (on_put) on_put(std::string(key));
    if (!fail_puts.ok()) return fail_puts;
    absl::MutexLock lock(&mu_);
    objects_[std::string(key)] = std::string(bytes);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Get(std::string_view key) override {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return absl::NotFoundError("no object");
    return it->second;
  }
  absl::Status Delete(std::string_view key) override {
    if (!fail_deletes.ok()) return fail_deletes;
    absl::MutexLock lock(&mu_);
    objects_.erase(std::string(key));
    return absl::OkStatus();
  }
  absl::StatusOr<bool> Exists(std::string_view key) override {
    absl::MutexLock lock(&mu_);
    return objects_.count(std::string(key)) > 0;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return objects_.size();
  }

  std::function<void(const std::string&)> on_put;
  absl::Status fail_puts;
  absl::Status fail_deletes;

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> objects_ ABSL_GUARDED_BY(mu_);
};

Identity Channel(const std::string& name) { return simpul::testing::ChannelCaller(name); }
Identity Sms() { return Channel("sms-1708"); }
Identity Admin(const std::string& agency) { return simpul::testing::AgencyAdmin(agency); }
Identity Operator(const std::string& agency) { return simpul::testing::AgencyOperator(agency); }
Identity Coordinator() { return simpul::testing::PlatformAdmin(); }

struct Filed {
  std::string id;
  std::string secret;
};

class AttachmentDeskTest : public ::testing::Test {
 protected:
  AttachmentDeskTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 4, 6, 9, 0, 0),
                               absl::FixedTimeZone(7 * 3600))) {}

  void SetUp() override {
    auto calendars = CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR);
    ASSERT_TRUE(calendars.ok()) << calendars.status();
    calendars_ = *std::move(calendars);
    Route bogor;
    bogor.unit_id = kBogorUnit;
    bogor.agency_id = kBogor;
    bogor.time_zone = common::v1::TIME_ZONE_WIB;
    router_.AddUnit(bogor);
    Route parkir = bogor;
    parkir.service_id = kParkir;
    router_.AddService(parkir);
    Route padang;
    padang.unit_id = kPadangUnit;
    padang.agency_id = kPadang;
    padang.time_zone = common::v1::TIME_ZONE_WIB;
    router_.AddUnit(padang);
    MakeDesk(AttachmentOptions{});
  }

  void MakeDesk(AttachmentOptions attachments) {
    ComplaintOptions options;
    attachments.objects = &objects_;
    options.attachments = attachments;
    desk_ = std::make_unique<ComplaintDesk>(store_, router_, *calendars_, clock_, options);
  }

  Filed FileCase(v1::Confidentiality conf = v1::CONFIDENTIALITY_PUBLIC) {
    v1::FileComplaintRequest r;
    r.set_idempotency_key(absl::StrCat("sms-msg-", ++keys_, "-20260406"));
    r.set_report_type(v1::REPORT_TYPE_COMPLAINT);
    r.set_channel(v1::CHANNEL_SMS);
    r.set_service_id(kParkir);
    r.set_title("Parkir liar");
    r.set_description("Juru parkir liar memungut biaya di depan kantor.");
    r.mutable_complainant()->set_name("Budi");
    r.mutable_complainant()->set_phone("+62 812 1111 2222");
    r.set_confidentiality(conf);
    auto resp = desk_->FileComplaint(Sms(), r);
    EXPECT_THAT(resp, IsOk());
    if (!resp.ok()) return {};
    return {resp->tracking_code(), resp->secret()};
  }

  v1::UploadAttachmentRequest Upload(const std::string& id, const std::string& content,
                                     const std::string& secret = "") {
    v1::UploadAttachmentRequest r;
    r.set_id(id);
    r.set_secret(secret);
    r.set_content(content);
    return r;
  }
  v1::Attachment MustUpload(const Identity& caller, const std::string& id,
                            const std::string& content, const std::string& secret = "") {
    auto resp = desk_->UploadAttachment(caller, Upload(id, content, secret));
    EXPECT_THAT(resp, IsOk());
    return resp.ok() ? resp->attachment() : v1::Attachment{};
  }
  absl::StatusOr<v1::GetAttachmentResponse> Get(const Identity& caller, const std::string& id,
                                                const std::string& attachment_id,
                                                const std::string& secret = "") {
    v1::GetAttachmentRequest r;
    r.set_id(id);
    r.set_attachment_id(attachment_id);
    r.set_secret(secret);
    return desk_->GetAttachment(caller, r);
  }
  absl::StatusOr<v1::ListAttachmentsResponse> List(const Identity& caller, const std::string& id,
                                                   const std::string& secret = "") {
    v1::ListAttachmentsRequest r;
    r.set_id(id);
    r.set_secret(secret);
    return desk_->ListAttachments(caller, r);
  }
  absl::StatusOr<v1::RedactAttachmentResponse> Redact(const Identity& caller, const std::string& id,
                                                      const std::string& attachment_id,
                                                      const std::string& reason = "wajah warga") {
    v1::RedactAttachmentRequest r;
    r.set_id(id);
    r.set_attachment_id(attachment_id);
    r.set_reason(reason);
    return desk_->RedactAttachment(caller, r);
  }
  absl::StatusOr<v1::PublishAttachmentResponse> Publish(const Identity& caller,
                                                        const std::string& id,
                                                        const std::string& attachment_id,
                                                        bool published = true) {
    v1::PublishAttachmentRequest r;
    r.set_id(id);
    r.set_attachment_id(attachment_id);
    r.set_published(published);
    return desk_->PublishAttachment(caller, r);
  }
  void Verify(const std::string& id) {
    v1::VerifyComplaintRequest r;
    r.set_id(id);
    ASSERT_THAT(desk_->VerifyComplaint(Admin(kBogor), r), IsOk());
  }
  v1::ComplaintRecord Stored(const std::string& id) {
    auto record = store_.Get(id);
    EXPECT_TRUE(record.ok() && record->has_value());
    return record.ok() && record->has_value() ? **record : v1::ComplaintRecord{};
  }
  std::vector<v1::HistoryEntry> History(const std::string& id) { return *store_.History(id); }

  FakeComplaintStore store_;
  FakeRouter router_;
  MemoryObjectStore objects_;
  std::unique_ptr<CalendarRegistry> calendars_;
  FakeClock clock_;
  std::unique_ptr<ComplaintDesk> desk_;
  int keys_ = 0;
};

TEST_F(AttachmentDeskTest, ChannelUploadsAJpegStoredUnderTheSniffedTypeWithHistory) {
  Filed f = FileCase();
  const int64_t revision = Stored(f.id).complaint().revision();
  v1::UploadAttachmentRequest req = Upload(f.id, kJpeg);
  req.set_media_type("application/pdf");  // a wrong hint is ignored
  req.set_file_name("scan.pdf");
  req.set_description("Foto juru parkir");
  auto resp = desk_->UploadAttachment(Sms(), req);
  ASSERT_THAT(resp, IsOk());
  const v1::Attachment& a = resp->attachment();
  EXPECT_FALSE(resp->replayed());
  EXPECT_EQ(a.media_type(), "image/jpeg");
  EXPECT_EQ(a.size_bytes(), static_cast<int64_t>(kJpeg.size()));
  EXPECT_EQ(a.sha256().size(), 64u);
  EXPECT_EQ(a.description(), "Foto juru parkir");
  EXPECT_THAT(a.id(), SizeIs(10));
  EXPECT_FALSE(a.published());

  const v1::Complaint c = Stored(f.id).complaint();
  EXPECT_EQ(c.revision(), revision + 1);
  ASSERT_EQ(c.uploaded_attachments_size(), 1);
  EXPECT_EQ(c.uploaded_attachments(0).id(), a.id());
  EXPECT_TRUE(*objects_.Exists(AttachmentObjectKey(f.id, a.id())));
  EXPECT_EQ(History(f.id).back().action(), "UploadAttachment");
  EXPECT_THAT(History(f.id).back().reason(), HasSubstr(a.id()));

  auto got = Get(Admin(kBogor), f.id, a.id());
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->content(), kJpeg);
  EXPECT_EQ(got->attachment().media_type(), "image/jpeg");
}

TEST_F(AttachmentDeskTest, RefusesEmptyTooLargeAndUnacceptedContentNamingTheField) {
  MakeDesk(AttachmentOptions{.max_bytes = 64});
  Filed f = FileCase();
  const int64_t revision = Stored(f.id).complaint().revision();

  auto empty = desk_->UploadAttachment(Sms(), Upload(f.id, ""));
  EXPECT_THAT(empty, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("content")));

  auto big = desk_->UploadAttachment(Sms(), Upload(f.id, kJpeg + std::string(100, 'x')));
  EXPECT_THAT(big, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 64 bytes")));

  v1::UploadAttachmentRequest html = Upload(f.id, kHtml);
  html.set_file_name("foto.jpg");
  html.set_media_type("image/jpeg");
  auto refused = desk_->UploadAttachment(Sms(), html);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("content")));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HTML")));
  ASSERT_EQ(BadRequestOf(refused.status()).field_violations_size(), 1);
  EXPECT_EQ(BadRequestOf(refused.status()).field_violations(0).field(), "content");

  auto exe = desk_->UploadAttachment(Sms(), Upload(f.id, kExe));
  EXPECT_THAT(exe, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Windows executable")));

  v1::UploadAttachmentRequest long_text = Upload(f.id, kJpeg);
  long_text.set_description(std::string(201, 'd'));
  EXPECT_THAT(desk_->UploadAttachment(Sms(), long_text),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("description")));

  // Nothing changed anywhere.
  EXPECT_EQ(Stored(f.id).complaint().revision(), revision);
  EXPECT_EQ(objects_.size(), 0u);
}

TEST_F(AttachmentDeskTest, AtMostTheConfiguredCountPerCaseAndTheSameContentReplays) {
  MakeDesk(AttachmentOptions{.max_per_case = 3});
  Filed f = FileCase();
  v1::Attachment first = MustUpload(Sms(), f.id, kJpeg);
  auto again = desk_->UploadAttachment(Sms(), Upload(f.id, kJpeg));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(again->attachment().id(), first.id());
  MustUpload(Sms(), f.id, kPng);
  MustUpload(Sms(), f.id, kPdf);
  const int64_t revision = Stored(f.id).complaint().revision();
  auto fourth = desk_->UploadAttachment(Sms(), Upload(f.id, kJpeg + "other"));
  EXPECT_THAT(fourth, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already has 3")));
  EXPECT_EQ(Stored(f.id).complaint().revision(), revision);
  EXPECT_EQ(objects_.size(), 3u);
}

TEST_F(AttachmentDeskTest, WhoMayUpload) {
  Filed f = FileCase();
  MustUpload(Sms(), f.id, kJpeg);                        // the filing channel
  MustUpload(Identity::Public(), f.id, kPng, f.secret);  // the complainant
  MustUpload(Operator(kBogor), f.id, kPdf);              // the handling agency
  const int64_t revision = Stored(f.id).complaint().revision();
  const std::string other = kJpeg + "2";
  for (const Identity& stranger : {Channel("web-portal"), Operator(kPadang), Admin(kPadang),
                                   Identity::Public(), Coordinator()}) {
    EXPECT_THAT(desk_->UploadAttachment(stranger, Upload(f.id, other)),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("no complaint")));
  }
  EXPECT_THAT(desk_->UploadAttachment(Identity::Public(), Upload(f.id, other, "WRONGSECRET12345")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Stored(f.id).complaint().revision(), revision);
  EXPECT_EQ(objects_.size(), 3u);
  // Each upload's history names its actor kind.
  std::vector<v1::ActorKind> kinds;
  for (const auto& e : History(f.id)) {
    if (e.action() == "UploadAttachment") kinds.push_back(e.actor_kind());
  }
  EXPECT_EQ(kinds, (std::vector<v1::ActorKind>{v1::ACTOR_KIND_CHANNEL, v1::ACTOR_KIND_COMPLAINANT,
                                               v1::ACTOR_KIND_AGENCY}));
}

TEST_F(AttachmentDeskTest, ReadAccessMatrix) {
  Filed f = FileCase();
  v1::Attachment a = MustUpload(Sms(), f.id, kJpeg);
  struct Reader {
    std::string name;
    Identity caller;
    std::string secret;
    bool sees;
  };
  const std::vector<Reader> readers = {
      {"handling admin", Admin(kBogor), "", true},
      {"handling operator", Operator(kBogor), "", true},
      {"coordinator", Coordinator(), "", true},
      {"filing channel", Sms(), "", true},
      {"complainant", Identity::Public(), f.secret, true},
      {"other channel", Channel("web-portal"), "", false},
      {"other agency", Admin(kPadang), "", false},
      {"public", Identity::Public(), "", false},
      {"dashboard", simpul::testing::DashboardCaller(), "", false},
      {"wrong secret", Identity::Public(), "ZZZZZZZZZZZZZZZZ", false},
  };
  for (const Reader& r : readers) {
    auto got = Get(r.caller, f.id, a.id(), r.secret);
    auto list = List(r.caller, f.id, r.secret);
    if (r.sees) {
      ASSERT_THAT(got, IsOk()) << r.name;
      EXPECT_EQ(got->content(), kJpeg) << r.name;
      ASSERT_THAT(list, IsOk()) << r.name;
      EXPECT_THAT(list->attachments(), SizeIs(1)) << r.name;
    } else {
      EXPECT_THAT(got, StatusIs(absl::StatusCode::kNotFound)) << r.name;
      EXPECT_THAT(list, StatusIs(absl::StatusCode::kNotFound)) << r.name;
    }
  }
  // An unknown attachment id is NOT_FOUND even to the agency.
  EXPECT_THAT(Get(Admin(kBogor), f.id, "NOSUCHID00"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AttachmentDeskTest, PublicSeesOnlyPublishedImagesOfListedPublicCases) {
  Filed f = FileCase(v1::CONFIDENTIALITY_PUBLIC);
  v1::Attachment photo = MustUpload(Sms(), f.id, kJpeg);
  v1::Attachment doc = MustUpload(Sms(), f.id, kPdf);
  // Publishing is the agency's; a PDF is never published.
  EXPECT_THAT(Publish(Sms(), f.id, photo.id()), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Publish(Admin(kPadang), f.id, photo.id()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Publish(Admin(kBogor), f.id, doc.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("only images")));
  ASSERT_THAT(Publish(Admin(kBogor), f.id, photo.id()), IsOk());
  // Not yet listed (RECEIVED): the public still sees nothing.
  EXPECT_THAT(Get(Identity::Public(), f.id, photo.id()), StatusIs(absl::StatusCode::kNotFound));
  Verify(f.id);
  auto got = Get(Identity::Public(), f.id, photo.id());
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->content(), kJpeg);
  EXPECT_THAT(Get(Identity::Public(), f.id, doc.id()), StatusIs(absl::StatusCode::kNotFound));
  auto list = List(Identity::Public(), f.id);
  ASSERT_THAT(list, IsOk());
  ASSERT_THAT(list->attachments(), SizeIs(1));
  EXPECT_EQ(list->attachments(0).id(), photo.id());
  // The public view carries the published image only.
  v1::PublicComplaint view = PublicView(Stored(f.id).complaint(), clock_.Now());
  ASSERT_EQ(view.uploaded_attachments_size(), 1);
  EXPECT_EQ(view.uploaded_attachments(0).id(), photo.id());
  // Unpublished again: gone for the public.
  ASSERT_THAT(Publish(Admin(kBogor), f.id, photo.id(), false), IsOk());
  EXPECT_THAT(Get(Identity::Public(), f.id, photo.id()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(PublicView(Stored(f.id).complaint(), clock_.Now()).uploaded_attachments(), IsEmpty());
}

TEST_F(AttachmentDeskTest, SecretAndAnonymousCasesNeverShowAttachmentsToThePublic) {
  for (v1::Confidentiality conf : {v1::CONFIDENTIALITY_SECRET, v1::CONFIDENTIALITY_ANONYMOUS}) {
    Filed f = FileCase(conf);
    v1::Attachment photo = MustUpload(Sms(), f.id, kJpeg);
    Verify(f.id);
    EXPECT_THAT(Publish(Admin(kBogor), f.id, photo.id()),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not PUBLIC")));
    EXPECT_THAT(Get(Identity::Public(), f.id, photo.id()), StatusIs(absl::StatusCode::kNotFound));
    // Even a record marked published (e.g. before the verifier tightened confidentiality).
    v1::Complaint c = Stored(f.id).complaint();
    c.mutable_uploaded_attachments(0)->set_published(true);
    EXPECT_FALSE(PubliclyVisible(c, c.uploaded_attachments(0)));
    EXPECT_THAT(PublicView(c, clock_.Now()).uploaded_attachments(), IsEmpty());
  }
}

TEST_F(AttachmentDeskTest, RedactionDeletesTheContentAndKeepsTheRecord) {
  Filed f = FileCase();
  v1::Attachment photo = MustUpload(Sms(), f.id, kJpeg);
  v1::Attachment doc = MustUpload(Sms(), f.id, kPdf);
  ASSERT_THAT(Publish(Admin(kBogor), f.id, photo.id()), IsOk());
  // Only the handling agency (or a coordinator) redacts.
  EXPECT_THAT(Redact(Sms(), f.id, photo.id()), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Redact(Admin(kPadang), f.id, photo.id()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Redact(Identity::Public(), f.id, photo.id()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Redact(Operator(kBogor), f.id, photo.id(), ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reason")));
  EXPECT_THAT(Redact(Operator(kBogor), f.id, "NOSUCHID00"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(objects_.size(), 2u);

  auto redacted = Redact(Operator(kBogor), f.id, photo.id(), "wajah warga terlihat");
  ASSERT_THAT(redacted, IsOk());
  EXPECT_TRUE(redacted->attachment().redacted());
  EXPECT_FALSE(redacted->attachment().published());
  EXPECT_EQ(redacted->attachment().redaction().reason(), "wajah warga terlihat");
  EXPECT_TRUE(redacted->attachment().redaction().has_time());
  EXPECT_FALSE(*objects_.Exists(AttachmentObjectKey(f.id, photo.id())));
  EXPECT_TRUE(*objects_.Exists(AttachmentObjectKey(f.id, doc.id())));
  EXPECT_EQ(History(f.id).back().action(), "RedactAttachment");
  // The history (which the complainant reads with TrackComplaint) names the attachment, not
  // the agency's reason.
  EXPECT_THAT(History(f.id).back().reason(), HasSubstr(photo.id()));
  EXPECT_THAT(History(f.id).back().reason(), Not(HasSubstr("wajah")));

  // Nobody gets the content any more; the record stays, the reason for the agency only.
  EXPECT_THAT(Get(Admin(kBogor), f.id, photo.id()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("redacted")));
  auto agency_list = List(Admin(kBogor), f.id);
  ASSERT_THAT(agency_list, IsOk());
  ASSERT_THAT(agency_list->attachments(), SizeIs(2));
  EXPECT_EQ(agency_list->attachments(0).redaction().reason(), "wajah warga terlihat");
  auto complainant_list = List(Identity::Public(), f.id, f.secret);
  ASSERT_THAT(complainant_list, IsOk());
  ASSERT_THAT(complainant_list->attachments(), SizeIs(2));
  EXPECT_TRUE(complainant_list->attachments(0).redacted());
  EXPECT_FALSE(complainant_list->attachments(0).has_redaction());
  auto remaining = Get(Identity::Public(), f.id, doc.id(), f.secret);
  ASSERT_THAT(remaining, IsOk());
  EXPECT_EQ(remaining->content(), kPdf);
  // A redacted image cannot be published again; redacting again changes nothing.
  EXPECT_THAT(Publish(Admin(kBogor), f.id, photo.id()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("redacted")));
  const int64_t revision = Stored(f.id).complaint().revision();
  EXPECT_THAT(Redact(Coordinator(), f.id, photo.id()), IsOk());
  EXPECT_EQ(Stored(f.id).complaint().revision(), revision);
  // The same content may be uploaded again afterwards (a redacted one does not dedupe).
  auto again = desk_->UploadAttachment(Sms(), Upload(f.id, kJpeg));
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->replayed());
}

TEST_F(AttachmentDeskTest, RedactionWhoseDeleteFailsIsRecordedAndRetried) {
  Filed f = FileCase();
  v1::Attachment photo = MustUpload(Sms(), f.id, kJpeg);
  objects_.fail_deletes = absl::UnavailableError("disk gone");
  EXPECT_THAT(Redact(Admin(kBogor), f.id, photo.id()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("repeat")));
  // Already unreadable: the record says redacted.
  EXPECT_TRUE(Stored(f.id).complaint().uploaded_attachments(0).redacted());
  EXPECT_THAT(Get(Admin(kBogor), f.id, photo.id()), StatusIs(absl::StatusCode::kNotFound));
  objects_.fail_deletes = absl::OkStatus();
  EXPECT_THAT(Redact(Admin(kBogor), f.id, photo.id()), IsOk());
  EXPECT_FALSE(*objects_.Exists(AttachmentObjectKey(f.id, photo.id())));
}

TEST_F(AttachmentDeskTest, ObjectIsStoredBeforeTheRecordNamesItAndFailuresChangeNothing) {
  Filed f = FileCase();
  int puts = 0;
  objects_.on_put = [&](const std::string& key) {
    ++puts;
    // At the moment of the put, the case does not reference the object yet.
    const v1::ComplaintRecord record = Stored(f.id);  // kept alive for the loop
    for (const auto& a : record.complaint().uploaded_attachments()) {
      EXPECT_NE(AttachmentObjectKey(f.id, a.id()), key);
    }
  };
  MustUpload(Sms(), f.id, kJpeg);
  EXPECT_EQ(puts, 1);

  // The object store fails: no record change.
  const int64_t revision = Stored(f.id).complaint().revision();
  objects_.fail_puts = absl::InternalError("disk full");
  EXPECT_THAT(desk_->UploadAttachment(Sms(), Upload(f.id, kPng)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Stored(f.id).complaint().revision(), revision);
  objects_.fail_puts = absl::OkStatus();

  // The commit fails after the put: the object is removed again (no orphan when possible).
  store_.FailNext(1, absl::UnavailableError("redis down"));
  EXPECT_THAT(desk_->UploadAttachment(Sms(), Upload(f.id, kPng)), Not(IsOk()));
  EXPECT_EQ(Stored(f.id).complaint().revision(), revision);
  EXPECT_EQ(objects_.size(), 1u);
}

TEST_F(AttachmentDeskTest, MalformedIdsAreInvalidNamingTheField) {
  for (const std::string& secret : {std::string(""), std::string("ABCD-EFGH-JKMN-PQRS")}) {
    auto upload = desk_->UploadAttachment(Sms(), Upload("not/a code", kJpeg, secret));
    EXPECT_THAT(upload, StatusIs(absl::StatusCode::kInvalidArgument));
    ASSERT_EQ(BadRequestOf(upload.status()).field_violations_size(), 1) << upload.status();
    EXPECT_EQ(BadRequestOf(upload.status()).field_violations(0).field(), "id");
    EXPECT_THAT(Get(Sms(), "../../etc", "x", secret), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  Filed f = FileCase();
  EXPECT_THAT(Get(Admin(kBogor), f.id, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("attachment_id")));
  EXPECT_EQ(objects_.size(), 0u);
}

TEST_F(AttachmentDeskTest, ClosedCasesTakeNoUploadsAndNoStoreMeansUnimplemented) {
  Filed f = FileCase();
  v1::ArchiveComplaintRequest archive;
  archive.set_id(f.id);
  archive.set_reason(v1::ARCHIVE_REASON_UNCLEAR);
  ASSERT_THAT(desk_->ArchiveComplaint(Admin(kBogor), archive), IsOk());
  EXPECT_THAT(desk_->UploadAttachment(Sms(), Upload(f.id, kJpeg)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ARCHIVED")));

  ComplaintDesk bare(store_, router_, *calendars_, clock_, ComplaintOptions{});
  EXPECT_THAT(bare.UploadAttachment(Sms(), Upload(f.id, kJpeg)),
              StatusIs(absl::StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace simpul::complaints
