// The Calendar API (simpul.calendar.v1.Calendar, hosted by simpul-registry): the loaded
// holiday years, working days and deadline arithmetic, answered from the process's
// CalendarRegistry by common/calendar.h — the same code every Simpul deadline uses.
// CalendarQueries is the plain logic (request validation, answers); CalendarGrpcService is
// the thin gRPC adapter.
#ifndef SIMPUL_SERVICES_REGISTRY_CALENDAR_SERVICE_H_
#define SIMPUL_SERVICES_REGISTRY_CALENDAR_SERVICE_H_

#include "absl/status/statusor.h"
#include "common/calendar.h"
#include "common/identity.h"
#include "simpul/calendar/v1/calendar.grpc.pb.h"

namespace simpul::registry {

// CalendarQueries answers the Calendar RPCs from the calendar in force. Every call is a public
// read; a bad request is INVALID_ARGUMENT with one field violation per bad field (the field
// named as in the request, e.g. "zone", "amount", "date") and nothing else happens.
class CalendarQueries {
 public:
  explicit CalendarQueries(const CalendarRegistry& calendars) : calendars_(calendars) {}

  // ListHolidayYears: every loaded year, or `year` alone (1900..9999; NOT_FOUND without a
  // file for it).
  absl::StatusOr<calendar::v1::ListHolidayYearsResponse> ListHolidayYears(
      const Identity& caller, const calendar::v1::ListHolidayYearsRequest& req);
  // GetWorkingDay: exactly one of `date` ("YYYY-MM-DD", year 0001..9999) and `time`; `zone`
  // required.
  absl::StatusOr<calendar::v1::GetWorkingDayResponse> GetWorkingDay(
      const Identity& caller, const calendar::v1::GetWorkingDayRequest& req);
  // GetDeadline: start_time, unit and zone required; amount 0..kMaxDeadlineDays for the day
  // units, 0..kMaxDeadlineHours for hours; a deadline after 9999-12-31 is refused (amount).
  absl::StatusOr<calendar::v1::GetDeadlineResponse> GetDeadline(
      const Identity& caller, const calendar::v1::GetDeadlineRequest& req);
  // GetWorkingDayCount: from_time, to_time (not before from_time, at most
  // kMaxCountedSpanDays later) and zone required.
  absl::StatusOr<calendar::v1::GetWorkingDayCountResponse> GetWorkingDayCount(
      const Identity& caller, const calendar::v1::GetWorkingDayCountRequest& req);

 private:
  const CalendarRegistry& calendars_;
};

// CalendarGrpcService answers CalendarQueries on the gRPC callback thread: the answers are
// computed in memory in microseconds (no storage, no lock held while computing), so there is
// nothing to hand to the executor.
//
// It reads no identity: every call is a public read, so the `x-simpul-identity` token is
// neither needed nor checked. (The gateway signs the tokens it forwards for the audience named
// by the package, "simpul-calendar", which this process, simpul-registry, does not verify;
// ignoring the token is what keeps the API public through the gateway.)
class CalendarGrpcService final : public calendar::v1::Calendar::CallbackService {
 public:
  explicit CalendarGrpcService(CalendarQueries& queries) : queries_(queries) {}

  grpc::ServerUnaryReactor* ListHolidayYears(grpc::CallbackServerContext* ctx,
                                             const calendar::v1::ListHolidayYearsRequest* req,
                                             calendar::v1::ListHolidayYearsResponse* resp) override;
  grpc::ServerUnaryReactor* GetWorkingDay(grpc::CallbackServerContext* ctx,
                                          const calendar::v1::GetWorkingDayRequest* req,
                                          calendar::v1::GetWorkingDayResponse* resp) override;
  grpc::ServerUnaryReactor* GetDeadline(grpc::CallbackServerContext* ctx,
                                        const calendar::v1::GetDeadlineRequest* req,
                                        calendar::v1::GetDeadlineResponse* resp) override;
  grpc::ServerUnaryReactor* GetWorkingDayCount(
      grpc::CallbackServerContext* ctx, const calendar::v1::GetWorkingDayCountRequest* req,
      calendar::v1::GetWorkingDayCountResponse* resp) override;

 private:
  CalendarQueries& queries_;
};

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_CALENDAR_SERVICE_H_
