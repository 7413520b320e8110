// The Calendar API (simpul.calendar.v1.Calendar, hosted by simpul-registry): the loaded
// holiday years, working days and deadline arithmetic, answered from the process's
// CalendarRegistry by common/calendar.h — the same code every Simpul deadline uses.
// CalendarQueries is the plain logic (request validation, answers); CalendarGrpcService is
// the thin gRPC adapter running it on the executor.
#ifndef SIMPUL_SERVICES_REGISTRY_CALENDAR_SERVICE_H_
#define SIMPUL_SERVICES_REGISTRY_CALENDAR_SERVICE_H_

#include "absl/status/statusor.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "simpul/calendar/v1/calendar.grpc.pb.h"

namespace simpul::registry {

// CalendarQueries answers the Calendar RPCs from the calendar in force. Every call is a public
// read; a bad request is INVALID_ARGUMENT with one field violation per bad field (the field
// named as in the request, e.g. "zone", "amount", "date") and nothing else happens.
// Its methods are not const only so that RunUnary can call them; they change nothing.
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

// CalendarGrpcService runs CalendarQueries on the executor (common/unary_call.h). `signer`
// may be null: then every call is public and identity tokens are rejected.
class CalendarGrpcService final : public calendar::v1::Calendar::CallbackService {
 public:
  CalendarGrpcService(CalendarQueries& queries, Executor& executor, const IdentitySigner* signer,
                      const Clock& clock)
      : queries_(queries), executor_(executor), signer_(signer), clock_(clock) {}

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
  Executor& executor_;
  const IdentitySigner* signer_;
  const Clock& clock_;
};

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_CALENDAR_SERVICE_H_
