// Replication of the log's groups to other nodes (docs/cluster.md).
//
// In cluster mode one node's writer (the sequencer) decides every append as a
// single node does, then hands each group commit to a Replicator before
// writing it locally; the other nodes apply the same group with
// EventLog::ApplyReplicated. The log itself knows nothing of etcd: cluster/
// implements Replicator and carries ReplicatedGroup's encoding.
#ifndef CASELINE_EVENTSTORE_REPLICATION_H_
#define CASELINE_EVENTSTORE_REPLICATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace caseline::eventstore {

// A data-key record the sequencer's writer put in a group's batch
// (docs/log_format.md "Encrypted payloads": the value of the stream's 'k'
// key): a new stream's wrapped key, or the erased-key record of an erasure.
struct DataKeyUpdate {
  std::string stream_id;
  std::string record;  // an encoded DataKeyRecord

  bool operator==(const DataKeyUpdate& other) const {
    return stream_id == other.stream_id && record == other.record;
  }
};

// One group commit of the sequencer's writer: the stored envelopes
// (docs/log_format.md "Envelope", the values of the 'e' keys) of every event
// it wrote together, in position order from first_position, and the
// data-key records it wrote in the same batch, in the order written.
struct ReplicatedGroup {
  uint64_t first_position = 0;
  std::vector<std::string> envelopes;
  std::vector<DataKeyUpdate> data_keys;

  uint64_t last_position() const {
    return first_position + envelopes.size() - 1;
  }
};

// docs/cluster.md "A group": u8 version, u64 first_position, u32 count,
// then each envelope as a u32-length-prefixed string; version 2 then adds
// u32 data-key count and each data key as a u32-length-prefixed stream id
// and a u32-length-prefixed record; big-endian. Version 1 when the group has
// no data keys (what a node of an older release reads), else version 2.
std::string EncodeReplicatedGroup(const ReplicatedGroup& group);
// Reads versions 1 and 2. DATA_LOSS for a truncated value, trailing bytes,
// an unknown version, an empty group, or a data key with an empty stream
// id. The envelopes and records themselves are checked
// when applied.
absl::StatusOr<ReplicatedGroup> DecodeReplicatedGroup(absl::string_view value);

// Where the sequencer's writer sends each group before writing it locally.
//
// The writer may keep up to max_groups_in_flight() groups handed over and
// not yet answered (docs/cluster.md "Groups in flight"): it decides group
// N+1 on top of group N while N commits. Groups are handed over on the log's
// writer thread, in position order, each starting right after the one
// before. The replicator must never commit a group unless every group handed
// over before it is committed (the cluster fences each group on its
// predecessor), so that the committed log has no holes.
class Replicator {
 public:
  using Done = std::function<void(absl::Status)>;

  virtual ~Replicator() = default;

  // At least 1. 1 means: decide the next group only once this one is
  // answered.
  virtual int max_groups_in_flight() const { return 1; }

  // Calls `done` exactly once, on any thread (possibly inside this call),
  // and without holding a lock `done` could need. OK: the group is committed
  // (durable on a quorum); the log then writes it locally and acknowledges
  // its appends, in position order. Any other status: the log writes
  // nothing of this group or of any group handed over after it, answers
  // every append of them with that status (so it should say whether the
  // group may have been stored and what to do, e.g. UNAVAILABLE "retry with
  // the same event ids"), and decides the next group as if none of them had
  // been. When a group may nevertheless have been committed, the replicator
  // must apply it through ApplyReplicated before it commits any later group;
  // the log applies a replicated group only once no group is in flight.
  virtual void Replicate(ReplicatedGroup group, Done done) = 0;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_REPLICATION_H_
