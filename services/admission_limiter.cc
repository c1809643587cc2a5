#include "services/admission_limiter.h"

#include <sys/resource.h>
#include <unistd.h>

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

AdmissionLimiter::~AdmissionLimiter() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    job_queued_.SignalAll();
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void AdmissionLimiter::RunAdmitted(const Permit& /*permit*/,
                                   absl::AnyInvocable<void() &&> work) {
  if (limit_ == 0) {
    std::move(work)();
    return;
  }
  Job job{std::move(work)};
  MutexLock lock(&mu_);
  if (threads_.empty()) {
    for (size_t i = 0; i < limit_; ++i) {
      threads_.emplace_back([this] { WorkerLoop(); });
    }
  }
  jobs_.push_back(&job);
  job_queued_.Signal();
  while (!job.done) job_done_.Wait();
}

void AdmissionLimiter::WorkerLoop() {
  // Linux gives each thread its own nice value. Lowering it needs no
  // privilege; should it fail, the work runs at normal priority.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  Job* finished = nullptr;
  while (true) {
    Job* job;
    {
      MutexLock lock(&mu_);
      if (finished != nullptr) {
        finished->done = true;
        job_done_.SignalAll();
      }
      while (jobs_.empty() && !stopping_) job_queued_.Wait();
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    std::move(job->work)();
    finished = job;
  }
}

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
