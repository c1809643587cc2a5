#include "tests/etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "cluster/etcd_client.h"

namespace caseline::testing {
namespace {

// Ports the kernel picks as free on 127.0.0.1: bound all at once (so they
// differ), then released for etcd to bind. Another process could take one
// in between; on loopback in a test run that is rare, and Start fails
// clearly when it happens.
absl::StatusOr<std::vector<int>> FreePorts(int count) {
  std::vector<int> fds;
  std::vector<int> ports;
  absl::Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      status = absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = absl::InternalError(
          absl::StrCat("bind 127.0.0.1:0: ", strerror(errno)));
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  if (!status.ok()) return status;
  return ports;
}

std::string PeerUrl(int port) {
  return absl::StrCat("http://127.0.0.1:", port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(
    const EtcdClusterOptions& options) {
  if (options.members != 1 && options.members != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EtcdClusterOptions.members is ", options.members, "; use 1 or 3"));
  }
  if (access(options.etcd_binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.etcd_binary,
                     " is not an executable: install Debian's etcd-server "
                     "(deploy/install_deps.sh)"));
  }
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster(options));

  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                   "/caseline-etcd-",
                   std::string(6, 'X'));  // mkdtemp's template suffix
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp ", pattern, ": ", strerror(errno)));
  }
  cluster->root_dir_ = pattern;
  cluster->token_ = absl::StrCat(
      "caseline-test-", std::filesystem::path(pattern).filename().string());

  ASSIGN_OR_RETURN(std::vector<int> ports, FreePorts(2 * options.members));
  std::vector<std::string> peers;
  for (int i = 0; i < options.members; ++i) {
    Member member;
    member.name = absl::StrCat("m", i);
    member.data_dir = absl::StrCat(cluster->root_dir_, "/", member.name);
    member.client_port = ports[static_cast<size_t>(2 * i)];
    member.peer_port = ports[static_cast<size_t>(2 * i + 1)];
    peers.push_back(
        absl::StrCat(member.name, "=", PeerUrl(member.peer_port)));
    cluster->members_.push_back(std::move(member));
  }
  cluster->initial_cluster_ = absl::StrJoin(peers, ",");

  std::vector<int> all;
  for (int i = 0; i < options.members; ++i) {
    RETURN_IF_ERROR(cluster->Launch(i));
    all.push_back(i);
  }
  RETURN_IF_ERROR(cluster->WaitHealthy(all));
  return cluster;
}

EtcdCluster::~EtcdCluster() {
  for (Member& member : members_) {
    if (member.pid > 0) {
      kill(member.pid, SIGKILL);
      waitpid(member.pid, nullptr, 0);
      member.pid = -1;
    }
  }
  if (!root_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(root_dir_, ignored);
  }
}

std::vector<std::string> EtcdCluster::ClientEndpoints() const {
  std::vector<std::string> out;
  out.reserve(members_.size());
  for (int i = 0; i < size(); ++i) out.push_back(ClientEndpoint(i));
  return out;
}

std::string EtcdCluster::ClientEndpoint(int member) const {
  return absl::StrCat("127.0.0.1:", members_[member].client_port);
}

int EtcdCluster::MemberOf(const std::string& endpoint) const {
  for (int i = 0; i < size(); ++i) {
    if (ClientEndpoint(i) == endpoint) return i;
  }
  return -1;
}

bool EtcdCluster::running(int member) const {
  return members_[member].pid > 0;
}

absl::Status EtcdCluster::Kill(int member) {
  Member& m = members_[member];
  if (m.pid <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd member ", m.name, " is not running"));
  }
  kill(m.pid, SIGKILL);
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
  return absl::OkStatus();
}

absl::Status EtcdCluster::Restart(int member) {
  if (members_[member].pid > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "etcd member ", members_[member].name, " is running; Kill it first"));
  }
  RETURN_IF_ERROR(Launch(member));
  return WaitHealthy({member});
}

absl::Status EtcdCluster::Launch(int member) {
  Member& m = members_[member];
  const std::string client_url = PeerUrl(m.client_port);
  const std::string peer_url = PeerUrl(m.peer_port);
  // On a restart the data directory already holds the membership and
  // etcd ignores --initial-cluster*.
  const std::vector<std::string> args = {
      options_.etcd_binary,
      "--name", m.name,
      "--data-dir", m.data_dir,
      "--listen-client-urls", client_url,
      "--advertise-client-urls", client_url,
      "--listen-peer-urls", peer_url,
      "--initial-advertise-peer-urls", peer_url,
      "--initial-cluster", initial_cluster_,
      "--initial-cluster-state", "new",
      "--initial-cluster-token", token_,
      "--heartbeat-interval", "50",
      "--election-timeout", "500",
      "--pre-vote",
      "--logger", "zap",
      "--log-outputs", "stderr",
  };
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  const std::string log_path = absl::StrCat(root_dir_, "/", m.name, ".log");

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // The child of a multi-threaded process: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // The parent died already.
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null = open("/dev/null", O_RDONLY);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    if (null >= 0) dup2(null, STDIN_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  m.pid = pid;
  return absl::OkStatus();
}

absl::Status EtcdCluster::WaitHealthy(const std::vector<int>& members) {
  const absl::Time deadline = absl::Now() + options_.healthy_timeout;
  for (int i : members) {
    cluster::EtcdClientOptions client_options;
    client_options.endpoints = {ClientEndpoint(i)};
    client_options.rpc_timeout = absl::Seconds(1);
    ASSIGN_OR_RETURN(std::unique_ptr<cluster::EtcdClient> client,
                     cluster::EtcdClient::Create(client_options));
    absl::Status last;
    while (true) {
      // A linearizable read through this member: it has a leader and the
      // leader has a quorum.
      absl::StatusOr<cluster::RangeResult> read =
          client->Range("caseline-etcd-cluster-health", "", {});
      if (read.ok()) break;
      last = read.status();
      int wstatus = 0;
      if (waitpid(members_[i].pid, &wstatus, WNOHANG) == members_[i].pid) {
        members_[i].pid = -1;
        return absl::InternalError(absl::StrCat(
            "etcd member ", members_[i].name, " exited (status ", wstatus,
            ") before it was healthy; its log ends:\n", LogTail(i)));
      }
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "etcd member ", members_[i].name, " not healthy within ",
            absl::FormatDuration(options_.healthy_timeout), " (",
            last.ToString(), "); its log ends:\n", LogTail(i)));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return absl::OkStatus();
}

std::string EtcdCluster::LogTail(int member) const {
  std::ifstream in(absl::StrCat(root_dir_, "/", members_[member].name, ".log"));
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  constexpr size_t kTail = 3000;
  return all.size() > kTail ? all.substr(all.size() - kTail) : all;
}

}  // namespace caseline::testing
