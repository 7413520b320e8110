// The history a complaint's lifecycle leaves, shared by the unit and end-to-end tests of
// simpul-complaints.
#ifndef SIMPUL_TESTS_TESTING_COMPLAINT_HISTORY_H_
#define SIMPUL_TESTS_TESTING_COMPLAINT_HISTORY_H_

#include <string>
#include <vector>

#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::testing {

// HistoryStep is one expected history entry: the action, the states before and after it, and
// the kind of actor.
struct HistoryStep {
  std::string action;
  ::simpul::complaints::v1::State from, to;
  ::simpul::complaints::v1::ActorKind actor;
};

// ReopenedCaseHistory is the history, oldest first, of a case filed through a channel,
// verified, disposed, worked on and answered by the agency, replied to by the complainant,
// answered again, completed, rated and then reopened by the complainant.
inline std::vector<HistoryStep> ReopenedCaseHistory() {
  namespace v1 = ::simpul::complaints::v1;
  return {
      {"FileComplaint", v1::STATE_UNSPECIFIED, v1::STATE_RECEIVED, v1::ACTOR_KIND_CHANNEL},
      {"VerifyComplaint", v1::STATE_RECEIVED, v1::STATE_VERIFIED, v1::ACTOR_KIND_AGENCY},
      {"DisposeComplaint", v1::STATE_VERIFIED, v1::STATE_DISPOSED, v1::ACTOR_KIND_AGENCY},
      {"StartWork", v1::STATE_DISPOSED, v1::STATE_IN_PROGRESS, v1::ACTOR_KIND_AGENCY},
      {"PostFollowUp", v1::STATE_IN_PROGRESS, v1::STATE_RESPONDED, v1::ACTOR_KIND_AGENCY},
      {"ReplyToComplaint", v1::STATE_RESPONDED, v1::STATE_IN_PROGRESS, v1::ACTOR_KIND_COMPLAINANT},
      {"PostFollowUp", v1::STATE_IN_PROGRESS, v1::STATE_RESPONDED, v1::ACTOR_KIND_AGENCY},
      {"CompleteComplaint", v1::STATE_RESPONDED, v1::STATE_COMPLETED, v1::ACTOR_KIND_AGENCY},
      {"RateComplaint", v1::STATE_COMPLETED, v1::STATE_COMPLETED, v1::ACTOR_KIND_COMPLAINANT},
      {"ReopenComplaint", v1::STATE_COMPLETED, v1::STATE_IN_PROGRESS, v1::ACTOR_KIND_COMPLAINANT},
  };
}

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_COMPLAINT_HISTORY_H_
