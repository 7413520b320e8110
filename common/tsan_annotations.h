// tsan_annotations.h: gRPC's ordering guarantee for callback reactors, told to ThreadSanitizer.
//
// gRPC runs a reactor's callbacks (OnReadDone, OnWriteDone, OnDone, ...) and the completions of
// callback-API unary calls on its own threads, and orders them with atomics inside Debian's
// libgrpc, which is not built with ThreadSanitizer. gRPC guarantees (grpcpp/support/
// server_callback.h, client_callback.h):
//   * everything a thread did before it started an operation (StartRead, StartWrite,
//     StartWritesDone, StartSendInitialMetadata, StartCall, Finish, RemoveHold, a stub's
//     unary call) happens before that operation's callback;
//   * OnDone runs after every other callback of the reactor has returned.
// ThreadSanitizer cannot see either, so without help it reports Simpul's own accesses before
// and after a hand-off as races. These helpers declare the guarantee, on one address per
// reactor (or per unary call): accesses not ordered by gRPC's guarantee (callbacks of two
// calls, a thread that keeps using the call after handing it over, two callbacks of one reactor
// that run at the same time with no hand-off between them) are still checked. One address per
// reactor is coarser than gRPC's per-operation guarantee: a callback also sees the hand-offs of
// the reactor's other operations made before it. Outside a ThreadSanitizer build they are empty.
//
// Use (see docs/testing.md):
//   HandOffToGrpc(reactor) on the line before each call that starts an operation of `reactor`;
//   const GrpcCallback callback(this); as the first line of every reactor callback but OnDone
//     (it acquires on entry and, since OnDone waits for the callback's return, releases on
//     return);
//   ResumedFromGrpc(this); as the first line of OnDone (the reactor may be gone by its end),
//     and of a unary call's completion callback (with the address its caller handed off).
#ifndef SIMPUL_COMMON_TSAN_ANNOTATIONS_H_
#define SIMPUL_COMMON_TSAN_ANNOTATIONS_H_

#if defined(__SANITIZE_THREAD__)
#define SIMPUL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIMPUL_TSAN 1
#endif
#endif

#ifdef SIMPUL_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace simpul {

// HandOffToGrpc: what this thread did so far happens before the callbacks of `call` that
// ResumedFromGrpc(call) (a release on `call`).
inline void HandOffToGrpc([[maybe_unused]] const void* call) {
#ifdef SIMPUL_TSAN
  __tsan_release(const_cast<void*>(call));
#endif
}

// ResumedFromGrpc: a callback of `call` sees what was done before every HandOffToGrpc(call)
// so far (an acquire on `call`).
inline void ResumedFromGrpc([[maybe_unused]] const void* call) {
#ifdef SIMPUL_TSAN
  __tsan_acquire(const_cast<void*>(call));
#endif
}

// GrpcCallback: ResumedFromGrpc(call) now and HandOffToGrpc(call) when the callback returns
// (for every callback but OnDone, which runs after all of them have returned).
class GrpcCallback {
 public:
  explicit GrpcCallback(const void* call) : call_(call) { ResumedFromGrpc(call_); }
  ~GrpcCallback() { HandOffToGrpc(call_); }
  GrpcCallback(const GrpcCallback&) = delete;
  GrpcCallback& operator=(const GrpcCallback&) = delete;

 private:
  const void* const call_;
};

}  // namespace simpul

#undef SIMPUL_TSAN

#endif  // SIMPUL_COMMON_TSAN_ANNOTATIONS_H_
