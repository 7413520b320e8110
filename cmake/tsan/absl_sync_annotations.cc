// absl_sync_annotations.cc: ThreadSanitizer annotations for Debian's Abseil synchronization
// (linked into every executable of a ThreadSanitizer build by cmake/SimpulSanitize.cmake).
//
// Debian's libabsl_synchronization is not built with -fsanitize=thread, so ThreadSanitizer
// does not see absl::Mutex, absl::CondVar or absl::Notification synchronize anything: every
// access guarded by an absl::Mutex (Simpul's and, through gpr_mu, gRPC's) would be reported as
// a race. This file defines the public entry points of those classes in the executable, which
// takes precedence over the shared library for every caller (the executable is linked with
// -rdynamic, and the library calls its own entry points through the PLT): each one tells
// ThreadSanitizer what it does (the __tsan_mutex_* and __tsan_acquire/__tsan_release
// interface, the same calls Abseil makes itself when it is built with ThreadSanitizer) and
// calls the library's implementation, found with dlsym(RTLD_NEXT).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "absl/synchronization/internal/kernel_timeout.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

// The mangled names below name the Debian build's inline namespace.
static_assert(std::is_same_v<absl::Mutex, absl::debian3::Mutex>,
              "update the mangled names for this Abseil's inline namespace");

namespace {

// Real returns the shared library's definition of `mangled`, cast to F.
template <typename F>
F Real(const char* mangled) {
  void* fn = dlsym(RTLD_NEXT, mangled);
  if (fn == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: %s not found\n", mangled);
    std::abort();
  }
  return reinterpret_cast<F>(fn);
}

#define SIMPUL_REAL(type, mangled) static const auto real = Real<type>(mangled)

using MutexFn = void (*)(absl::Mutex*);
using MutexBoolFn = bool (*)(absl::Mutex*);
using LockWhenFn = void (*)(absl::Mutex*, const absl::Condition&);
using LockWhenTimeFn = bool (*)(absl::Mutex*, const absl::Condition&, absl::Time);
using AwaitCommonFn = bool (*)(absl::Mutex*, const absl::Condition&,
                               absl::synchronization_internal::KernelTimeout);
using WaitCommonFn = bool (*)(absl::CondVar*, absl::Mutex*,
                              absl::synchronization_internal::KernelTimeout);
using NotifyFn = void (*)(absl::Notification*);
using WaitFn = void (*)(const absl::Notification*);
using WaitDurationFn = bool (*)(const absl::Notification*, absl::Duration);
using WaitTimeFn = bool (*)(const absl::Notification*, absl::Time);

void Locked(void* mu, unsigned flags) { __tsan_mutex_post_lock(mu, flags, 0); }
void BeforeLock(void* mu, unsigned flags) { __tsan_mutex_pre_lock(mu, flags); }
void BeforeUnlock(void* mu, unsigned flags) { __tsan_mutex_pre_unlock(mu, flags); }
void Unlocked(void* mu, unsigned flags) { __tsan_mutex_post_unlock(mu, flags); }

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

Mutex::~Mutex() {
  SIMPUL_REAL(MutexFn, "_ZN4absl7debian35MutexD2Ev");
  __tsan_mutex_destroy(this, 0);
  real(this);
}

void Mutex::Lock() {
  SIMPUL_REAL(MutexFn, "_ZN4absl7debian35Mutex4LockEv");
  BeforeLock(this, 0);
  real(this);
  Locked(this, 0);
}

void Mutex::ReaderLock() {
  SIMPUL_REAL(MutexFn, "_ZN4absl7debian35Mutex10ReaderLockEv");
  BeforeLock(this, __tsan_mutex_read_lock);
  real(this);
  Locked(this, __tsan_mutex_read_lock);
}

bool Mutex::TryLock() {
  SIMPUL_REAL(MutexBoolFn, "_ZN4absl7debian35Mutex7TryLockEv");
  BeforeLock(this, __tsan_mutex_try_lock);
  bool ok = real(this);
  Locked(this, __tsan_mutex_try_lock | (ok ? 0 : __tsan_mutex_try_lock_failed));
  return ok;
}

bool Mutex::ReaderTryLock() {
  SIMPUL_REAL(MutexBoolFn, "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  unsigned flags = __tsan_mutex_read_lock | __tsan_mutex_try_lock;
  BeforeLock(this, flags);
  bool ok = real(this);
  Locked(this, flags | (ok ? 0 : __tsan_mutex_try_lock_failed));
  return ok;
}

void Mutex::Unlock() {
  SIMPUL_REAL(MutexFn, "_ZN4absl7debian35Mutex6UnlockEv");
  BeforeUnlock(this, 0);
  real(this);
  Unlocked(this, 0);
}

void Mutex::ReaderUnlock() {
  SIMPUL_REAL(MutexFn, "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  BeforeUnlock(this, __tsan_mutex_read_lock);
  real(this);
  Unlocked(this, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(const Condition& cond) {
  SIMPUL_REAL(LockWhenFn, "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  BeforeLock(this, 0);
  real(this, cond);
  Locked(this, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  SIMPUL_REAL(LockWhenFn, "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  BeforeLock(this, __tsan_mutex_read_lock);
  real(this, cond);
  Locked(this, __tsan_mutex_read_lock);
}

// The timed LockWhen variants hold the mutex on return whatever they return. The WithTimeout
// ones call their WithDeadline counterpart through the PLT, so only those are defined here (an
// annotation in both would count every such lock twice).
bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  SIMPUL_REAL(LockWhenTimeFn,
              "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  BeforeLock(this, 0);
  bool met = real(this, cond, deadline);
  Locked(this, 0);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  SIMPUL_REAL(LockWhenTimeFn,
              "_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  BeforeLock(this, __tsan_mutex_read_lock);
  bool met = real(this, cond, deadline);
  Locked(this, __tsan_mutex_read_lock);
  return met;
}

// Await, AwaitWithTimeout and AwaitWithDeadline release the (exclusively held) mutex while
// they wait and hold it again on return; all of them reach AwaitCommon through the PLT. The
// release is announced before the call and the reacquisition after it; in between, the
// thread's accesses are ignored (as inside any lock or unlock): Abseil evaluates the waiter's
// Condition there, still effectively under the mutex.
bool Mutex::AwaitCommon(const Condition& cond, synchronization_internal::KernelTimeout timeout) {
  SIMPUL_REAL(AwaitCommonFn,
              "_ZN4absl7debian35Mutex11AwaitCommonERKNS0_9ConditionENS0_24synchronization_"
              "internal13KernelTimeoutE");
  BeforeUnlock(this, 0);
  bool met = real(this, cond, timeout);
  Unlocked(this, 0);
  BeforeLock(this, 0);
  Locked(this, 0);
  return met;
}

// Wait, WaitWithTimeout and WaitWithDeadline release `mutex` while they wait and hold it again
// on return; all of them reach WaitCommon through the PLT. Annotated like AwaitCommon.
bool CondVar::WaitCommon(Mutex* mutex, synchronization_internal::KernelTimeout timeout) {
  SIMPUL_REAL(WaitCommonFn,
              "_ZN4absl7debian37CondVar10WaitCommonEPNS0_5MutexENS0_24synchronization_"
              "internal13KernelTimeoutE");
  BeforeUnlock(mutex, 0);
  bool timed_out = real(this, mutex, timeout);
  Unlocked(mutex, 0);
  BeforeLock(mutex, 0);
  Locked(mutex, 0);
  return timed_out;
}

// A Notification publishes through its flag: Notify releases on it, and both the waits and
// the inline HasBeenNotified (an acquire load ThreadSanitizer sees) acquire from it.
void Notification::Notify() {
  SIMPUL_REAL(NotifyFn, "_ZN4absl7debian312Notification6NotifyEv");
  __tsan_release(&notified_yet_);
  real(this);
}

void Notification::WaitForNotification() const {
  SIMPUL_REAL(WaitFn, "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<std::atomic<bool>*>(&notified_yet_));
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  SIMPUL_REAL(WaitDurationFn,
              "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<std::atomic<bool>*>(&notified_yet_));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  SIMPUL_REAL(WaitTimeFn,
              "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<std::atomic<bool>*>(&notified_yet_));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
