// Tests of the public and full views of a complaint (clients/complaints/views.h).
#include "clients/complaints/views.h"

#include "gtest/gtest.h"

namespace simpul::complaints {
namespace {

const absl::Time kNext = absl::FromUnixSeconds(1'800'000'000);

// ACase is a verified PUBLIC case with a full identity, a rating and a next deadline at kNext.
v1::Complaint ACase() {
  v1::Complaint c;
  c.set_id("7KQ2M-XW9DT");
  c.set_state(v1::STATE_VERIFIED);
  c.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
  c.set_title("Jalan rusak");
  c.set_description("Berlubang di depan pasar");
  c.set_channel_name("sms-1708");
  c.mutable_complainant()->set_name("Siti Rahma");
  c.mutable_complainant()->set_phone("0812 3456 789");
  c.mutable_complainant()->set_email("siti@example.id");
  c.set_agency_id("kota-bogor");
  c.set_unit_id("dpupr-bogor");
  c.set_service_id("jalan-kota-bogor");
  c.mutable_deadlines()->mutable_dispose_by()->set_seconds(absl::ToUnixSeconds(kNext));
  c.mutable_deadlines()->mutable_next()->set_seconds(absl::ToUnixSeconds(kNext));
  c.set_rating(4);
  c.set_archive_reason(v1::ARCHIVE_REASON_UNSPECIFIED);
  c.mutable_file_time()->set_seconds(1'799'000'000);
  c.mutable_update_time()->set_seconds(1'799'500'000);
  return c;
}

TEST(ViewsTest, StateNoteSaysWhatTheStateMeansInEitherLanguage) {
  EXPECT_EQ(StateNote(v1::STATE_VERIFIED, v1::ARCHIVE_REASON_UNSPECIFIED, Lang::kIndonesian),
            "Terverifikasi; sedang diteruskan ke unit yang bertanggung jawab.");
  EXPECT_EQ(StateNote(v1::STATE_VERIFIED, v1::ARCHIVE_REASON_UNSPECIFIED, Lang::kEnglish),
            "Verified; being routed to the responsible unit.");
  const std::string archived =
      StateNote(v1::STATE_ARCHIVED, v1::ARCHIVE_REASON_DUPLICATE, Lang::kEnglish);
  EXPECT_EQ(archived.rfind("Closed without action (", 0), 0u) << archived;
  EXPECT_NE(archived, StateNote(v1::STATE_ARCHIVED, v1::ARCHIVE_REASON_UNCLEAR, Lang::kEnglish));
  EXPECT_EQ(StateNote(v1::STATE_UNSPECIFIED, v1::ARCHIVE_REASON_UNSPECIFIED, Lang::kEnglish), "");
  // Numbers no enum value has (a newer sender): no note for the state, no text for the reason,
  // and never an exception.
  EXPECT_EQ(StateNote(static_cast<v1::State>(999), v1::ARCHIVE_REASON_UNSPECIFIED, Lang::kEnglish),
            "");
  EXPECT_EQ(StateNote(v1::STATE_ARCHIVED, static_cast<v1::ArchiveReason>(999), Lang::kEnglish),
            "Closed without action ().");
}

TEST(ViewsTest, ADeadlinePassesOnceItsWholeSecondHasBegun) {
  google::protobuf::Timestamp t;
  t.set_seconds(absl::ToUnixSeconds(kNext));
  EXPECT_FALSE(DeadlinePassed(true, t, kNext));
  EXPECT_FALSE(DeadlinePassed(true, t, kNext + absl::Milliseconds(999)));
  EXPECT_TRUE(DeadlinePassed(true, t, kNext + absl::Seconds(1)));
  EXPECT_FALSE(DeadlinePassed(false, t, kNext + absl::Hours(1)));
  v1::Complaint c = ACase();
  EXPECT_FALSE(IsOverdue(c, kNext));
  EXPECT_TRUE(IsOverdue(c, kNext + absl::Seconds(1)));
  c.mutable_deadlines()->clear_next();
  EXPECT_FALSE(IsOverdue(c, kNext + absl::Hours(24)));
}

TEST(ViewsTest, PublicViewKeepsDeadlinesOverdueAndRatingButNoContactDetails) {
  const v1::Complaint c = ACase();
  const v1::PublicComplaint p = PublicView(c, kNext + absl::Seconds(1));
  EXPECT_EQ(p.id(), "7KQ2M-XW9DT");
  EXPECT_EQ(p.state(), v1::STATE_VERIFIED);
  EXPECT_EQ(p.title(), "Jalan rusak");
  EXPECT_EQ(p.description(), "Berlubang di depan pasar");
  EXPECT_EQ(p.complainant_name(), "Siti Rahma");  // a PUBLIC case shows the name
  EXPECT_EQ(p.agency_id(), "kota-bogor");
  EXPECT_EQ(p.unit_id(), "dpupr-bogor");
  EXPECT_EQ(p.service_id(), "jalan-kota-bogor");
  EXPECT_EQ(p.deadlines().dispose_by().seconds(), absl::ToUnixSeconds(kNext));
  EXPECT_EQ(p.deadlines().next().seconds(), absl::ToUnixSeconds(kNext));
  EXPECT_TRUE(p.overdue());
  EXPECT_EQ(p.rating(), 4);
  EXPECT_EQ(p.file_time().seconds(), 1'799'000'000);
  EXPECT_EQ(p.update_time().seconds(), 1'799'500'000);
  EXPECT_FALSE(p.has_location());  // the case has none
  EXPECT_FALSE(PublicView(c, kNext).overdue());
  // PublicComplaint has no field for the phone, e-mail or channel name: nothing to leak.
}

TEST(ViewsTest, PublicViewShowsNoNameOfASecretCase) {
  v1::Complaint c = ACase();
  c.set_confidentiality(v1::CONFIDENTIALITY_SECRET);
  EXPECT_EQ(PublicView(c, kNext).complainant_name(), "");
  c.mutable_location()->set_address("Jl. Suryakencana");
  EXPECT_EQ(PublicView(c, kNext).location().address(), "Jl. Suryakencana");
}

TEST(ViewsTest, PublicViewOfAnAnonymousCaseShowsACoarseLocation) {
  v1::Complaint c = ACase();
  c.clear_complainant();
  c.set_confidentiality(v1::CONFIDENTIALITY_ANONYMOUS);
  c.mutable_location()->set_address("Jl. Suryakencana No. 12, RT 03/RW 05");
  c.mutable_location()->set_region_code("32.71.01.1001");
  c.mutable_location()->set_latitude(-6.60437);
  c.mutable_location()->set_longitude(106.79985);
  const v1::Location shown = PublicView(c, kNext).location();
  EXPECT_EQ(shown.address(), "");              // free text could name the house
  EXPECT_EQ(shown.region_code(), "32.71.01");  // the district, not the village
  EXPECT_DOUBLE_EQ(shown.latitude(), -6.60);   // about 1 km
  EXPECT_DOUBLE_EQ(shown.longitude(), 106.80);
  // Coarser codes stay as they are; a location without coordinates gets none.
  c.mutable_location()->set_region_code("32.71");
  c.mutable_location()->set_latitude(0);
  c.mutable_location()->set_longitude(0);
  EXPECT_EQ(PublicView(c, kNext).location().region_code(), "32.71");
  EXPECT_EQ(PublicView(c, kNext).location().latitude(), 0);
  // PUBLIC and SECRET cases keep the location as given; the full view is never coarsened.
  c.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
  c.mutable_location()->set_latitude(-6.60437);
  EXPECT_EQ(PublicView(c, kNext).location().address(), "Jl. Suryakencana No. 12, RT 03/RW 05");
  EXPECT_DOUBLE_EQ(PublicView(c, kNext).location().latitude(), -6.60437);
  c.set_confidentiality(v1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_DOUBLE_EQ(FullView(c, false, kNext).location().latitude(), -6.60437);
  EXPECT_EQ(FullView(c, false, kNext).location().region_code(), "32.71");
}

TEST(ViewsTest, FullViewWithholdsTheIdentityUnlessShown) {
  const v1::Complaint c = ACase();
  const v1::Complaint shown = FullView(c, /*show_identity=*/true, kNext + absl::Seconds(1));
  EXPECT_EQ(shown.complainant().phone(), "0812 3456 789");
  EXPECT_FALSE(shown.identity_withheld());
  EXPECT_TRUE(shown.overdue());

  const v1::Complaint withheld = FullView(c, /*show_identity=*/false, kNext);
  EXPECT_FALSE(withheld.has_complainant());
  EXPECT_TRUE(withheld.identity_withheld());
  EXPECT_FALSE(withheld.overdue());
  EXPECT_EQ(withheld.rating(), 4);

  v1::Complaint anonymous = ACase();
  anonymous.clear_complainant();
  EXPECT_FALSE(FullView(anonymous, false, kNext).identity_withheld());  // nothing to withhold
  EXPECT_FALSE(HasIdentity(anonymous.complainant()));
  EXPECT_TRUE(HasIdentity(c.complainant()));
}

}  // namespace
}  // namespace simpul::complaints
