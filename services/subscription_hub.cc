#include "services/subscription_hub.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace caseline::services {

SubscriptionHub::SubscriptionHub(eventstore::EventLog* log,
                                 SubscriptionHubOptions options)
    : log_(log), options_(options) {}

SubscriptionHub::~SubscriptionHub() { Stop(); }

absl::Status SubscriptionHub::Admit(const std::string& organization_id,
                                    bool capped) {
  MutexLock lock(&mu_);
  if (capped) {
    size_t& open = open_[organization_id];
    if (options_.max_per_organization != 0 &&
        open >= options_.max_per_organization) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "organisation ", organization_id, " has ", open,
          " subscriptions open, the most one organisation may hold (caselined "
          "--max_subscriptions_per_organization=",
          options_.max_per_organization,
          "); close one of them (cancel its call) before opening another, or "
          "ask the server's operator to raise "
          "--max_subscriptions_per_organization"));
    }
    ++open;
  }
  ++open_total_;
  if (!started_) StartThreadsLocked();
  return absl::OkStatus();
}

void SubscriptionHub::Release(const std::string& organization_id,
                              bool capped) {
  MutexLock lock(&mu_);
  --open_total_;
  if (!capped) return;
  auto it = open_.find(organization_id);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

void SubscriptionHub::StartThreadsLocked() {
  started_ = true;
  head_ = log_->HeadPosition();
  const size_t workers = std::max<size_t>(options_.workers, 1);
  for (size_t i = 0; i < workers; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  threads_.emplace_back([this] { DispatcherLoop(); });
  threads_.emplace_back([this] { HeadWatcherLoop(); });
}

void SubscriptionHub::Run(absl::AnyInvocable<void() &&> task) {
  MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  work_cv_.Signal();
}

bool SubscriptionHub::Park(ParkedSubscription* s, uint64_t position,
                           absl::Time deadline,
                           const eventstore::EventFilter& filter,
                           uint64_t wake_at) {
  // Read the head outside mu_: the watcher may not have seen it move yet.
  const uint64_t head = log_->HeadPosition();
  MutexLock lock(&mu_);
  if (shutting_down_ || head > position || head_ > position ||
      deadline <= absl::Now() || (wake_at != 0 && wake_at <= position)) {
    return false;
  }
  FilterGroup* group = nullptr;
  if (!filter.event_type_prefix.empty() || !filter.stream_id_prefix.empty()) {
    auto [it, made] = groups_.try_emplace(
        FilterKey(filter.event_type_prefix, filter.stream_id_prefix));
    group = &it->second;
    if (made) {
      group->filter = filter;
      // The watcher matches what comes after the head it has seen, which
      // is not above `position` (checked above).
      group->watched_from = head_;
    }
    ++group->parked;
  }
  parked_[s] = Parked{position, deadline, group, wake_at};
  // The dispatcher may be sleeping until a later deadline.
  dispatch_cv_.Signal();
  return true;
}

bool SubscriptionHub::NothingMatchedLocked(const Parked& p) const {
  // Every event in (watched_from, head_] was matched against the filter;
  // none after the position matched.
  return p.group != nullptr && p.group->watched_from <= p.position &&
         p.group->last_match <= p.position;
}

bool SubscriptionHub::DueLocked(const Parked& p, absl::Time now) const {
  if (shutting_down_ || p.deadline <= now) return true;
  if (head_ <= p.position) return false;
  return !NothingMatchedLocked(p) || (p.wake_at != 0 && head_ >= p.wake_at);
}

void SubscriptionHub::UnparkLocked(const Parked& p) {
  if (p.group == nullptr || --p.group->parked > 0) return;
  groups_.erase(FilterKey(p.group->filter.event_type_prefix,
                          p.group->filter.stream_id_prefix));
}

void SubscriptionHub::MatchLocked(const eventstore::LogPage* page,
                                  uint64_t head) {
  for (auto& [key, group] : groups_) {
    if (page == nullptr) {
      group.watched_from = std::max(group.watched_from, head);
      continue;
    }
    for (const eventstore::RecordedEvent& e : page->events) {
      if (e.global_position <= group.watched_from || e.global_position > head) {
        continue;
      }
      if (group.filter.Matches(e.stream_id, e.event_type)) {
        group.last_match = std::max(group.last_match, e.global_position);
      }
    }
  }
}

void SubscriptionHub::Wake(ParkedSubscription* s) {
  MutexLock lock(&mu_);
  auto it = parked_.find(s);
  if (it == parked_.end()) return;
  it->second.deadline = absl::InfinitePast();
  dispatch_cv_.Signal();
}

void SubscriptionHub::BeginShutdown() {
  MutexLock lock(&mu_);
  shutting_down_ = true;
  dispatch_cv_.Signal();
}

void SubscriptionHub::Stop() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    shutting_down_ = true;
    stopping_ = true;
    work_cv_.SignalAll();
    dispatch_cv_.SignalAll();
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

std::shared_ptr<const eventstore::LogPage> SubscriptionHub::TailPage(
    uint64_t from_position) {
  MutexLock lock(&mu_);
  if (tail_ == nullptr || tail_from_ != from_position) return nullptr;
  // Only while the head has not moved since it was read: every erasure
  // appends its ClientErased event, so a page read before an erasure (which
  // may hold the erased client's plaintext) is never handed out once the
  // erasure is done (docs/log_format.md "Erasure").
  if (tail_->head_position < log_->HeadPosition()) return nullptr;
  return tail_;
}

void SubscriptionHub::SetTailPage(
    uint64_t from_position, std::shared_ptr<const eventstore::LogPage> page) {
  MutexLock lock(&mu_);
  tail_from_ = from_position;
  tail_ = std::move(page);
}

SubscriptionStats SubscriptionHub::stats() const {
  SubscriptionStats stats;
  stats.buffered_events =
      static_cast<size_t>(std::max<int64_t>(buffered_events_.load(), 0));
  MutexLock lock(&mu_);
  stats.open = open_total_;
  stats.parked = parked_.size();
  stats.threads = threads_.size();
  stats.tail_events = tail_ == nullptr ? 0 : tail_->events.size();
  stats.resumes = resumes_;
  stats.filters = groups_.size();
  return stats;
}

void SubscriptionHub::WorkerLoop() {
  while (true) {
    absl::AnyInvocable<void() &&> task;
    {
      MutexLock lock(&mu_);
      while (tasks_.empty() && !stopping_) work_cv_.Wait();
      // Queued tasks run even when stopping: each one ends a subscription's
      // step, and the server has stopped, so none schedules for long.
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::move(task)();
  }
}

void SubscriptionHub::DispatcherLoop() {
  std::vector<std::pair<ParkedSubscription*, uint64_t>> due;
  MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = absl::Now();
    absl::Time next_deadline = absl::InfiniteFuture();
    for (auto it = parked_.begin(); it != parked_.end();) {
      const Parked& p = it->second;
      if (DueLocked(p, now)) {
        due.emplace_back(it->first, NothingMatchedLocked(p) ? head_ : 0);
        UnparkLocked(p);
        parked_.erase(it++);
      } else {
        next_deadline = std::min(next_deadline, p.deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      // Each is resumed once, on a worker: Resume() may block (it reads).
      for (const auto& [subscription, unmatched] : due) {
        tasks_.push_back([s = subscription, through = unmatched] {
          s->Resume(through);
        });
      }
      resumes_ += due.size();
      due.clear();
      work_cv_.SignalAll();
      continue;
    }
    if (stopping_) return;
    // Everyone is idle: hold no events for them.
    if (parked_.size() == open_total_ && tasks_.empty()) tail_.reset();
    if (next_deadline == absl::InfiniteFuture()) {
      dispatch_cv_.Wait();
    } else {
      dispatch_cv_.WaitFor(next_deadline - now);
    }
  }
}

void SubscriptionHub::HeadWatcherLoop() {
  uint64_t seen;
  {
    MutexLock lock(&mu_);
    seen = head_;
  }
  while (true) {
    const uint64_t head = log_->WaitForHeadAbove(seen, options_.head_poll);
    bool match;
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      if (head <= seen) continue;
      match = !groups_.empty();
    }
    // Read the new events once, outside mu_, for the filters to match. A
    // filter made meanwhile is matched too (MatchLocked takes them all);
    // it only watches what comes after the head it was made at.
    std::optional<eventstore::LogPage> page;
    if (match && head - seen <= std::min(options_.max_matched_events,
                                         eventstore::kMaxReadCount)) {
      eventstore::ReadAllOptions read;
      read.from_position = seen + 1;
      read.max_count = static_cast<size_t>(head - seen);
      absl::StatusOr<eventstore::LogPage> read_page = log_->ReadAll(read);
      // A page cut short (by its byte limit) leaves events unmatched: then
      // the filtered subscriptions read for themselves, as after a failed
      // read.
      if (read_page.ok() && read_page->next_position > head) {
        page = *std::move(read_page);
      }
    }
    MutexLock lock(&mu_);
    if (stopping_) return;
    MatchLocked(page.has_value() ? &*page : nullptr, head);
    seen = head;
    head_ = std::max(head_, head);
    if (!parked_.empty()) dispatch_cv_.Signal();
  }
}

}  // namespace caseline::services
