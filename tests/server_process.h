// Helpers for tests against real caselined processes (crash_test,
// backup_e2e_test, full_disk_test): a caselined child on a port-0 loopback
// listener, other programs run to completion, appender threads that retry
// each append until it is acknowledged, and a check of the whole log against
// what was acknowledged.
//
// The including target defines CASELINED_PATH (the caselined binary).
#ifndef CASELINE_TESTS_SERVER_PROCESS_H_
#define CASELINE_TESTS_SERVER_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "base/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

extern char** environ;

namespace caseline::testing {

// The whole of a file, or its last `max_bytes`.
inline std::string FileText(const std::string& path,
                            size_t max_bytes = std::string::npos) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes)
                                 : text;
}

// Starts `args[0]` with `args`, its stdout and stderr appended to the files
// `out` and `err` (unless empty). Returns the pid, or -1.
inline pid_t SpawnProgram(const std::vector<std::string>& args,
                          const std::string& out, const std::string& err) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!out.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (!err.empty()) {
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr,
                                  argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(spawned, 0) << "cannot start " << args[0];
  return spawned == 0 ? pid : -1;
}

// What a program run to completion did.
struct ProgramResult {
  int exit_code = -1;  // -1: killed by a signal, or did not finish in time
  std::string out;
  std::string err;
};

// Runs `args` to completion (killing it after `timeout`), capturing its
// output through files named `scratch_prefix` + ".out" / ".err".
inline ProgramResult RunProgram(const std::vector<std::string>& args,
                                const std::string& scratch_prefix,
                                absl::Duration timeout = absl::Seconds(120)) {
  const std::string out = scratch_prefix + ".out";
  const std::string err = scratch_prefix + ".err";
  std::remove(out.c_str());
  std::remove(err.c_str());
  ProgramResult result;
  const pid_t pid = SpawnProgram(args, out, err);
  if (pid < 0) return result;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (absl::Now() > deadline) {
      ADD_FAILURE() << args[0] << " did not finish within " << timeout;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = FileText(out);
  result.err = FileText(err);
  return result;
}

// A caselined child process on a port-0 loopback listener over `data_dir`,
// with `extra_args` (e.g. --restore_from; --log_level=warn unless they set
// it). Its stderr goes to files_prefix + ".log", its stdout to files_prefix
// + ".out", and it writes its address to files_prefix + ".addr"; an empty
// files_prefix means data_dir.
class ServerProcess {
 public:
  // How long a start may take to serve. A normal build starts in well under
  // a second; under the sanitizers (tests/run_sanitizers.sh) opening RocksDB,
  // replaying the WAL and catching the projections up is ten to fifty times
  // slower, and the other tests share the CPUs.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  static constexpr absl::Duration kStartTimeout = absl::Seconds(120);
#else
  static constexpr absl::Duration kStartTimeout = absl::Seconds(30);
#endif

  explicit ServerProcess(std::string data_dir,
                         std::vector<std::string> extra_args = {},
                         std::string files_prefix = "")
      : data_dir_(std::move(data_dir)),
        extra_args_(std::move(extra_args)),
        files_(files_prefix.empty() ? data_dir_ : std::move(files_prefix)) {}
  ~ServerProcess() {
    Kill();
    CheckLogForSanitizerReports();
  }

  // Starts caselined and waits until it has written its address.
  std::string Start() {
    Spawn();
    const std::string address_file = files_ + ".addr";
    const absl::Time deadline = absl::Now() + kStartTimeout;
    while (absl::Now() < deadline) {
      std::ifstream in(address_file);
      std::string address;
      if (in >> address) return address;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "caselined exited (wait status " << status
                      << ") instead of starting; its log ends with:\n"
                      << LogTail();
        return "";
      }
      absl::SleepFor(absl::Milliseconds(25));
    }
    ADD_FAILURE() << "caselined did not start within " << kStartTimeout
                  << "; its log ends with:\n"
                  << LogTail();
    return "";
  }

  // Starts caselined without waiting for it to serve.
  void Spawn() {
    const std::string address_file = files_ + ".addr";
    std::remove(address_file.c_str());
    std::vector<std::string> args = {
        CASELINED_PATH, "--data_dir=" + data_dir_, "--listen=127.0.0.1:0",
        "--listen_address_file=" + address_file};
    if (std::none_of(extra_args_.begin(), extra_args_.end(),
                     [](const std::string& arg) {
                       return arg.rfind("--log_level", 0) == 0;
                     })) {
      args.push_back("--log_level=warn");
    }
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = SpawnProgram(args, files_ + ".out", files_ + ".log");
  }

  // Waits for a caselined that is expected to stop by itself (a refused
  // start, --restore_only). Returns its exit code, or -1 when it was killed
  // by a signal or had to be killed after `timeout`.
  int WaitForExit(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) != pid_) {
      if (absl::Now() > deadline) {
        ADD_FAILURE() << "caselined did not exit within " << timeout;
        Kill();
        return -1;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Stops caselined with SIGTERM (a graceful shutdown) and reaps it. Returns
  // its exit code, or -1 when it was not running or a signal ended it.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Whether caselined is still running. One that died on its own (an abort,
  // a sanitizer report) fails the test, with its log.
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
    ADD_FAILURE() << "caselined died on its own (wait status " << status
                  << "); its log ends with:\n"
                  << LogTail();
    pid_ = -1;
    return false;
  }

  // SIGKILLs caselined and reaps it. A caselined that already died on its
  // own (an abort, a sanitizer report) fails the test.
  void Kill() {
    if (pid_ <= 0) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      ADD_FAILURE() << "caselined died on its own (wait status " << status
                    << "); its log ends with:\n"
                    << LogTail();
    } else {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  // The last few KiB of caselined's stderr.
  std::string LogTail() const { return FileText(files_ + ".log", 4096); }
  // Everything caselined printed on stderr (its log) and on stdout.
  std::string Log() const { return FileText(files_ + ".log"); }
  std::string Stdout() const { return FileText(files_ + ".out"); }

 private:
  // A sanitizer build of caselined reports to its stderr, which is the log;
  // a report fails the test even though SIGKILL, not an exit, ended the
  // process (so the sanitizer's exit code never shows).
  void CheckLogForSanitizerReports() const {
    const std::string text = FileText(files_ + ".log");
    for (const char* marker : {"Sanitizer:", "runtime error:"}) {
      const size_t at = text.find(marker);
      if (at == std::string::npos) continue;
      const size_t from = text.rfind('\n', at);
      ADD_FAILURE() << "caselined reported \"" << marker << "\":\n"
                    << text.substr(from == std::string::npos ? 0 : from + 1,
                                   8192);
      return;
    }
  }

  const std::string data_dir_;
  const std::vector<std::string> extra_args_;
  const std::string files_;  // prefix of the .log, .out and .addr files
  pid_t pid_ = -1;
};

// The address appenders should use; changes on every restart.
class Endpoint {
 public:
  void Set(std::string address) {
    MutexLock lock(&mu_);
    address_ = std::move(address);
    generation_++;
  }
  std::string address() {
    MutexLock lock(&mu_);
    return address_;
  }
  // A stub for the current address, re-made when it changed.
  v1::EventLog::Stub* Get(std::unique_ptr<v1::EventLog::Stub>* stub,
                          int* seen) {
    MutexLock lock(&mu_);
    if (*seen != generation_ || *stub == nullptr) {
      *stub = v1::EventLog::NewStub(
          grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
      *seen = generation_;
    }
    return stub->get();
  }

 private:
  Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Acknowledged {
  uint64_t position;
  std::string stream_id;
  uint64_t stream_version;
};

// Appender threads against `endpoint`: each appends 1-3 events with fixed ids
// to one of four streams named `stream_prefix` + 0..3, and retries the same
// request until it is acknowledged (a retry after a crash is answered with the
// original positions if the first try was stored).
class Appenders {
 public:
  Appenders(Endpoint* endpoint, std::string stream_prefix, int threads)
      : endpoint_(endpoint), stream_prefix_(std::move(stream_prefix)) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, t] { Run(t); });
    }
  }
  ~Appenders() { Stop(); }

  // Stops and joins the threads: each finishes its call in flight, so an
  // append not acknowledged by then may or may not be stored.
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  // Event id -> where its append put it. REQUIRES: Stop() returned.
  const absl::flat_hash_map<std::string, Acknowledged>& acked() const {
    return acked_;
  }
  int retries() const { return retries_; }
  // The highest position acknowledged so far (0: none). Thread-safe.
  // How many events have been acknowledged so far.
  size_t acked_count() {
    MutexLock lock(&mu_);
    return acked_.size();
  }
  uint64_t max_acked_position() {
    MutexLock lock(&mu_);
    return max_acked_position_;
  }

 private:
  void Run(int t) {
    std::mt19937 rng(t);
    std::unique_ptr<v1::EventLog::Stub> stub;
    int seen = -1;
    for (int i = 0; !stop_; ++i) {
      v1::AppendRequest request;
      request.set_stream_id(absl::StrCat(stream_prefix_, t % 4));
      const int n = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < n; ++j) {
        v1::EventData* e = request.add_events();
        char id[37];
        std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012x", t,
                      i * 4 + j);
        e->set_event_id(id);
        e->set_event_type("CrashTested");
        e->set_content_type("application/json");
        e->set_payload(
            absl::StrCat("{\"t\":", t, ",\"i\":", i, ",\"j\":", j, "}"));
      }
      // Retry the same request until acknowledged (or the test ends).
      while (true) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(2));
        context.set_wait_for_ready(true);
        v1::AppendResponse response;
        grpc::Status s =
            endpoint_->Get(&stub, &seen)->Append(&context, request, &response);
        if (s.ok()) {
          MutexLock lock(&mu_);
          for (int j = 0; j < n; ++j) {
            acked_[request.events(j).event_id()] = {
                response.first_global_position() + j, request.stream_id(),
                response.first_stream_version() + j};
          }
          max_acked_position_ = std::max(max_acked_position_,
                                         response.last_global_position());
          break;
        }
        ASSERT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                    s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                    s.error_code() == grpc::StatusCode::CANCELLED)
            << s.error_code() << ": " << s.error_message();
        retries_++;
        if (stop_) return;
      }
    }
  }

  Endpoint* const endpoint_;
  const std::string stream_prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int> retries_{0};
  Mutex mu_;
  absl::flat_hash_map<std::string, Acknowledged> acked_;  // guarded by mu_
                                                          // until Stop()
  uint64_t max_acked_position_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

// Reads the whole log over `stub` and checks it: positions 1..head without a
// gap, each event id once, each stream's versions 0, 1, ... in log order,
// every acknowledged event at its acknowledged position and version, and a
// chain that verifies. Returns the number of events stored.
inline size_t CheckLog(v1::EventLog::Stub* stub,
                const absl::flat_hash_map<std::string, Acknowledged>& acked) {
  // Event id -> its position and stream version.
  absl::flat_hash_map<std::string, std::pair<uint64_t, uint64_t>> found;
  absl::flat_hash_map<std::string, uint64_t> next_version;  // per stream
  v1::ReadAllRequest read;
  read.set_max_count(1000);
  uint64_t expected_position = 1;
  while (true) {
    grpc::ClientContext context;
    v1::ReadAllResponse page;
    const grpc::Status s = stub->ReadAll(&context, read, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return found.size();
    for (const v1::Event& e : page.events()) {
      EXPECT_EQ(e.global_position(), expected_position++)
          << "gap or reordering";
      EXPECT_EQ(e.stream_version(), next_version[e.stream_id()]++)
          << "stream " << e.stream_id() << " at " << e.global_position();
      EXPECT_TRUE(found
                      .emplace(e.event_id(), std::pair(e.global_position(),
                                                       e.stream_version()))
                      .second)
          << "event " << e.event_id() << " stored twice";
    }
    if (page.end_of_log()) break;
    read.set_from_position(page.next_position());
  }
  for (const auto& [id, where] : acked) {
    auto it = found.find(id);
    EXPECT_NE(it, found.end()) << "acknowledged event " << id << " was lost";
    if (it == found.end()) continue;
    EXPECT_EQ(it->second.first, where.position) << id;
    EXPECT_EQ(it->second.second, where.stream_version) << id;
  }
  grpc::ClientContext verify_context;
  v1::VerifyChainResponse verify;
  EXPECT_TRUE(
      stub->VerifyChain(&verify_context, v1::VerifyChainRequest(), &verify)
          .ok());
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_EQ(verify.events_checked(), found.size());
  return found.size();
}

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_SERVER_PROCESS_H_
