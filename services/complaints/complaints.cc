// The complaint desk's construction and shared names. The desk's work is spread over files of
// one job each: filing.cc (filing), acting.cc (how an action is committed), lifecycle.cc (the
// handling), complainant_actions.cc (reply, rate, reopen), listing.cc (reads and lists),
// deadline_scanner.cc and deadlines.cc; the rules they share are in validation.h, access.h,
// deadlines.h, history.h and routes.h, the views in clients/complaints/views.h.
#include "services/complaints/complaints.h"

#include "absl/strings/str_cat.h"

namespace simpul::complaints {

std::string StateName(v1::State state) {
  const std::string& name = v1::State_Name(state);
  return name.empty() ? absl::StrCat(static_cast<int>(state)) : name.substr(6);
}

ComplaintDesk::ComplaintDesk(ComplaintStore& store, Router& router,
                             const CalendarRegistry& calendars, const Clock& clock,
                             ComplaintOptions options)
    : store_(store),
      router_(router),
      calendars_(calendars),
      clock_(clock),
      options_(options),
      secrets_(options.secret_minter ? *options.secret_minter : SecretMinter::Ephemeral()) {}

}  // namespace simpul::complaints
