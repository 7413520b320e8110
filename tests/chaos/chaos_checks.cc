#include "tests/chaos/chaos_checks.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"

namespace simpul::testing {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace mv1 = ::simpul::monitoring::v1;

// The description of the load's filings (tests/testing/mixed_load.cc): a replay must be the
// byte-identical request.
constexpr char kLoadFilingDescription[] =
    "Akta kelahiran anak kami belum terbit setelah tiga minggu menunggu.";

std::string Describe(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), " ", s.error_message());
}

// Retrying makes a read that meets a restarting component wait for it (the faults are over,
// but a replica may still be reconnecting).
template <typename F>
grpc::Status Retrying(F call) {
  grpc::Status s;
  for (int attempt = 0; attempt < 20; ++attempt) {
    s = call();
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
        s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return s;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  return s;
}

}  // namespace

ChaosCheckResult CheckAcknowledged(const std::vector<Ack>& acks, int64_t unacked_bound,
                                   const LoadSetup& setup, std::shared_ptr<grpc::Channel> gateway,
                                   absl::Duration converge_timeout) {
  ChaosCheckResult r;
  r.unacked_bound = unacked_bound;
  auto complaints = cv1::Complaints::NewStub(gateway);
  auto monitoring = mv1::Monitoring::NewStub(gateway);
  const Caller& officer = setup.callers.officer;

  std::set<std::string> filed_codes;
  std::map<std::string, std::vector<const Ack*>> actions_by_case;
  for (const Ack& ack : acks) {
    switch (ack.kind) {
      case Ack::kFiling: {
        ++r.acked_filings;
        if (!filed_codes.insert(ack.tracking_code).second) {
          r.Problem(absl::StrCat("two acknowledged filings got ", ack.tracking_code));
        }
        cv1::GetComplaintRequest get;
        get.set_id(ack.tracking_code);
        cv1::GetComplaintResponse got;
        grpc::Status s = Retrying([&] {
          auto ctx = CallContext(officer);
          return complaints->GetComplaint(ctx.get(), get, &got);
        });
        if (!s.ok()) {
          ++r.lost_filings;
          r.Problem(absl::StrCat("filing ", ack.key, " -> ", ack.tracking_code, " (acknowledged ",
                                 absl::FormatTime("%H:%M:%E3S", ack.acked, absl::UTCTimeZone()),
                                 "): GetComplaint ", Describe(s)));
          break;
        }
        // The same request again (tests/testing/mixed_load.cc's filing, whose service id the
        // case has): a replay of the first case.
        cv1::FileComplaintRequest again;
        again.set_idempotency_key(ack.key);
        again.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
        again.set_channel(cv1::CHANNEL_SMS);
        again.set_service_id(got.complaint().service_id());
        again.set_description(kLoadFilingDescription);
        cv1::FileComplaintResponse replay;
        s = Retrying([&] {
          auto ctx = CallContext(setup.callers.channel);
          return complaints->FileComplaint(ctx.get(), again, &replay);
        });
        // The channel's retry derives the complainant's secret again, whichever replica
        // answers (they share --secret_key_file).
        if (!s.ok() || replay.tracking_code() != ack.tracking_code || !replay.replayed() ||
            replay.secret().empty()) {
          ++r.replay_mismatches;
          r.Problem(absl::StrCat("filing ", ack.key, " -> ", ack.tracking_code, ": replay ",
                                 s.ok() ? replay.ShortDebugString() : Describe(s)));
        }
        break;
      }
      case Ack::kAction:
        ++r.acked_actions;
        actions_by_case[ack.tracking_code].push_back(&ack);
        break;
      case Ack::kSurvey:
        ++r.acked_surveys;
        break;
      case Ack::kRead:
        ++r.acked_reads;
        break;
    }
  }

  // Every acknowledged state change is in its case's history.
  for (const auto& [code, case_acks] : actions_by_case) {
    cv1::GetComplaintHistoryRequest req;
    req.set_id(code);
    cv1::GetComplaintHistoryResponse history;
    grpc::Status s = Retrying([&] {
      auto ctx = CallContext(officer);
      return complaints->GetComplaintHistory(ctx.get(), req, &history);
    });
    if (!s.ok()) {
      r.lost_changes += static_cast<int64_t>(case_acks.size());
      r.Problem(absl::StrCat(code, ": GetComplaintHistory ", Describe(s)));
      continue;
    }
    for (const Ack* ack : case_acks) {
      const std::string method = std::vector<std::string>(absl::StrSplit(ack->key, '/')).back();
      bool found = false;
      for (const cv1::HistoryEntry& e : history.entries()) {
        found = found || (e.sequence() == ack->revision_after && e.action() == method &&
                          cv1::State_Name(e.to_state()) == ack->state_after);
      }
      if (!found) {
        ++r.lost_changes;
        r.Problem(absl::StrCat(ack->key, " (revision ", ack->revision_after, ", ", ack->state_after,
                               ", acknowledged ",
                               absl::FormatTime("%H:%M:%E3S", ack->acked, absl::UTCTimeZone()),
                               ") is not in the history"));
      }
    }
  }

  // No duplicate cases: the cases of the load's agency (only the load files there).
  std::set<std::string> listed;
  std::string token;
  do {
    cv1::ListComplaintsRequest req;
    req.set_agency_id(setup.seed.agency_id);
    req.mutable_page()->set_page_size(500);
    req.mutable_page()->set_page_token(token);
    cv1::ListComplaintsResponse page;
    grpc::Status s = Retrying([&] {
      auto ctx = CallContext(officer);
      return complaints->ListComplaints(ctx.get(), req, &page);
    });
    if (!s.ok()) {
      r.Problem(absl::StrCat("ListComplaints: ", Describe(s)));
      break;
    }
    for (const cv1::Complaint& c : page.complaints()) listed.insert(c.id());
    token = page.next_page_token();
  } while (!token.empty());
  r.listed_cases = static_cast<int64_t>(listed.size());
  for (const std::string& code : listed) r.landed_unacked += filed_codes.count(code) == 0;
  r.duplicate_cases = std::max<int64_t>(0, r.landed_unacked - unacked_bound);
  if (r.duplicate_cases > 0) {
    r.Problem(absl::StrCat(r.landed_unacked, " cases no acknowledged filing got, more than the ",
                           unacked_bound, " calls that were not acknowledged"));
  }

  // Monitoring converges to the totals.
  const absl::CivilSecond now =
      absl::ToCivilSecond(absl::Now(), absl::FixedTimeZone(7 * 60 * 60));  // WIB
  mv1::GetFiguresRequest figures_req;
  figures_req.mutable_scope()->set_agency_id(setup.seed.agency_id);
  figures_req.mutable_period()->set_kind(mv1::PERIOD_KIND_MONTH);
  figures_req.mutable_period()->set_year(static_cast<int>(now.year()));
  figures_req.mutable_period()->set_index(now.month());
  const absl::Time poll_start = absl::Now();
  const absl::Time deadline = poll_start + converge_timeout;
  for (;;) {
    mv1::GetFiguresResponse figures;
    auto ctx = CallContext(officer);
    grpc::Status s = monitoring->GetFigures(ctx.get(), figures_req, &figures);
    if (s.ok()) {
      r.monitoring_received = figures.figures().complaints().received();
      r.monitoring_respondents = figures.figures().survey().respondents();
      r.counters_converged = r.monitoring_received == r.listed_cases &&
                             r.monitoring_respondents >= r.acked_surveys &&
                             r.monitoring_respondents <= r.acked_surveys + unacked_bound;
    }
    if (r.counters_converged || absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  if (!r.counters_converged) {
    r.Problem(absl::StrCat("monitoring did not converge within ",
                           absl::FormatDuration(converge_timeout), ": received ",
                           r.monitoring_received, " (cases ", r.listed_cases, "), respondents ",
                           r.monitoring_respondents, " (acknowledged surveys ", r.acked_surveys,
                           ", at most ", unacked_bound, " more)"));
  }
  r.converge_time = absl::Now() - poll_start;
  return r;
}

}  // namespace simpul::testing
