// SubscriptionHub: the few threads every EventLog.Subscribe shares, so that an
// open subscription costs no thread of its own (docs/architecture.md, "The
// path of a subscription").
//
// A subscription (EventLogService's callback reactor) moves between three
// states and is in exactly one at a time:
//  - reading: one of `workers` threads reads its next page from the log,
//    filters it and writes the access records (all of which may block);
//  - writing: gRPC sends its messages one at a time, each started from the
//    previous one's completion (no thread waits for a slow consumer);
//  - parked: it has delivered everything up to the head and holds no events.
//    The hub's dispatcher thread resumes it (on a worker) when the log's
//    head moves past its position, when its checkpoint interval elapses, when
//    it is woken (cancellation) or when the server begins shutting down.
// A head watcher thread follows EventLog::WaitForHeadAbove and tells the
// dispatcher when the head moves. So the hub runs `workers` + 2 threads,
// however many subscriptions are open.
//
// A subscription with a filter (an event type or stream prefix) parks with
// it, and wakes only when an event it may match arrives: while any such
// subscription is parked, the watcher reads the new events' stream ids and
// types once and matches them against each distinct filter, so a thousand
// subscriptions waiting for one kind of event cost one match per new event,
// not a thousand wake-ups. It also wakes once the events it has not yet
// examined reach its checkpoint count (`wake_at`), since a checkpoint is due
// then even if nothing matched.
//
// When the head moves, every subscription woken at the old head reads the
// same few new events. The hub keeps the last page read at the
// log's tail (unfiltered, from one position), so that they share one read
// and one decode instead of one each (TailPage); it drops it once every
// subscription is parked again.
//
// The hub also counts open subscriptions per organisation and refuses one
// beyond max_per_organization.
//
// Thread-safe.
#ifndef CASELINE_SERVICES_SUBSCRIPTION_HUB_H_
#define CASELINE_SERVICES_SUBSCRIPTION_HUB_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "eventstore/event_log.h"

namespace caseline::services {

// A snapshot of the hub's counters (for tests, health and operators).
struct SubscriptionStats {
  // Subscriptions admitted and not yet done.
  size_t open = 0;
  // Of those, caught up and waiting for the head (holding no events).
  size_t parked = 0;
  // Decoded events held for delivery, summed over subscriptions (a tail
  // page shared by several counts for each).
  size_t buffered_events = 0;
  // Events of the tail page the hub keeps for subscriptions to share (0 once
  // every subscription is parked).
  size_t tail_events = 0;
  // Threads the hub runs (0 before the first subscription).
  size_t threads = 0;
  // Times a parked subscription was resumed, since the hub started.
  uint64_t resumes = 0;
  // Distinct filters of parked subscriptions the watcher matches new
  // events against.
  size_t filters = 0;
};

// What the dispatcher resumes.
class ParkedSubscription {
 public:
  // Called on a hub worker thread, without hub locks held.
  // `unmatched_through`: the hub matched every event after the parked
  // position up to this one against the subscription's filter and none
  // matched, so the subscription may count them examined without reading
  // them; not above its parked position when nothing is known.
  virtual void Resume(uint64_t unmatched_through) = 0;

 protected:
  ~ParkedSubscription() = default;
};

struct SubscriptionHubOptions {
  // Threads that read, filter and record pages for all subscriptions.
  // Default: 2.
  size_t workers = 2;
  // Most subscriptions one organisation may hold open; 0: no limit.
  // Default: 100 (caselined --max_subscriptions_per_organization).
  size_t max_per_organization = 100;
  // How often the head watcher re-checks for shutdown when the head does
  // not move. Default: 250 ms.
  absl::Duration head_poll = absl::Milliseconds(250);
  // Most new events the watcher reads at once to match filters; when the
  // head jumps further (or the read stops at a page's byte limit first),
  // every filtered subscription behind it wakes and reads for itself. Default and most: eventstore::kMaxReadCount (1000).
  size_t max_matched_events = eventstore::kMaxReadCount;
};

class SubscriptionHub {
 public:
  // `log` is not owned and must outlive the hub. Threads start with the
  // first Admit.
  SubscriptionHub(eventstore::EventLog* log, SubscriptionHubOptions options);
  SubscriptionHub(const SubscriptionHub&) = delete;
  SubscriptionHub& operator=(const SubscriptionHub&) = delete;
  // Stop()s.
  ~SubscriptionHub();

  // Counts a new subscription of `organization_id`, or RESOURCE_EXHAUSTED
  // naming the organisation, its limit and what to do when it holds
  // max_per_organization already. Uncapped ones (development mode's local
  // operator) are counted in stats() only.
  absl::Status Admit(const std::string& organization_id, bool capped = true);
  // Uncounts one Admit()ted subscription, once it is done.
  void Release(const std::string& organization_id, bool capped = true);

  // Runs `task` on a worker thread, in FIFO order with other tasks.
  void Run(absl::AnyInvocable<void() &&> task);

  // Parks `s`, caught up at `position`, until an event after `position`
  // that `filter` matches is in the log (any event, for an empty filter),
  // the head reaches `wake_at` (0: no such bound), `deadline` passes,
  // Wake(s), or BeginShutdown(). Returns false, not parking it, when the
  // head is already above `position` or one of the others is already so
  // (the caller then goes on itself). Resume() is called once per
  // successful Park. `s` must stay alive until resumed.
  bool Park(ParkedSubscription* s, uint64_t position, absl::Time deadline,
            const eventstore::EventFilter& filter = {}, uint64_t wake_at = 0);
  // Resumes `s` soon if it is parked; otherwise does nothing.
  void Wake(ParkedSubscription* s);

  // Resumes every parked subscription and parks none from now on.
  void BeginShutdown();
  // BeginShutdown(), then waits for queued tasks and joins the threads.
  // REQUIRES: no subscription is open any more (the gRPC server has
  // stopped). Idempotent.
  void Stop();

  // The last tail page read from `from_position` (unfiltered, not empty),
  // while the log's head is still where it was when the page was read; else
  // null. Shared: never modified once published.
  std::shared_ptr<const eventstore::LogPage> TailPage(uint64_t from_position);
  void SetTailPage(uint64_t from_position,
                   std::shared_ptr<const eventstore::LogPage> page);

  // Adds `delta` to the buffered events counter (negative to remove).
  void CountBuffered(int64_t delta) { buffered_events_ += delta; }

  SubscriptionStats stats() const;
  size_t max_per_organization() const { return options_.max_per_organization; }

 private:
  // The parked subscriptions sharing one filter, and what the watcher has
  // learnt about it from the new events.
  struct FilterGroup {
    eventstore::EventFilter filter;
    size_t parked = 0;
    // Events after this position have been matched against the filter.
    uint64_t watched_from = 0;
    // The last matching event seen after watched_from (0: none).
    uint64_t last_match = 0;
  };
  using FilterKey = std::pair<std::string, std::string>;

  struct Parked {
    uint64_t position;
    absl::Time deadline;
    // Null for an unfiltered subscription, which any new event wakes.
    FilterGroup* group;
    uint64_t wake_at;  // 0: none
  };

  bool DueLocked(const Parked& p, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnparkLocked(const Parked& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `p` has a filter and no event after its position up to head_
  // matched it (so Resume() may skip them; see ParkedSubscription).
  bool NothingMatchedLocked(const Parked& p) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Matches the events of `page` up to `head` against every filter, or,
  // when `page` is null (not read), restarts every filter's watch at `head`
  // so that what is parked behind it wakes and reads for itself.
  void MatchLocked(const eventstore::LogPage* page, uint64_t head)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartThreadsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WorkerLoop();
  void DispatcherLoop();
  void HeadWatcherLoop();

  eventstore::EventLog* const log_;
  const SubscriptionHubOptions options_;
  std::atomic<int64_t> buffered_events_{0};

  mutable Mutex mu_;
  CondVar work_cv_{&mu_};      // tasks queued, or stopping
  CondVar dispatch_cv_{&mu_};  // head moved, a park, a wake, or stopping
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ParkedSubscription*, Parked> parked_
      ABSL_GUARDED_BY(mu_);
  // Node-based: Parked points into it.
  absl::node_hash_map<FilterKey, FilterGroup> groups_ ABSL_GUARDED_BY(mu_);
  uint64_t resumes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t tail_from_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const eventstore::LogPage> tail_ ABSL_GUARDED_BY(mu_);
  // The head the watcher last saw.
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, size_t> open_ ABSL_GUARDED_BY(mu_);
  size_t open_total_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_SUBSCRIPTION_HUB_H_
