#include "cluster/cluster_node.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "eventstore/envelope.h"
#include "spdlog/spdlog.h"

namespace caseline::cluster {
namespace {

// Groups read per etcd range while catching up.
constexpr int64_t kGroupsPerRange = 64;
// How long a watch's Next waits before the loop checks for Stop.
constexpr absl::Duration kWatchPoll = absl::Milliseconds(200);
// Back-off after an etcd error or a group that could not be applied.
constexpr absl::Duration kRetryDelay = absl::Milliseconds(100);

absl::Status NotStoredError(absl::string_view why) {
  absl::Status status = absl::UnavailableError(
      absl::StrCat(why, ": the append was not stored; retry it"));
  status.SetPayload(kNotStoredPayload, absl::Cord());
  return status;
}

// "<node id> <address>", the sequencer key's value.
std::optional<SequencerInfo> ParseSequencer(const KeyValue& kv) {
  std::vector<std::string> parts = absl::StrSplit(kv.value, ' ');
  if (parts.size() != 2) return std::nullopt;
  return SequencerInfo{parts[0], parts[1], kv.create_revision, kv.lease};
}

// The `committed` key's value: "<last position> <its event's hash, hex>",
// which names the log's end exactly (docs/cluster.md "Keys in etcd").
std::string CommittedValue(uint64_t position, const eventstore::Hash& hash) {
  return absl::StrCat(position, " ", eventstore::HashToHex(hash));
}

// The position in a `committed` value.
std::optional<uint64_t> CommittedPosition(absl::string_view value) {
  uint64_t position = 0;
  if (!absl::SimpleAtoi(value.substr(0, value.find(' ')), &position)) {
    return std::nullopt;
  }
  return position;
}

}  // namespace

bool NotStored(const absl::Status& status) {
  return status.GetPayload(kNotStoredPayload).has_value();
}

ClusterNode::ClusterNode(ClusterOptions options,
                         std::unique_ptr<EtcdClient> etcd)
    : options_(std::move(options)),
      etcd_(std::move(etcd)),
      prefix_(absl::StrCat("/caseline/", options_.cluster_name, "/")),
      sequencer_key_(prefix_ + "sequencer"),
      log_prefix_(prefix_ + "log/"),
      applied_prefix_(prefix_ + "applied/"),
      committed_key_(prefix_ + "committed") {}

ClusterNode::~ClusterNode() { Stop(); }

std::string ClusterNode::LogKey(uint64_t first_position) const {
  return absl::StrFormat("%s%020d", log_prefix_, first_position);
}

void ClusterNode::Start(eventstore::EventLog* log, std::string advertise) {
  log_ = log;
  advertise_ = std::move(advertise);
  follow_ = std::thread([this] { FollowLoop(); });
  control_ = std::thread([this] { ControlLoop(); });
}

void ClusterNode::Stop() {
  int64_t lease = 0;
  {
    MutexLock lock(&mu_);
    if (stopping_ && !control_.joinable()) return;
    stopping_ = true;
    if (sequencing_ || term_ != 0) StepDown("this node is shutting down");
    if (watch_ != nullptr) watch_->Cancel();
    changed_.SignalAll();
  }
  if (control_.joinable()) control_.join();
  if (follow_.joinable()) follow_.join();
  {
    MutexLock lock(&mu_);
    // Their callbacks use this node; each ends by etcd_timeout.
    while (txns_in_flight_ > 0) changed_.Wait();
    lease = std::exchange(lease_, 0);
  }
  // Deletes the sequencer key with it: the next node is elected now, not
  // after the lease's TTL.
  if (lease != 0) etcd_->LeaseRevoke(lease).IgnoreError();
}

bool ClusterNode::sequencing() const {
  MutexLock lock(&mu_);
  return sequencing_;
}

std::optional<SequencerInfo> ClusterNode::sequencer() const {
  MutexLock lock(&mu_);
  return sequencer_;
}

std::optional<SequencerInfo> ClusterNode::WaitForSequencer(
    absl::Time deadline) const {
  MutexLock lock(&mu_);
  while (!sequencer_.has_value() && !stopping_) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    changed_.WaitFor(left);
  }
  return sequencer_;
}

uint64_t ClusterNode::committed_position() const {
  MutexLock lock(&mu_);
  return committed_;
}

absl::Status ClusterNode::apply_error() const {
  MutexLock lock(&mu_);
  return apply_error_;
}

void ClusterNode::StepDown(absl::string_view why) {
  if (sequencing_) {
    spdlog::warn("cluster: node {} stops sequencing: {}", options_.node_id,
                 std::string(why));
  }
  sequencing_ = false;
  ++run_;
  run_committed_.clear();
  run_next_ = 0;
  changed_.SignalAll();
}

bool ClusterNode::Sleep(absl::Duration d) {
  // One wait: any change (a sequencer key gone, a step down) ends it early.
  MutexLock lock(&mu_);
  if (!stopping_) changed_.WaitFor(d);
  return !stopping_;
}

void ClusterNode::Replicate(eventstore::ReplicatedGroup group, Done done) {
  auto sent = std::make_shared<SentGroup>();
  sent->first = group.first_position;
  sent->last = group.last_position();
  sent->key = LogKey(sent->first);
  absl::StatusOr<eventstore::EnvelopeParts> parts =
      eventstore::SplitEnvelope(group.envelopes.back());
  if (!parts.ok()) {
    done(parts.status());
    return;
  }
  sent->committed = CommittedValue(sent->last, parts->hash);
  sent->value = eventstore::EncodeReplicatedGroup(group);
  sent->done = std::move(done);
  // Only the writer, which is calling, moves the head.
  const uint64_t head = log_->HeadPosition();
  absl::Status refused;
  {
    MutexLock lock(&mu_);
    if (!sequencing_) {
      refused = NotStoredError(absl::StrCat(
          "node ", options_.node_id, " is not the cluster's sequencer",
          sequencer_.has_value() ? absl::StrCat(" (", sequencer_->node_id,
                                                " is)")
                                 : std::string(" (an election is under way)")));
    } else if (const uint64_t expected =
                   run_committed_.empty() ? head + 1 : run_next_;
               sent->first != expected) {
      // Later: decided on top of a group that was not committed. Earlier:
      // the writer did not write a group the cluster committed (a failed
      // local write); the follower's path applies it.
      if (sent->first < expected) {
        StepDown("its log is behind the groups it sent");
      }
      refused = NotStoredError(absl::StrCat(
          "node ", options_.node_id,
          " decided this append on top of a state the cluster does not "
          "hold"));
    } else {
      sent->fence = run_committed_;
      sent->term = term_;
      sent->run = run_;
      run_committed_ = sent->committed;
      run_next_ = sent->last + 1;
      sent_.push_back(sent);
      ++txns_in_flight_;
    }
  }
  if (!refused.ok()) {
    sent->done(std::move(refused));
    return;
  }
  Send(sent);
}

void ClusterNode::Send(const std::shared_ptr<SentGroup>& sent) {
  std::vector<Compare> compares = {
      Compare::CreateRevision(sequencer_key_, Compare::Result::kEqual,
                              sent->term),
      Compare::Absent(sent->key)};
  if (!sent->fence.empty()) {
    compares.push_back(
        Compare::Value(committed_key_, Compare::Result::kEqual, sent->fence));
  }
  etcd_->TxnAsync(
      compares,
      {TxnOp::Put(sent->key, sent->value),
       TxnOp::Put(committed_key_, sent->committed)},
      {TxnOp::Range(sequencer_key_), TxnOp::Range(committed_key_)},
      [this, sent](absl::StatusOr<TxnResult> txn) {
        OnAnswer(sent, std::move(txn));
      });
}

void ClusterNode::OnAnswer(const std::shared_ptr<SentGroup>& sent,
                           absl::StatusOr<TxnResult> txn) {
  std::vector<std::pair<Done, absl::Status>> answers;
  std::shared_ptr<SentGroup> resend;
  {
    MutexLock lock(&mu_);
    --txns_in_flight_;
    auto answer = [&answers](const std::shared_ptr<SentGroup>& g,
                             absl::Status s) {
      answers.emplace_back(std::move(g->done), std::move(s));
    };
    bool failed = true;
    if (!txn.ok()) {
      // The group may or may not be in etcd: sequence nothing more until the
      // follower side has read etcd's tail and applied whatever is there.
      if (sent->run == run_) StepDown(txn.status().message());
      answer(sent,
             absl::UnavailableError(absl::StrCat(
                 "the cluster did not confirm this append (etcd: ",
                 txn.status().message(),
                 "): it may or may not have been stored; retry with the same "
                 "event ids (a stored append is answered already_written)")));
      Forget(sent);
    } else if (txn->succeeded) {
      committed_ = std::max(committed_, sent->last);
      if (std::shared_ptr<SentGroup> next = Neighbour(*sent, /*after=*/true);
          next != nullptr && next->waiting) {
        next->waiting = false;
        ++txns_in_flight_;
        resend = next;
      }
      answer(sent, absl::OkStatus());
      Forget(sent);
      failed = false;
    } else if (sent->run == run_ && sequencing_ &&
               OnlyPredecessorMissing(*txn, *sent)) {
      // etcd took it before its predecessor (both were in flight): send it
      // again once the predecessor has landed.
      if (Neighbour(*sent, /*after=*/false) != nullptr) {
        sent->waiting = true;
      } else {
        ++txns_in_flight_;
        resend = sent;
      }
      failed = false;
    } else {
      if (sent->run == run_) StepDown("its fenced write was refused");
      answer(sent, NotStoredError(absl::StrCat(
                       "node ", options_.node_id,
                       " stopped being the cluster's sequencer before the "
                       "append was committed")));
      Forget(sent);
    }
    if (failed) {
      // A group waiting to be sent again is not sent once a group before it
      // failed: this node no longer sequences that run.
      std::vector<std::shared_ptr<SentGroup>> waiting;
      for (const auto& g : sent_) {
        if (g->waiting && g->run == sent->run) waiting.push_back(g);
      }
      for (const auto& g : waiting) {
        answer(g, NotStoredError(absl::StrCat(
                      "node ", options_.node_id,
                      " stopped sequencing before the append was committed")));
        Forget(g);
      }
    }
    if (txns_in_flight_ == 0) changed_.SignalAll();
  }
  if (resend != nullptr) Send(resend);
  for (auto& [done, status] : answers) done(std::move(status));
}

std::shared_ptr<ClusterNode::SentGroup> ClusterNode::Neighbour(
    const SentGroup& sent, bool after) const {
  std::shared_ptr<SentGroup> found;
  for (const std::shared_ptr<SentGroup>& g : sent_) {
    if (g->run != sent.run || g.get() == &sent) continue;
    if (!after && g->first < sent.first) found = g;
    if (after && g->first > sent.first) return g;
  }
  return found;
}

void ClusterNode::Forget(const std::shared_ptr<SentGroup>& sent) {
  if (auto it = std::find(sent_.begin(), sent_.end(), sent); it != sent_.end()) {
    sent_.erase(it);
  }
}

bool ClusterNode::OnlyPredecessorMissing(const TxnResult& txn,
                                         const SentGroup& sent) const {
  if (sent.fence.empty() || txn.results.size() != 2) return false;
  const RangeResult& sequencer = txn.results[0].range;
  const RangeResult& committed = txn.results[1].range;
  if (sequencer.kvs.empty() || sequencer.kvs[0].create_revision != sent.term) {
    return false;
  }
  uint64_t position = 0;
  if (!committed.kvs.empty()) {
    std::optional<uint64_t> parsed = CommittedPosition(committed.kvs[0].value);
    if (!parsed.has_value()) return false;
    position = *parsed;
  }
  return position + 1 < sent.first;
}

void ClusterNode::ControlLoop() {
  absl::Time last_renewed = absl::InfinitePast();
  while (true) {
    int64_t lease = 0;
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      lease = lease_;
    }
    if (lease == 0) {
      absl::StatusOr<Lease> granted = etcd_->LeaseGrant(options_.lease_ttl);
      if (granted.ok()) {
        MutexLock lock(&mu_);
        lease_ = lease = granted->id;
        last_renewed = absl::Now();
      }
    } else {
      absl::StatusOr<int64_t> renewed = etcd_->LeaseKeepAliveOnce(lease);
      if (renewed.ok()) {
        last_renewed = absl::Now();
      } else if (renewed.status().code() == absl::StatusCode::kNotFound ||
                 absl::Now() - last_renewed > options_.lease_ttl) {
        // Expired (or cannot have survived): its sequencer key is gone.
        MutexLock lock(&mu_);
        lease_ = 0;
        term_ = 0;
        StepDown("its etcd lease expired");
        continue;
      }
    }
    if (lease != 0) Campaign(lease);
    ReportApplied();
    if (sequencing() &&
        absl::Now() - last_compaction_ >= options_.compaction_interval) {
      last_compaction_ = absl::Now();
      CompactEtcd();
    }
    if (!Sleep(options_.lease_ttl / 6)) return;
  }
}

void ClusterNode::Campaign(int64_t lease) {
  int64_t term = 0;
  {
    MutexLock lock(&mu_);
    if (sequencing_) return;
    term = term_;
    if (term == 0 && sequencer_.has_value()) return;  // someone else holds it
  }
  if (term == 0) {
    absl::StatusOr<TxnResult> txn = etcd_->Txn(
        {Compare::Absent(sequencer_key_)},
        {TxnOp::Put(sequencer_key_,
                    absl::StrCat(options_.node_id, " ", advertise_), lease)},
        {TxnOp::Range(sequencer_key_)});
    if (!txn.ok()) return;
    if (!txn->succeeded) {
      if (!txn->results.empty() && !txn->results[0].range.kvs.empty()) {
        SetSequencer(ParseSequencer(txn->results[0].range.kvs[0]));
      }
      return;
    }
    term = txn->revision;
    MutexLock lock(&mu_);
    term_ = term;
    sequencer_ = SequencerInfo{options_.node_id, advertise_, term, lease};
    changed_.SignalAll();
    spdlog::info("cluster: node {} won the sequencer election (term {})",
                 options_.node_id, term);
  }
  // Elected: sequence only once every group committed before the term is
  // applied here (no other node can write one since).
  absl::StatusOr<RangeResult> rest =
      etcd_->Range(LogKey(log_->HeadPosition() + 1), PrefixEnd(log_prefix_),
                   RangeOptions{.limit = 1, .keys_only = true});
  if (!rest.ok() || !rest->kvs.empty()) return;  // the follow loop applies
  MutexLock lock(&mu_);
  if (term_ != term || stopping_) return;
  if (!apply_error_.ok()) return;
  sequencing_ = true;
  changed_.SignalAll();
  spdlog::info("cluster: node {} is the sequencer from position {}",
               options_.node_id, log_->HeadPosition() + 1);
}

void ClusterNode::ReportApplied() {
  if (log_->HeadPosition() == reported_) return;
  // Only what is on this node's disk: etcd deletes what every node reports.
  absl::StatusOr<uint64_t> synced = log_->SyncedHead();
  if (!synced.ok()) return;
  const uint64_t head = *synced;
  if (head == reported_) return;
  if (etcd_->Put(applied_prefix_ + options_.node_id,
                 absl::StrCat(head, " ", advertise_))
          .ok()) {
    reported_ = head;
  }
}

namespace {

// applied/<node> values: "<position> <peer address>".
std::optional<std::pair<uint64_t, std::string>> ParseApplied(
    absl::string_view value) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(value, absl::MaxSplits(' ', 1));
  uint64_t position = 0;
  if (!absl::SimpleAtoi(parts.first, &position)) return std::nullopt;
  return std::make_pair(position, std::string(parts.second));
}

}  // namespace

void ClusterNode::CompactEtcd() {
  absl::StatusOr<RangeResult> applied =
      etcd_->Range(applied_prefix_, PrefixEnd(applied_prefix_), {});
  if (!applied.ok()) return;
  const uint64_t committed = committed_position();
  const uint64_t floor =
      committed > options_.retain_events ? committed - options_.retain_events
                                         : 0;
  // Every node applies whole groups, so each applied position (and their
  // minimum) ends a group: the groups starting at or before it end there too.
  // This node's own bound is what it has synced.
  absl::StatusOr<uint64_t> synced = log_->SyncedHead();
  if (!synced.ok()) return;
  uint64_t bound = *synced;
  for (const KeyValue& kv : applied->kvs) {
    std::optional<std::pair<uint64_t, std::string>> a = ParseApplied(kv.value);
    if (a.has_value() && a->first >= floor) bound = std::min(bound, a->first);
  }
  if (bound == 0) return;
  absl::StatusOr<DeleteResult> deleted =
      etcd_->DeleteRange(log_prefix_, LogKey(bound + 1));
  if (!deleted.ok() || deleted->deleted == 0) return;
  // The deleted groups' history too, so that etcd's size stays bounded.
  etcd_->Compact(deleted->revision, /*physical=*/false).IgnoreError();
  spdlog::debug("cluster: deleted {} groups up to position {} from etcd",
                deleted->deleted, bound);
}

absl::StatusOr<uint64_t> ClusterNode::ReadCommitted() {
  absl::StatusOr<RangeResult> committed =
      etcd_->Range(committed_key_, "", RangeOptions{});
  if (!committed.ok()) return committed.status();
  if (committed->kvs.empty()) return 0;
  std::optional<uint64_t> head = CommittedPosition(committed->kvs[0].value);
  if (!head.has_value()) {
    return absl::DataLossError(
        absl::StrCat("etcd key ", committed_key_, " holds no position"));
  }
  return *head;
}

absl::StatusOr<std::optional<std::string>> ClusterNode::PeerToCatchUpFrom(
    uint64_t local_head) {
  absl::StatusOr<RangeResult> oldest =
      etcd_->Range(log_prefix_, PrefixEnd(log_prefix_),
                   RangeOptions{.limit = 1, .keys_only = true});
  if (!oldest.ok()) return oldest.status();
  absl::StatusOr<uint64_t> committed = ReadCommitted();
  if (!committed.ok()) return committed.status();
  const uint64_t head = *committed;
  uint64_t first = head + 1;  // no group: everything up to head is deleted
  if (!oldest->kvs.empty()) {
    const std::string& key = oldest->kvs[0].key;
    if (!absl::SimpleAtoi(absl::string_view(key).substr(log_prefix_.size()),
                          &first)) {
      return absl::DataLossError(absl::StrCat("etcd key ", key,
                                              " names no position"));
    }
  }
  if (local_head + 1 >= first || local_head >= head) return std::nullopt;
  absl::StatusOr<RangeResult> applied =
      etcd_->Range(applied_prefix_, PrefixEnd(applied_prefix_), {});
  if (!applied.ok()) return applied.status();
  std::optional<std::pair<uint64_t, std::string>> best;
  for (const KeyValue& kv : applied->kvs) {
    if (kv.key == applied_prefix_ + options_.node_id) continue;
    std::optional<std::pair<uint64_t, std::string>> a = ParseApplied(kv.value);
    if (a.has_value() && !a->second.empty() &&
        (!best.has_value() || a->first > best->first)) {
      best = a;
    }
  }
  if (!best.has_value() || best->first + 1 < first) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this node's log ends at position ", local_head,
        " but etcd holds the cluster's log only from position ", first,
        ", and no other node has reported enough of it to send a backup; "
        "start the other nodes first"));
  }
  return best->second;
}

void ClusterNode::SetSequencer(std::optional<SequencerInfo> sequencer) {
  MutexLock lock(&mu_);
  if (sequencer.has_value() && lease_ != 0 && sequencer->lease == lease_) {
    // The key is this node's, held by its live lease: its term, even when a
    // read from before the election said there was none.
    term_ = sequencer->term;
  } else if (term_ != 0) {
    term_ = 0;
    StepDown("its sequencer key is gone");
  }
  sequencer_ = std::move(sequencer);
  changed_.SignalAll();
}

void ClusterNode::FollowLoop() {
  while (true) {
    const absl::Status s = FollowOnce();
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (!s.ok()) {
      spdlog::debug("cluster: node {} follows etcd again: {}",
                    options_.node_id, s.ToString());
    }
    if (!Sleep(kRetryDelay)) return;
  }
}

absl::Status ClusterNode::FollowOnce() {
  absl::StatusOr<RangeResult> seq =
      etcd_->Range(sequencer_key_, "", RangeOptions{});
  if (!seq.ok()) return seq.status();
  SetSequencer(seq->kvs.empty() ? std::nullopt : ParseSequencer(seq->kvs[0]));
  const int64_t revision = seq->revision;
  std::string from = LogKey(log_->HeadPosition() + 1);
  while (true) {
    absl::StatusOr<RangeResult> page =
        etcd_->Range(from, PrefixEnd(log_prefix_),
                     RangeOptions{.limit = kGroupsPerRange,
                                  .revision = revision});
    if (!page.ok()) return page.status();
    for (const KeyValue& kv : page->kvs) {
      if (!Apply(kv)) return absl::AbortedError("applying paused");
    }
    if (!page->more || page->kvs.empty()) break;
    from = page->kvs.back().key + '\0';
  }
  absl::StatusOr<std::unique_ptr<Watch>> watch =
      etcd_->WatchPrefix(prefix_, revision + 1);
  if (!watch.ok()) return watch.status();
  Watch* w = watch->get();
  {
    MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    watch_ = *std::move(watch);
  }
  absl::Status result;
  while (true) {
    absl::StatusOr<WatchBatch> batch = w->Next(absl::Now() + kWatchPoll);
    if (!batch.ok()) {
      if (batch.status().code() == absl::StatusCode::kDeadlineExceeded) {
        MutexLock lock(&mu_);
        if (stopping_) break;
        continue;
      }
      result = batch.status();
      break;
    }
    bool paused = false;
    for (const WatchEvent& e : batch->events) {
      if (e.kv.key == sequencer_key_) {
        SetSequencer(e.type == WatchEvent::Type::kPut ? ParseSequencer(e.kv)
                                                      : std::nullopt);
      } else if (e.type == WatchEvent::Type::kPut &&
                 absl::StartsWith(e.kv.key, log_prefix_)) {
        if (!Apply(e.kv)) {
          paused = true;
          break;
        }
      }
    }
    if (paused) {
      result = absl::AbortedError("applying paused");
      break;
    }
  }
  MutexLock lock(&mu_);
  watch_.reset();
  return result;
}

bool ClusterNode::Apply(const KeyValue& kv) {
  absl::StatusOr<eventstore::ReplicatedGroup> group =
      eventstore::DecodeReplicatedGroup(kv.value);
  absl::Status s = group.ok() ? log_->ApplyReplicated(*group) : group.status();
  MutexLock lock(&mu_);
  if (group.ok()) committed_ = std::max(committed_, group->last_position());
  if (s.ok()) {
    apply_error_ = absl::OkStatus();
    return true;
  }
  if (s.code() == absl::StatusCode::kDataLoss ||
      s.code() == absl::StatusCode::kFailedPrecondition) {
    if (apply_error_.ok()) {
      spdlog::error("cluster: node {} cannot apply {}: {}", options_.node_id,
                    kv.key, s.ToString());
    }
    StepDown(s.message());
  }
  apply_error_ = std::move(s);
  return false;
}

}  // namespace caseline::cluster
