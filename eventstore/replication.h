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
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace caseline::eventstore {

// One group commit of the sequencer's writer: the stored envelopes
// (docs/log_format.md "Envelope", the values of the 'e' keys) of every event
// it wrote together, in position order from first_position.
struct ReplicatedGroup {
  uint64_t first_position = 0;
  std::vector<std::string> envelopes;

  uint64_t last_position() const {
    return first_position + envelopes.size() - 1;
  }
};

// docs/cluster.md "A group": u8 version (1), u64 first_position, u32 count,
// then each envelope as a u32-length-prefixed string; big-endian.
std::string EncodeReplicatedGroup(const ReplicatedGroup& group);
// DATA_LOSS for a truncated value, trailing bytes, an unknown version or an
// empty group. The envelopes themselves are checked when applied.
absl::StatusOr<ReplicatedGroup> DecodeReplicatedGroup(absl::string_view value);

// Where the sequencer's writer sends each group before writing it locally.
// Called only on the log's writer thread, one group at a time.
class Replicator {
 public:
  virtual ~Replicator() = default;

  // OK: the group is committed (durable on a quorum); the log then writes it
  // locally and acknowledges its appends. Any other status: the log writes
  // nothing, answers every append of the group with that status (so it
  // should say whether the group may have been stored and what to do, e.g.
  // UNAVAILABLE "retry with the same event ids"), and decides the next group
  // as if this one had never been. When the group may nevertheless have been
  // committed, the replicator must apply it through ApplyReplicated before
  // it returns OK for any later group.
  virtual absl::Status Replicate(const ReplicatedGroup& group) = 0;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_REPLICATION_H_
