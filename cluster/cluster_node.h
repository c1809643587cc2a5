// ClusterNode: one node's part in the cluster protocol of docs/cluster.md,
// over etcd: the lease and the sequencer election, the fenced write of each
// group (as the log's Replicator), and the follower's apply of every group
// the sequencer committed. Private to cluster/.
#ifndef CASELINE_CLUSTER_CLUSTER_NODE_H_
#define CASELINE_CLUSTER_CLUSTER_NODE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "cluster/cluster_options.h"
#include "cluster/etcd_client.h"
#include "eventstore/event_log.h"
#include "eventstore/replication.h"

namespace caseline::cluster {

// The payload an absl::Status carries when its append was certainly not
// stored (the node is not the sequencer, or its fenced write was refused):
// the write may be sent to the next sequencer as it is.
inline constexpr char kNotStoredPayload[] = "caseline.cluster/not-stored";
bool NotStored(const absl::Status& status);

// The sequencer as its etcd key names it.
struct SequencerInfo {
  std::string node_id;
  std::string address;  // its peer channel
  int64_t term = 0;     // the key's create_revision
  int64_t lease = 0;    // the lease the key is attached to
};

class ClusterNode final : public eventstore::Replicator {
 public:
  ClusterNode(ClusterOptions options, std::unique_ptr<EtcdClient> etcd);
  ~ClusterNode() override;
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Starts following and campaigning over `log`, the local log opened with
  // this node as its replicator. `advertise` is the peer address the
  // sequencer key names. Not owned; must outlive Stop().
  void Start(eventstore::EventLog* log, std::string advertise);
  // Stops the threads and revokes the lease, so that another node is elected
  // at once if this one was the sequencer. Idempotent.
  void Stop();

  // eventstore::Replicator: the fenced etcd write of docs/cluster.md
  // "Fencing", up to options.max_groups_in_flight at a time ("Groups in
  // flight"). Answers UNAVAILABLE with kNotStoredPayload when this node is
  // not the sequencer or the write was refused; UNAVAILABLE without it when
  // etcd did not answer (the group may have been committed).
  int max_groups_in_flight() const override {
    return options_.max_groups_in_flight;
  }
  void Replicate(eventstore::ReplicatedGroup group, Done done) override;

  // Whether this node decides appends now.
  bool sequencing() const;
  // The sequencer as last seen in etcd; nullopt when there is none.
  std::optional<SequencerInfo> sequencer() const;
  // Waits until the sequencer is known, or until `deadline` (or Stop).
  std::optional<SequencerInfo> WaitForSequencer(absl::Time deadline) const;
  // The last position of the newest group seen in etcd.
  uint64_t committed_position() const;
  // OK, or why this node stopped applying groups (DATA_LOSS: a damaged
  // group or a diverged log; FAILED_PRECONDITION: groups it needs are no
  // longer in etcd).
  absl::Status apply_error() const;
  const std::string& node_id() const { return options_.node_id; }

  // The committed position as etcd has it now (a linearizable read of the
  // committed key; 0 when nothing was committed). etcd's codes.
  absl::StatusOr<uint64_t> ReadCommitted();

  // Before Start: whether a log whose head is `local_head` can follow from
  // etcd, or must first restore a peer's backup (docs/cluster.md "Catching
  // up from a peer's backup"): nullopt when it can follow, else the peer
  // address of the node that has applied the most.
  // FAILED_PRECONDITION when it must but no node has reported an address;
  // etcd's codes otherwise.
  absl::StatusOr<std::optional<std::string>> PeerToCatchUpFrom(
      uint64_t local_head);

 private:
  std::string LogKey(uint64_t first_position) const;
  // The lease, the election, and the step from elected to sequencing.
  void ControlLoop();
  void Campaign(int64_t lease) ABSL_LOCKS_EXCLUDED(mu_);
  // Reads the sequencer key and the groups after the local head, then
  // watches the cluster's prefix; again after any break.
  void FollowLoop();
  // One round of FollowLoop: returns when the watch breaks or on Stop.
  absl::Status FollowOnce();
  // Applies one group read from etcd; false when applying must pause.
  bool Apply(const KeyValue& kv) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes applied/<node id> = "<head> <peer address>" when it changed.
  void ReportApplied();
  // The sequencer's compaction: deletes the groups every node within
  // retain_events of the head has applied, and etcd's history before it.
  void CompactEtcd();
  void SetSequencer(std::optional<SequencerInfo> sequencer)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A group handed over by the log, from its transaction until its answer.
  struct SentGroup {
    uint64_t first = 0;
    uint64_t last = 0;
    std::string key;        // log/<first>
    std::string value;      // the encoded group
    std::string committed;  // what its transaction puts in `committed`
    // The `committed` value its predecessor puts; empty for the first group
    // of a run, which is fenced by its own key's absence alone.
    std::string fence;
    int64_t term = 0;
    uint64_t run = 0;  // the run of sequencing it was sent in (run_)
    Done done;
    // Refused because its predecessor had not landed yet: sent again once
    // the predecessor has.
    bool waiting = false;
  };
  void Send(const std::shared_ptr<SentGroup>& sent);
  void OnAnswer(const std::shared_ptr<SentGroup>& sent,
                absl::StatusOr<TxnResult> txn) ABSL_LOCKS_EXCLUDED(mu_);
  // The group of sent's run just before it (after: just after it) among
  // those sent and not yet answered; null when there is none.
  std::shared_ptr<SentGroup> Neighbour(const SentGroup& sent, bool after) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `sent` from sent_.
  void Forget(const std::shared_ptr<SentGroup>& sent)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a refused transaction found everything as `sent` expects
  // except its predecessor's group, not yet committed.
  bool OnlyPredecessorMissing(const TxnResult& txn,
                              const SentGroup& sent) const;
  void StepDown(absl::string_view why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Sleep(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

  const ClusterOptions options_;
  const std::unique_ptr<EtcdClient> etcd_;
  const std::string prefix_;         // /caseline/<name>/
  const std::string sequencer_key_;  // prefix_ + "sequencer"
  const std::string log_prefix_;     // prefix_ + "log/"
  const std::string applied_prefix_;  // prefix_ + "applied/"
  const std::string committed_key_;   // prefix_ + "committed"
  uint64_t reported_ = UINT64_MAX;    // control thread only
  absl::Time last_compaction_ = absl::InfinitePast();  // control thread only
  eventstore::EventLog* log_ = nullptr;
  std::string advertise_;

  mutable Mutex mu_;
  mutable CondVar changed_{&mu_};  // sequencer_, stopping_ or sequencing_
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t lease_ ABSL_GUARDED_BY(mu_) = 0;
  // The create_revision of this node's sequencer key while it holds it.
  int64_t term_ ABSL_GUARDED_BY(mu_) = 0;
  bool sequencing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<SequencerInfo> sequencer_ ABSL_GUARDED_BY(mu_);
  uint64_t committed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status apply_error_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Watch> watch_ ABSL_GUARDED_BY(mu_);
  // Groups sent and not yet answered, in position order.
  std::deque<std::shared_ptr<SentGroup>> sent_ ABSL_GUARDED_BY(mu_);
  // A run of sequencing lasts from becoming the sequencer to the next step
  // down. Within a run each group is fenced on the one before it.
  uint64_t run_ ABSL_GUARDED_BY(mu_) = 0;
  std::string run_committed_ ABSL_GUARDED_BY(mu_);  // the run's last group's
  uint64_t run_next_ ABSL_GUARDED_BY(mu_) = 0;  // the first position after it
  // Transactions sent and not yet answered; Stop waits for them.
  int txns_in_flight_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread control_;
  std::thread follow_;
};

}  // namespace caseline::cluster

#endif  // CASELINE_CLUSTER_CLUSTER_NODE_H_
