// The event log of a cluster node (docs/cluster.md): the local RocksDB log,
// kept identical to every other node's through etcd, behind the same
// EventLog face the services use. Reads are local; appends go to the
// sequencer (this node's own writer when it is the sequencer, otherwise
// forwarded over the peer channel) and are answered once committed by an etcd
// quorum and applied here.
#ifndef CASELINE_CLUSTER_CLUSTER_LOG_H_
#define CASELINE_CLUSTER_CLUSTER_LOG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/cluster_options.h"
#include "eventstore/event_log.h"

namespace caseline::cluster {

// What a node reports about its place in the cluster (health, metrics).
struct ClusterStatus {
  std::string node_id;
  bool sequencing = false;
  // The sequencer's node id and peer address; empty when none is known.
  std::string sequencer_id;
  std::string sequencer_address;
  // The newest group's last position seen in etcd, and this node's head.
  uint64_t committed_position = 0;
  uint64_t applied_position = 0;
  // OK, or why this node stopped applying the cluster's log.
  absl::Status apply_error;
  // committed_position - applied_position > ClusterOptions::max_lag_events.
  bool lagging = false;
  // The peer channel's address as the other nodes reach it.
  std::string peer_address;
};

// Why Admin.RotateKeys (and ClusterLog::RewrapDataKeys) is refused in
// cluster mode (docs/cluster.md "Encryption").
inline constexpr char kKeyRotationRefused[] =
    "key rotation is single-node only this release: every node of a cluster "
    "needs the same KEK, and a rotation would add a random new version to "
    "this node's --kek_file alone. Nothing was changed; the cluster keeps "
    "using its current KEK version, with the same --kek_file on every node "
    "(docs/cluster.md \"Encryption\")";

class ClusterLog : public eventstore::EventLog {
 public:
  // Connects to etcd, opens the local log in log_options.data_dir with the
  // cluster's replicator, starts the peer channel, following and the
  // election. Returns before this node has caught up: reads may lag, and
  // writes wait for a sequencer (ClusterOptions::write_timeout).
  // Errors: INVALID_ARGUMENT (ValidateClusterOptions), UNAVAILABLE (the peer
  // channel cannot listen), and EventLog::Open's.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClusterLog>> Open(
      ClusterOptions options, eventstore::EventLogOptions log_options);

  virtual ClusterStatus Status() const = 0;

  // EraseStream (docs/cluster.md "Erasure") is done by the sequencer's log,
  // this node's or forwarded to it over the peer channel as appends are,
  // and sent again to the next sequencer after an UNAVAILABLE, until
  // ClusterOptions::write_timeout; answered once this node has applied the
  // erasure. RewrapDataKeys answers FAILED_PRECONDITION
  // (kKeyRotationRefused).
};

}  // namespace caseline::cluster

#endif  // CASELINE_CLUSTER_CLUSTER_LOG_H_
