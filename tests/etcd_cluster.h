// EtcdCluster: real etcd members (Debian's /usr/bin/etcd) on loopback for
// tests: 1 or 3 members, free ports, temporary data directories, election
// settings fast enough for tests; kill (SIGKILL) and restart a member; all
// of it stopped and removed when the object goes away.
//
// Running etcd by hand the same way (one command line, shown over several
// lines; one member: for three, give each its own --name, ports and data
// dir, and list all three in --initial-cluster):
//
//   etcd --name m0 --data-dir /tmp/etcd-m0
//     --listen-client-urls http://127.0.0.1:2379
//     --advertise-client-urls http://127.0.0.1:2379
//     --listen-peer-urls http://127.0.0.1:2380
//     --initial-advertise-peer-urls http://127.0.0.1:2380
//     --initial-cluster m0=http://127.0.0.1:2380
//     --initial-cluster-state new --initial-cluster-token caseline-dev
//     --heartbeat-interval 50 --election-timeout 500 --pre-vote
//   ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:2379 endpoint status -w table
//
// (--heartbeat-interval 50 --election-timeout 500 elect a new leader within
// about a second of losing one; production keeps etcd's defaults, 100 and
// 1000, or larger across data centres.)
//
// Each member's output goes to <name>.log beside its data directory; when a
// member does not become healthy the error quotes the end of it.
//
// Leaks: the destructor SIGKILLs and reaps every member and deletes the data
// directories, so a failing ASSERT leaks nothing; and every member is started
// with PR_SET_PDEATHSIG, so it dies with the thread that started it even
// when the test process crashes (a killed test process leaves only its
// temporary directory behind). Start and restart members from one thread
// that outlives the cluster (a test's main thread).
//
// Not thread-safe: one thread drives an EtcdCluster.
#ifndef CASELINE_TESTS_ETCD_CLUSTER_H_
#define CASELINE_TESTS_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace caseline::testing {

struct EtcdClusterOptions {
  // 1 or 3. Default: 1.
  int members = 1;
  // Default: Debian's etcd-server.
  std::string etcd_binary = "/usr/bin/etcd";
  // How long Start and Restart wait for the members to be healthy.
  // Default: 30 s.
  absl::Duration healthy_timeout = absl::Seconds(30);
};

class EtcdCluster {
 public:
  // Starts the members and waits until each one serves a linearizable read
  // (so a leader is elected and every member knows it). FAILED_PRECONDITION
  // when the etcd binary is missing (install etcd-server), INVALID_ARGUMENT
  // for a member count other than 1 or 3, DEADLINE_EXCEEDED when the members
  // are not healthy in time (the message quotes their logs).
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(
      const EtcdClusterOptions& options);

  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:port" of every member's client URL, in member order.
  std::vector<std::string> ClientEndpoints() const;
  std::string ClientEndpoint(int member) const;
  // The member whose client endpoint is `endpoint`, or -1.
  int MemberOf(const std::string& endpoint) const;
  bool running(int member) const;

  // SIGKILLs the member and reaps it (its data directory stays).
  // FAILED_PRECONDITION when it is not running.
  absl::Status Kill(int member);

  // Starts a killed member again on its data directory and ports, and waits
  // until it serves a linearizable read. FAILED_PRECONDITION when it is
  // running; DEADLINE_EXCEEDED as Start.
  absl::Status Restart(int member);

 private:
  struct Member {
    std::string name;
    std::string data_dir;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
  };

  explicit EtcdCluster(const EtcdClusterOptions& options) : options_(options) {}
  absl::Status Launch(int member);
  absl::Status WaitHealthy(const std::vector<int>& members);
  std::string LogTail(int member) const;

  const EtcdClusterOptions options_;
  std::string root_dir_;
  std::string initial_cluster_;
  std::string token_;
  std::vector<Member> members_;
};

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_ETCD_CLUSTER_H_
