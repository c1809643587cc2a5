#include "projections/projection_engine.h"

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "care/care_event_context.h"
#include "eventstore/event_log.h"
#include "eventstore/view_store.h"
#include "projections/client_record_store.h"
#include "spdlog/spdlog.h"

namespace caseline::projections {
namespace {

using eventstore::ViewSnapshot;
using eventstore::ViewWriteBatch;

constexpr absl::Duration kIdleWait = absl::Milliseconds(100);
constexpr absl::Duration kMaxRetryDelay = absl::Seconds(30);
// Pages the feed keeps for runners that come after the one that read them,
// and how many pages a rebuilding runner may run ahead of a slower one before
// it waits for it. A page is at most batch_events events (about 1-2 KiB each
// decoded), so the cache holds at most a few tens of MiB.
constexpr size_t kFeedPages = 8;
constexpr uint64_t kLockstepPages = 4;
// How long a rebuilding runner waits at most for a slower one that makes no
// progress (one that is failing and backing off is not waited for).
constexpr absl::Duration kLockstepStall = absl::Seconds(1);

std::string ActiveKey(absl::string_view name) {
  return absl::StrCat("a/", name);
}
// "g/<name>/"; every generation's keys start with it.
std::string NamePrefix(absl::string_view name) {
  return absl::StrCat("g/", name, "/");
}
std::string GenerationPrefix(absl::string_view name, uint32_t generation) {
  return absl::StrFormat("g/%s/%08x/", std::string(name), generation);
}
std::string CheckpointKey(absl::string_view name, uint32_t generation) {
  return GenerationPrefix(name, generation) + "c";
}
std::string DataPrefix(absl::string_view name, uint32_t generation) {
  return GenerationPrefix(name, generation) + "d";
}

// The smallest string greater than every string that starts with `prefix`;
// empty when there is none.
std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix.data(), prefix.size());
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

// Where a scan of (prefix, start_after) begins, relative to the data prefix.
std::string ScanBegin(absl::string_view prefix, absl::string_view start_after) {
  if (!start_after.empty() && start_after >= prefix) {
    return absl::StrCat(start_after, absl::string_view("\0", 1));
  }
  return std::string(prefix);
}

struct Checkpoint {
  uint64_t position = 0;
  std::string hash;  // hex hash of the event at `position`; empty for 0
};

std::string EncodeCheckpoint(const Checkpoint& c) {
  return absl::StrCat(c.position, " ", c.hash);
}

absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view value) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(value, absl::MaxSplits(' ', 1));
  Checkpoint c;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &c.position)) {
    return absl::DataLossError(
        absl::StrCat("malformed projection checkpoint \"", value, "\""));
  }
  c.hash = std::string(parts[1]);
  return c;
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const ViewSnapshot& snapshot,
                                          absl::string_view name,
                                          uint32_t generation) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   snapshot.Get(CheckpointKey(name, generation)));
  if (!value.has_value()) return Checkpoint{};
  return DecodeCheckpoint(*value);
}

absl::StatusOr<std::optional<uint32_t>> ReadActiveGeneration(
    const ViewSnapshot& snapshot, absl::string_view name) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   snapshot.Get(ActiveKey(name)));
  if (!value.has_value()) return std::nullopt;
  uint32_t generation = 0;
  if (!absl::SimpleAtoi(*value, &generation) || generation == 0) {
    return absl::DataLossError(absl::StrCat("projection ", name,
                                            ": malformed serving generation \"",
                                            *value, "\""));
  }
  return generation;
}

// Scans [data_prefix + begin, data_prefix + PrefixEnd(prefix)) of `snapshot`,
// handing fn keys without the data prefix.
absl::Status ScanData(
    const ViewSnapshot& snapshot, absl::string_view data_prefix,
    absl::string_view prefix, absl::string_view start_after,
    absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) {
  const std::string begin =
      absl::StrCat(data_prefix, ScanBegin(prefix, start_after));
  const std::string end = prefix.empty()
                              ? PrefixEnd(data_prefix)
                              : absl::StrCat(data_prefix, PrefixEnd(prefix));
  return snapshot.Scan(begin, end,
                       [&](absl::string_view key, absl::string_view value) {
                         return fn(key.substr(data_prefix.size()), value);
                       });
}

// A query's view: one snapshot of one generation.
class SnapshotReader : public ViewReader {
 public:
  SnapshotReader(std::unique_ptr<ViewSnapshot> snapshot,
                 std::string data_prefix, uint64_t position)
      : snapshot_(std::move(snapshot)),
        data_prefix_(std::move(data_prefix)),
        position_(position) {}

  uint64_t position() const override { return position_; }
  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) const override {
    return snapshot_->Get(absl::StrCat(data_prefix_, key));
  }
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn)
      const override {
    return ScanData(*snapshot_, data_prefix_, prefix, start_after, fn);
  }

 private:
  std::unique_ptr<ViewSnapshot> snapshot_;
  std::string data_prefix_;
  uint64_t position_;
};

// The state a batch of events is applied to: the stored state under the
// batch's own pending writes. Only the last write of each key reaches the
// store.
class BatchState : public ProjectionState {
 public:
  BatchState(std::unique_ptr<ViewSnapshot> latest, std::string data_prefix,
             uint64_t position)
      : latest_(std::move(latest)),
        data_prefix_(std::move(data_prefix)),
        position_(position) {}

  uint64_t position() const override { return position_; }

  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) const override {
    if (auto it = pending_.find(key); it != pending_.end()) return it->second;
    return latest_->Get(absl::StrCat(data_prefix_, key));
  }

  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn)
      const override {
    const std::string begin = ScanBegin(prefix, start_after);
    const std::string end = PrefixEnd(prefix);
    auto it = pending_.lower_bound(begin);
    auto in_range = [&](const std::string& key) {
      return end.empty() || key < end;
    };
    bool stopped = false;
    // Emits pending entries that sort before `limit` (all when nullopt).
    auto emit_pending_before = [&](std::optional<absl::string_view> limit) {
      while (!stopped && it != pending_.end() && in_range(it->first) &&
             (!limit.has_value() || absl::string_view(it->first) < *limit)) {
        if (it->second.has_value() && !fn(it->first, *it->second))
          stopped = true;
        ++it;
      }
    };
    RETURN_IF_ERROR(ScanData(
        *latest_, data_prefix_, prefix, start_after,
        [&](absl::string_view key, absl::string_view value) {
          emit_pending_before(key);
          if (stopped) return false;
          if (it != pending_.end() && absl::string_view(it->first) == key) {
            // The batch rewrote or deleted this key.
            if (it->second.has_value() && !fn(key, *it->second)) stopped = true;
            ++it;
            return !stopped;
          }
          if (!fn(key, value)) stopped = true;
          return !stopped;
        }));
    emit_pending_before(std::nullopt);
    return absl::OkStatus();
  }

  void Put(absl::string_view key, absl::string_view value) override {
    pending_[std::string(key)] = std::string(value);
  }
  void Delete(absl::string_view key) override {
    pending_[std::string(key)] = std::nullopt;
  }

  void AddTo(ViewWriteBatch& batch) const {
    for (const auto& [key, value] : pending_) {
      if (value.has_value()) {
        batch.Put(absl::StrCat(data_prefix_, key), *value);
      } else {
        batch.Delete(absl::StrCat(data_prefix_, key));
      }
    }
  }

 private:
  std::unique_ptr<ViewSnapshot> latest_;
  std::string data_prefix_;
  uint64_t position_;
  std::map<std::string, std::optional<std::string>, std::less<>> pending_;
};

}  // namespace

// The log's pages as the runners read them, each read and decoded (and its
// payloads decrypted) once while it is cached. A page that reached the head
// is handed to a second reader too: the events it holds are committed and
// stay where they are, and the runner asks for the events after them next,
// so runners following the head together read each new event once. An
// empty page is never handed on: it is what makes a rebuilding runner
// switch, and the log may have grown since, so each runner reads that
// itself.
class ProjectionEngine::PageFeed {
 public:
  using Page = std::shared_ptr<const eventstore::LogPage>;
  using Result = absl::StatusOr<Page>;

  PageFeed(eventstore::EventLog* log, size_t batch_events)
      : log_(log), batch_events_(batch_events) {}
  ~PageFeed() { Close(); }

  // Waits for the background reads and starts no more: after Close the log
  // may go. (A shared future made by std::async joins its thread when its
  // last copy is destroyed.)
  void Close() {
    std::map<uint64_t, Entry> pages;
    {
      MutexLock lock(&mu_);
      closed_ = true;
      pages.swap(pages_);
    }
  }

  // The page of up to batch_events events from `from`: another runner's
  // when it is cached (or being read), otherwise read now and cached.
  Result Get(uint64_t from) {
    std::shared_future<Result> shared;
    std::optional<std::promise<Result>> mine;
    {
      MutexLock lock(&mu_);
      if (auto it = pages_.find(from); it != pages_.end()) {
        shared = it->second.page;
      } else {
        mine.emplace();
        Insert(from, mine->get_future().share());
      }
    }
    if (!mine.has_value()) {
      const Result& result = shared.get();
      if (result.ok() && !(*result)->events.empty()) return result;
      return Read(from);  // an error, or an empty page the log may outgrow
    }
    Result result = Read(from);
    mine->set_value(result);
    if (!result.ok() || (*result)->events.empty()) Drop(from);
    return result;
  }

  // Starts reading the page at `from` in the background unless it is cached
  // or being read.
  void Prefetch(uint64_t from) {
    MutexLock lock(&mu_);
    if (closed_ || pages_.contains(from)) return;
    Insert(from, std::async(std::launch::async, [this, from] {
                   return Read(from);
                 }).share());
  }

 private:
  Result Read(uint64_t from) const {
    eventstore::ReadAllOptions read;
    read.from_position = from;
    read.max_count = batch_events_;
    absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
    if (!page.ok()) return page.status();
    return std::make_shared<const eventstore::LogPage>(*std::move(page));
  }

  void Insert(uint64_t from, std::shared_future<Result> page)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Drop the pages cached longest ago beyond the bound (not the lowest
    // positions: pages left near the head by an earlier catch-up would stay
    // forever). A page still being read is kept (destroying a background
    // read's future waits for it, under the lock); the bound is exceeded by
    // at most the reads in flight.
    while (pages_.size() >= kFeedPages) {
      auto oldest = pages_.end();
      for (auto it = pages_.begin(); it != pages_.end(); ++it) {
        if (it->second.page.wait_for(std::chrono::seconds(0)) ==
                std::future_status::ready &&
            (oldest == pages_.end() || it->second.added < oldest->second.added)) {
          oldest = it;
        }
      }
      if (oldest == pages_.end()) break;
      pages_.erase(oldest);
    }
    pages_.emplace(from, Entry{std::move(page), ++added_});
  }

  void Drop(uint64_t from) {
    MutexLock lock(&mu_);
    if (auto it = pages_.find(from);
        it != pages_.end() &&
        it->second.page.wait_for(std::chrono::seconds(0)) ==
            std::future_status::ready) {
      pages_.erase(it);
    }
  }

  eventstore::EventLog* const log_;
  const size_t batch_events_;
  struct Entry {
    std::shared_future<Result> page;
    uint64_t added = 0;  // insertion order
  };
  Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t added_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, Entry> pages_ ABSL_GUARDED_BY(mu_);
};

// One generation of one projection, applied by its own thread.
class ProjectionEngine::Runner {
 public:
  Runner(ProjectionEngine* engine, Slot* slot, uint32_t generation)
      : engine_(engine), slot_(slot), generation_(generation) {}
  ~Runner() { Join(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void RequestStop() { stop_.store(true); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  uint32_t generation() const { return generation_; }
  uint64_t position() const { return position_.load(); }
  bool exited() const { return exited_.load(); }
  // Started or committed a batch in the last second.
  bool progressing() const {
    const absl::Time last =
        std::max(absl::FromUnixNanos(last_commit_nanos_.load()), started_);
    return absl::Now() - last < kLockstepStall;
  }
  // Events per second over the last second or so.
  double rate() const {
    return absl::Now() - absl::FromUnixNanos(last_commit_nanos_.load()) >
                   absl::Seconds(3)
               ? 0
               : rate_.load();
  }

 private:
  void Run();
  absl::Status Resume(std::unique_ptr<Projection>& instance);
  absl::Status ApplyBatch(Projection& instance,
                          const std::vector<eventstore::RecordedEvent>& events);
  void SleepAfterError(const absl::Status& status);

  ProjectionEngine* const engine_;
  Slot* const slot_;
  const uint32_t generation_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> exited_{false};
  std::atomic<uint64_t> position_{0};
  std::atomic<double> rate_{0};
  std::atomic<int64_t> last_commit_nanos_{0};
  // So that a rebuild started at the same time as others is waited for
  // before its first commit.
  const absl::Time started_ = absl::Now();
  absl::Duration retry_delay_;  // zero until an error; reset on success
  absl::Time window_start_ = absl::Now();
  uint64_t window_start_position_ = 0;
};

struct ProjectionEngine::Slot {
  ProjectionDef def;
  // Guarded by the engine's mu_.
  Runner* serving = nullptr;
  Runner* rebuilding = nullptr;
  uint32_t last_generation = 0;
  std::string last_error;
  std::vector<std::unique_ptr<Runner>> runners;  // every runner not yet joined
};

absl::Status ProjectionEngine::Runner::Resume(
    std::unique_ptr<Projection>& instance) {
  const std::string& name = slot_->def.name;
  ASSIGN_OR_RETURN(
      Checkpoint checkpoint,
      ReadCheckpoint(*engine_->store_->Latest(), name, generation_));
  if (checkpoint.position > 0) {
    // The state must belong to this log: the event at its checkpoint must
    // still be there with the same hash.
    eventstore::ReadAllOptions read;
    read.from_position = checkpoint.position;
    read.max_count = 1;
    ASSIGN_OR_RETURN(eventstore::LogPage page, engine_->log_->ReadAll(read));
    if (page.events.empty() ||
        page.events[0].global_position != checkpoint.position ||
        eventstore::HashToHex(page.events[0].hash) != checkpoint.hash) {
      spdlog::warn(
          "projection {}: stored state was built from another log (its "
          "checkpoint {} does not match the log, whose head is {}); "
          "rebuilding it from position 0",
          name, checkpoint.position, page.head_position);
      ViewWriteBatch batch;
      batch.DeleteRange(GenerationPrefix(name, generation_),
                        PrefixEnd(GenerationPrefix(name, generation_)));
      RETURN_IF_ERROR(engine_->store_->Write(batch));
      checkpoint = Checkpoint{};
    }
  }
  ProjectionInit init;
  init.log = engine_->log_;
  init.checkpoint = checkpoint.position;
  instance = slot_->def.make(init);
  position_.store(checkpoint.position);
  window_start_position_ = checkpoint.position;
  return absl::OkStatus();
}

absl::Status ProjectionEngine::Runner::ApplyBatch(
    Projection& instance,
    const std::vector<eventstore::RecordedEvent>& events) {
  const std::string& name = slot_->def.name;
  BatchState state(engine_->store_->Latest(), DataPrefix(name, generation_),
                   position_.load());
  for (const eventstore::RecordedEvent& event : events) {
    absl::Status status = instance.Apply(event, state);
    if (!status.ok()) {
      return absl::Status(
          status.code(),
          absl::StrCat("applying the event at position ", event.global_position,
                       ": ", status.message()));
    }
  }
  ViewWriteBatch batch;
  state.AddTo(batch);
  const eventstore::RecordedEvent& last = events.back();
  batch.Put(CheckpointKey(name, generation_),
            EncodeCheckpoint(
                {last.global_position, eventstore::HashToHex(last.hash)}));
  RETURN_IF_ERROR(engine_->store_->Write(batch));
  // An erased client's views were just dropped: make their old values
  // physically gone from the store's files (docs/log_format.md "Erasure").
  for (const eventstore::RecordedEvent& event : events) {
    if (ClientIdOf(event).has_value() &&
        care::PeekCareEventCase(event) == v1::CareEvent::kClientErased) {
      RETURN_IF_ERROR(engine_->store_->Purge());
      break;
    }
  }
  position_.store(last.global_position);
  const absl::Time now = absl::Now();
  last_commit_nanos_.store(absl::ToUnixNanos(now));
  if (now - window_start_ >= absl::Milliseconds(250)) {
    rate_.store(
        static_cast<double>(last.global_position - window_start_position_) /
        absl::ToDoubleSeconds(now - window_start_));
    window_start_ = now;
    window_start_position_ = last.global_position;
  }
  return absl::OkStatus();
}

void ProjectionEngine::Runner::SleepAfterError(const absl::Status& status) {
  // Back off while the same error repeats: the retry delay, doubling up to
  // kMaxRetryDelay.
  retry_delay_ = retry_delay_ == absl::ZeroDuration()
                     ? engine_->options_.retry_delay
                     : std::min(retry_delay_ * 2, kMaxRetryDelay);
  spdlog::error(
      "projection {} (generation {}): {}; retrying from its "
      "checkpoint in {}",
      slot_->def.name, generation_, status.ToString(),
      absl::FormatDuration(retry_delay_));
  {
    MutexLock lock(&engine_->mu_);
    slot_->last_error = std::string(status.message());
  }
  const absl::Time until = absl::Now() + retry_delay_;
  while (!stop_.load() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void ProjectionEngine::Runner::Run() {
  std::unique_ptr<Projection> instance;
  while (!stop_.load()) {
    if (instance == nullptr) {
      if (absl::Status s = Resume(instance); !s.ok()) {
        instance.reset();
        SleepAfterError(s);
        continue;
      }
    }
    const uint64_t from = position_.load() + 1;
    engine_->WaitForSlowerRebuilds(*this, from);
    // While catching up (full pages), the next page is read and decoded on
    // another thread while this one applies the current page, unless another
    // runner already did.
    PageFeed::Result page = engine_->feed_->Get(from);
    if (!page.ok()) {
      SleepAfterError(page.status());
      continue;
    }
    const std::vector<eventstore::RecordedEvent>& events = (*page)->events;
    if (events.empty()) {
      bool promote = false;
      {
        MutexLock lock(&engine_->mu_);
        promote = slot_->rebuilding == this;
      }
      if (promote) {
        if (absl::Status s = engine_->Promote(*slot_, *this); !s.ok()) {
          SleepAfterError(s);
        }
        continue;
      }
      engine_->log_->WaitForHeadAbove(position_.load(), kIdleWait);
      continue;
    }
    if (events.size() == engine_->options_.batch_events) {
      engine_->feed_->Prefetch(events.back().global_position + 1);
    }
    if (absl::Status s = ApplyBatch(*instance, events); !s.ok()) {
      // The instance's in-memory state may hold part of the batch: start
      // over from the stored checkpoint with a new one.
      instance.reset();
      SleepAfterError(s);
      continue;
    }
    retry_delay_ = absl::ZeroDuration();
    {
      MutexLock lock(&engine_->mu_);
      slot_->last_error.clear();
    }
    engine_->Notify();
  }
  exited_.store(true);
  engine_->Notify();
}

ProjectionEngine::ProjectionEngine(eventstore::EventLog* log,
                                   eventstore::ViewStore* store,
                                   ProjectionEngineOptions options)
    : log_(log),
      store_(store),
      options_(options),
      feed_(std::make_unique<PageFeed>(log, options.batch_events)) {}

absl::StatusOr<std::unique_ptr<ProjectionEngine>> ProjectionEngine::Start(
    eventstore::EventLog* log, eventstore::ViewStore* store,
    std::vector<ProjectionDef> defs, ProjectionEngineOptions options) {
  std::unique_ptr<ProjectionEngine> engine(
      new ProjectionEngine(log, store, options));
  for (ProjectionDef& def : defs) {
    if (def.name.empty() ||
        !std::all_of(def.name.begin(), def.name.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        })) {
      return absl::InvalidArgumentError(absl::StrCat(
          "projection name \"", def.name, "\" must be 1 or more of a-z 0-9 _"));
    }
    if (engine->FindSlot(def.name) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("projection name \"", def.name, "\" is used twice"));
    }
    ASSIGN_OR_RETURN(std::optional<uint32_t> active,
                     ReadActiveGeneration(*store->Latest(), def.name));
    const uint32_t generation = active.value_or(1);
    // Drop every other generation: the leftovers of an interrupted rebuild.
    ViewWriteBatch batch;
    const std::string serving = GenerationPrefix(def.name, generation);
    batch.DeleteRange(NamePrefix(def.name), serving);
    batch.DeleteRange(PrefixEnd(serving), PrefixEnd(NamePrefix(def.name)));
    batch.Put(ActiveKey(def.name), absl::StrCat(generation));
    RETURN_IF_ERROR(store->Write(batch));

    auto slot = std::make_unique<Slot>();
    slot->def = std::move(def);
    slot->last_generation = generation;
    auto runner =
        std::make_unique<Runner>(engine.get(), slot.get(), generation);
    slot->serving = runner.get();
    slot->runners.push_back(std::move(runner));
    engine->slots_.push_back(std::move(slot));
  }
  for (auto& slot : engine->slots_) slot->serving->Start();
  return engine;
}

ProjectionEngine::~ProjectionEngine() { Stop(); }

void ProjectionEngine::WaitForSlowerRebuilds(const Runner& runner,
                                             uint64_t from) {
  if (slots_.size() < 2) return;
  const uint64_t window = kLockstepPages * options_.batch_events;
  MutexLock lock(&mu_);
  // Only a rebuild waits, and only for other rebuilds: a serving runner never
  // waits, so live views never lag behind a rebuild.
  if (std::none_of(slots_.begin(), slots_.end(), [&](const auto& slot) {
        return slot->rebuilding == &runner;
      })) {
    return;
  }
  // The position of the slowest other rebuild that is more than the window
  // behind `from` and still making progress; nullopt when there is none.
  auto slowest = [&]() -> std::optional<uint64_t> {
    std::optional<uint64_t> min;
    for (const auto& slot : slots_) {
      const Runner* other = slot->rebuilding;
      if (other == nullptr || other == &runner || other->exited()) continue;
      const uint64_t position = other->position();
      if (position + window >= from) continue;
      if (!other->progressing()) continue;  // failing, or stuck
      if (!min.has_value() || position < *min) min = position;
    }
    return min;
  };
  absl::Time stalled_since = absl::Now();
  std::optional<uint64_t> last;
  while (!stopping_) {
    const std::optional<uint64_t> behind = slowest();
    if (!behind.has_value()) return;
    const absl::Time now = absl::Now();
    if (behind != last) {
      last = behind;
      stalled_since = now;
    } else if (now - stalled_since > kLockstepStall) {
      return;
    }
    progressed_.WaitFor(kIdleWait);
  }
}

void ProjectionEngine::Stop() {
  std::vector<std::unique_ptr<Runner>> runners;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& slot : slots_) {
      for (auto& runner : slot->runners) {
        runner->RequestStop();
        runners.push_back(std::move(runner));
      }
      slot->runners.clear();
    }
    progressed_.SignalAll();
  }
  for (auto& runner : runners) runner->Join();
  feed_->Close();
}

void ProjectionEngine::Notify() {
  MutexLock lock(&mu_);
  progressed_.SignalAll();
}

ProjectionEngine::Slot* ProjectionEngine::FindSlot(
    absl::string_view name) const {
  for (const auto& slot : slots_) {
    if (slot->def.name == name) return slot.get();
  }
  return nullptr;
}

std::vector<std::string> ProjectionEngine::names() const {
  std::vector<std::string> names;
  for (const auto& slot : slots_) names.push_back(slot->def.name);
  return names;
}

absl::StatusOr<std::unique_ptr<ViewReader>> ProjectionEngine::Reader(
    absl::string_view name) {
  if (FindSlot(name) == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no projection named \"", name, "\""));
  }
  std::unique_ptr<ViewSnapshot> snapshot = store_->NewSnapshot();
  ASSIGN_OR_RETURN(std::optional<uint32_t> generation,
                   ReadActiveGeneration(*snapshot, name));
  if (!generation.has_value()) {
    return absl::InternalError(
        absl::StrCat("projection ", name, " has no serving generation"));
  }
  ASSIGN_OR_RETURN(Checkpoint checkpoint,
                   ReadCheckpoint(*snapshot, name, *generation));
  return std::unique_ptr<ViewReader>(new SnapshotReader(
      std::move(snapshot), DataPrefix(name, *generation), checkpoint.position));
}

absl::Status ProjectionEngine::WaitForPosition(absl::string_view name,
                                               uint64_t position,
                                               absl::Time deadline) {
  Slot* slot = FindSlot(name);
  if (slot == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no projection named \"", name, "\""));
  }
  MutexLock lock(&mu_);
  while (true) {
    if (stopping_) {
      return absl::UnavailableError("the server is shutting down");
    }
    const uint64_t applied = slot->serving->position();
    if (applied >= position) return absl::OkStatus();
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "projection ", name, " has applied position ", applied,
          " and has not reached min_position ", position,
          " within the deadline",
          slot->last_error.empty()
              ? std::string("; retry with a longer deadline")
              : absl::StrCat("; it is failing: ", slot->last_error)));
    }
    progressed_.WaitFor(std::min(deadline - now, absl::Milliseconds(200)));
  }
}

std::vector<v1::ProjectionStatus> ProjectionEngine::Status() const {
  const uint64_t head = log_->HeadPosition();
  std::vector<v1::ProjectionStatus> out;
  MutexLock lock(&mu_);
  for (const auto& slot : slots_) {
    v1::ProjectionStatus& status = out.emplace_back();
    status.set_name(slot->def.name);
    if (slot->serving == nullptr) continue;  // stopped
    const uint64_t position = slot->serving->position();
    status.set_position(position);
    status.set_head_position(head);
    status.set_lag(head > position ? head - position : 0);
    status.set_generation(slot->serving->generation());
    status.set_events_per_second(slot->serving->rate());
    status.set_last_error(slot->last_error);
    if (slot->rebuilding != nullptr) {
      status.set_state("rebuilding");
      status.set_rebuild_position(slot->rebuilding->position());
      status.set_rebuild_generation(slot->rebuilding->generation());
    } else {
      status.set_state(slot->last_error.empty() ? "running" : "failed");
    }
  }
  return out;
}

absl::Status ProjectionEngine::Promote(Slot& slot, Runner& runner) {
  Runner* old = nullptr;
  {
    MutexLock lock(&mu_);
    if (stopping_) return absl::OkStatus();
    old = slot.serving;
    old->RequestStop();
    // The old runner must have stopped writing before its keys go.
    while (!old->exited() && !stopping_) progressed_.WaitFor(kIdleWait);
    if (stopping_) return absl::OkStatus();
  }
  const std::string& name = slot.def.name;
  const std::string old_prefix = GenerationPrefix(name, old->generation());
  ViewWriteBatch batch;
  batch.Put(ActiveKey(name), absl::StrCat(runner.generation()));
  batch.DeleteRange(old_prefix, PrefixEnd(old_prefix));
  RETURN_IF_ERROR(store_->Write(batch));
  spdlog::info(
      "projection {}: generation {} caught up at position {} and "
      "now serves; generation {} dropped",
      name, runner.generation(), runner.position(), old->generation());
  MutexLock lock(&mu_);
  slot.serving = &runner;
  slot.rebuilding = nullptr;
  progressed_.SignalAll();
  return absl::OkStatus();
}

absl::Status ProjectionEngine::Rebuild(
    absl::string_view name,
    absl::FunctionRef<bool(const v1::RebuildProjectionResponse&)> progress,
    absl::Duration interval) {
  Slot* slot = FindSlot(name);
  if (slot == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no projection named \"", name, "\"; see caseline projections status"));
  }
  Runner* runner = nullptr;
  std::vector<std::unique_ptr<Runner>> finished;
  {
    MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("the server is shutting down");
    if (slot->rebuilding != nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "projection ", name, " is already rebuilding (generation ",
          slot->rebuilding->generation(), ")"));
    }
    // Reap the runners of earlier generations.
    for (auto it = slot->runners.begin(); it != slot->runners.end();) {
      if ((*it)->exited() && it->get() != slot->serving) {
        finished.push_back(std::move(*it));
        it = slot->runners.erase(it);
      } else {
        ++it;
      }
    }
    auto fresh = std::make_unique<Runner>(this, slot, ++slot->last_generation);
    runner = fresh.get();
    slot->rebuilding = runner;
    slot->runners.push_back(std::move(fresh));
    runner->Start();
  }
  finished.clear();  // joins outside the lock
  spdlog::info("projection {}: rebuilding into generation {}", slot->def.name,
               runner->generation());
  bool reporting = true;
  while (true) {
    v1::RebuildProjectionResponse update;
    bool stopped = false;
    {
      // Wake for the switch or a stop, otherwise report once per interval.
      MutexLock lock(&mu_);
      const absl::Time next_report = absl::Now() + interval;
      while (!stopping_ && slot->serving != runner) {
        const absl::Duration left = next_report - absl::Now();
        if (left <= absl::ZeroDuration()) break;
        progressed_.WaitFor(left);
      }
      stopped = stopping_;
      update.set_done(slot->serving == runner);
      update.set_last_error(slot->last_error);
    }
    update.set_name(std::string(name));
    update.set_position(runner->position());
    update.set_head_position(log_->HeadPosition());
    update.set_events_per_second(runner->rate());
    update.set_generation(runner->generation());
    if (stopped && !update.done()) {
      return absl::UnavailableError(
          "the server is shutting down; the rebuild starts over when "
          "requested again");
    }
    if (reporting && !progress(update)) reporting = false;
    if (update.done() || !reporting) return absl::OkStatus();
  }
}

}  // namespace caseline::projections
