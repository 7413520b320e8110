// The gRPC side of WatchComplaintEvents: one reactor per stream that reads the event stream
// from its cursor on the executor, writes the events its caller may see (feed.h) one at a
// time, and when it has caught up waits on the EventFeedHub until something new arrives.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WATCH_REACTOR_H_
#define SIMPUL_SERVICES_COMPLAINTS_WATCH_REACTOR_H_

#include <string_view>

#include "common/executor.h"
#include "common/identity.h"
#include "grpcpp/grpcpp.h"
#include "services/complaints/feed.h"
#include "services/complaints/store.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

// Initial metadata of every WatchComplaintEvents stream: the cursor the watch starts after,
// sent before any event (the same key as WatchStandards').
inline constexpr std::string_view kEventCursorMetadataKey = "x-simpul-cursor";

// FeedDeps are what a watch needs; all must outlive the streams.
struct FeedDeps {
  ComplaintEventSource* events = nullptr;
  ComplaintStore* store = nullptr;  // for the audience of events from before issue #16
  EventFeedHub* hub = nullptr;
  Executor* executor = nullptr;
};

// StartWatch validates the request for `caller` and starts the stream (a failed start is a
// stream that finishes at once with the error).
grpc::ServerWriteReactor<v1::WatchComplaintEventsResponse>* StartWatch(
    grpc::CallbackServerContext* ctx, const FeedDeps& deps, absl::StatusOr<Identity> caller,
    const v1::WatchComplaintEventsRequest& req);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WATCH_REACTOR_H_
