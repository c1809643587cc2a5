// AdmissionLimiter: a counting semaphore for expensive reads (whole-chain
// verification, large ReadAll pages), so that however many callers ask, at
// most `limit` of them use the CPU and the disk at once and the log's writer
// keeps its share. The rest wait their turn in a synchronous handler's thread,
// giving up at the call's deadline or when it is cancelled.
//
// Thread-safe.
#ifndef CASELINE_SERVICES_ADMISSION_LIMITER_H_
#define CASELINE_SERVICES_ADMISSION_LIMITER_H_

#include <cstddef>
#include <functional>
#include <string>

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
  // REQUIRES: no Permit outstanding and no caller waiting.
  ~AdmissionLimiter() = default;

  // Waits for a place. DEADLINE_EXCEEDED when `deadline` passes first,
  // CANCELLED when `cancelled` (polled every `poll`, since a synchronous
  // gRPC handler is not woken by cancellation) returns true first. Waiters
  // are not strictly first come first served.
  absl::StatusOr<Permit> Acquire(
      absl::Time deadline, const std::function<bool()>& cancelled,
      absl::Duration poll = absl::Milliseconds(50));

  // Places in use now; for tests and health.
  size_t in_use() const;
  // Callers waiting now; for tests.
  size_t waiting() const;

 private:
  void Release();

  const std::string name_;
  const size_t limit_;
  mutable Mutex mu_;
  CondVar released_{&mu_};
  size_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  size_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_ADMISSION_LIMITER_H_
