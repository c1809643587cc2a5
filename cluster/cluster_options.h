// How a node joins a Caseline cluster (docs/cluster.md "Flags").
#ifndef CASELINE_CLUSTER_CLUSTER_OPTIONS_H_
#define CASELINE_CLUSTER_CLUSTER_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace caseline::cluster {

struct ClusterOptions {
  // etcd members, "host:port" each. Empty: not a cluster (a single node).
  std::vector<std::string> etcd_endpoints;
  // This node's id, unique in the cluster: letters, digits, '-', '_', '.'.
  std::string node_id;
  // The etcd key prefix is /caseline/<cluster_name>/. Default: caseline.
  std::string cluster_name = "caseline";
  // host:port the peer channel listens on (port 0: a free port).
  std::string peer_listen;
  // host:port the other nodes reach the peer channel at. Empty: peer_listen
  // (with the port it got).
  std::string advertise;
  // PEM: when set, the peer channel uses TLS both ways with these (the
  // server's certificate and key, and the CA that signed every node's);
  // otherwise peer_listen and advertise must be loopback addresses.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_ca_pem;
  // Without TLS, allow peer addresses that are not loopback (a private test
  // network: tests/cluster/jepsen.py). Set from --insecure_non_loopback.
  bool insecure_non_loopback = false;
  // The sequencer's etcd lease: another node takes over at most this long
  // after the sequencer stops renewing it. Default: 2 s.
  absl::Duration lease_ttl = absl::Seconds(2);
  // Deadline of each etcd request. Default: 2 s.
  absl::Duration etcd_timeout = absl::Seconds(2);
  // How long a write received by a node may wait for a sequencer (an
  // election, a forwarded call) before it is answered UNAVAILABLE.
  // Default: 10 s.
  absl::Duration write_timeout = absl::Seconds(10);
  // How often the sequencer deletes from etcd the groups every node has
  // applied (docs/cluster.md "Compaction"). Default: 10 s.
  absl::Duration compaction_interval = absl::Seconds(10);
  // A node further behind the committed head than this many events is not
  // waited for: its groups are deleted, and it catches up from a peer's
  // backup when it (re)starts. Default: 1,000,000.
  uint64_t retain_events = 1000000;
  // Health says NOT_SERVING while this node has applied more than this many
  // events fewer than etcd holds (--cluster_max_lag). Default: 10,000.
  uint64_t max_lag_events = 10000;
  // How many groups the sequencer may have sent to etcd and not yet seen
  // committed (docs/cluster.md "Groups in flight"; --cluster_groups_in_flight).
  // 1 to 64. Default: 1, which measured fastest here (docs/cluster.md
  // "Performance").
  int max_groups_in_flight = 1;

  bool enabled() const { return !etcd_endpoints.empty(); }
};

// INVALID_ARGUMENT naming the flag (--cluster_*) for a missing node id or
// peer address, a malformed id, a non-positive duration, or a non-loopback
// peer address without TLS.
absl::Status ValidateClusterOptions(const ClusterOptions& options);

}  // namespace caseline::cluster

#endif  // CASELINE_CLUSTER_CLUSTER_OPTIONS_H_
