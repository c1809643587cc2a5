#include "services/admission_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace caseline::services {

AdmissionLimiter::Permit& AdmissionLimiter::Permit::operator=(
    Permit&& other) noexcept {
  if (this != &other) {
    if (limiter_ != nullptr) limiter_->Release();
    limiter_ = other.limiter_;
    other.limiter_ = nullptr;
  }
  return *this;
}

AdmissionLimiter::Permit::~Permit() {
  if (limiter_ != nullptr) limiter_->Release();
}

AdmissionLimiter::AdmissionLimiter(std::string name, size_t limit)
    : name_(std::move(name)), limit_(limit) {}

absl::StatusOr<AdmissionLimiter::Permit> AdmissionLimiter::Acquire(
    absl::Time deadline, const std::function<bool()>& cancelled,
    absl::Duration poll) {
  MutexLock lock(&mu_);
  if (limit_ == 0 || in_use_ < limit_) {
    ++in_use_;
    return Permit(this);
  }
  ++waiting_;
  absl::Status refused;
  while (limit_ != 0 && in_use_ >= limit_) {
    if (cancelled && cancelled()) {
      refused = absl::CancelledError(
          absl::StrCat("cancelled while waiting its turn among ", name_,
                       " (at most ", limit_, " run at once)"));
      break;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      refused = absl::DeadlineExceededError(absl::StrCat(
          "the deadline passed while waiting its turn: at most ", limit_, " ",
          name_, " run at once and ", in_use_,
          " are running; retry later or with a longer deadline"));
      break;
    }
    released_.WaitFor(std::min(left, poll));
  }
  --waiting_;
  if (!refused.ok()) return refused;
  ++in_use_;
  return Permit(this);
}

void AdmissionLimiter::Release() {
  MutexLock lock(&mu_);
  --in_use_;
  released_.Signal();
}

size_t AdmissionLimiter::in_use() const {
  MutexLock lock(&mu_);
  return in_use_;
}

size_t AdmissionLimiter::waiting() const {
  MutexLock lock(&mu_);
  return waiting_;
}

}  // namespace caseline::services
