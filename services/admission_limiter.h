// AdmissionLimiter: a counting semaphore for expensive reads (whole-chain
// verification, large ReadAll pages), so that however many callers ask, at
// most `limit` of them use the CPU and the disk at once and the log's writer
// keeps its share. The rest wait their turn in a synchronous handler's thread,
// giving up at the call's deadline or when it is cancelled.
//
// The admitted work itself runs on the limiter's own threads, at the lowest
// CPU priority (RunAdmitted), so that while it runs the log's writer and the
// gRPC threads answering appends still get a core as soon as they need one.
//
// Thread-safe.
#ifndef CASELINE_SERVICES_ADMISSION_LIMITER_H_
#define CASELINE_SERVICES_ADMISSION_LIMITER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/mutex.h"

namespace caseline::services {

class AdmissionLimiter {
 public:
  // A held place; gives it back on destruction. Movable, not copyable.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : limiter_(other.limiter_) {
      other.limiter_ = nullptr;
    }
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

   private:
    friend class AdmissionLimiter;
    explicit Permit(AdmissionLimiter* limiter) : limiter_(limiter) {}
    AdmissionLimiter* limiter_ = nullptr;
  };

  // `name` says in error messages what is limited, e.g. "chain
  // verifications". `limit` 0 means no limit.
  AdmissionLimiter(std::string name, size_t limit);
  AdmissionLimiter(const AdmissionLimiter&) = delete;
  AdmissionLimiter& operator=(const AdmissionLimiter&) = delete;
  // REQUIRES: no Permit outstanding and no caller waiting. Joins the
  // threads.
  ~AdmissionLimiter();

  // Waits for a place. DEADLINE_EXCEEDED when `deadline` passes first,
  // CANCELLED when `cancelled` (polled every `poll`, since a synchronous
  // gRPC handler is not woken by cancellation) returns true first. Waiters
  // are not strictly first come first served.
  absl::StatusOr<Permit> Acquire(
      absl::Time deadline, const std::function<bool()>& cancelled,
      absl::Duration poll = absl::Milliseconds(50));

  // Runs `work` on one of the limiter's `limit` threads, which run at nice
  // 19 (started with the first call), and returns once it has run. Only
  // for work a Permit admitted, so no work waits for a thread. With no
  // limit, runs `work` on the calling thread.
  void RunAdmitted(const Permit& permit, absl::AnyInvocable<void() &&> work);

  // Places in use now; for tests and health.
  size_t in_use() const;
  // Callers waiting now; for tests.
  size_t waiting() const;

 private:
  void Release();
  void WorkerLoop();

  const std::string name_;
  const size_t limit_;
  mutable Mutex mu_;
  CondVar released_{&mu_};
  size_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  size_t waiting_ ABSL_GUARDED_BY(mu_) = 0;

  // Admitted work waiting for, or running on, a limiter thread.
  struct Job {
    absl::AnyInvocable<void() &&> work;
    bool done = false;
  };
  CondVar job_queued_{&mu_};
  CondVar job_done_{&mu_};
  std::deque<Job*> jobs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_ADMISSION_LIMITER_H_
