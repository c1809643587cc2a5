// Full disk test: a real caselined on a real small filesystem (a tmpfs, and
// an ext4 image on a loop device) filled up under concurrent appends.
// Checks what the README promises for a full disk: the process does not
// crash, appends are refused with RESOURCE_EXHAUSTED saying the disk is
// full, reads continue, nothing acknowledged is lost, appends resume without
// a restart once space is freed, and the projections (whose view store
// shares the disk) catch up. Then, full again: caselined stops cleanly, a
// start on the full disk exits with RESOURCE_EXHAUSTED, and a start once
// space is freed finds every acknowledged event.
//
// Whether the projections' own writes meet the full disk in that run is
// chance (they write little, right after each append): the ViewStore test
// fills a tmpfs with view writes directly, in this process.
//
// The filesystems are mounted in a private mount namespace of this process
// (main() unshares it before any test runs), so nothing is left mounted on
// the host, even after a crash. That needs root: otherwise every test skips
// and says why.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "base/mutex.h"
#include "eventstore/view_store.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/test_util.h"
#include "tests/views_util.h"

namespace caseline {
namespace {

using testing::Acknowledged;
using testing::ServerProcess;

namespace fs = std::filesystem;

// Sanitizer builds (tests/run_sanitizers.sh) run the server ten to fifty
// times slower: every wait below is that much longer there.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSlowdown = 4;
#else
constexpr int kSlowdown = 1;
#endif

constexpr int kAppenders = 6;
constexpr size_t kPayloadBytes = 8 << 10;

// Why the tests cannot mount filesystems, or empty when they can; set by
// main() before any test runs.
std::string& MountSkipReason() {
  static std::string reason;
  return reason;
}

// Moves this process into a mount namespace of its own whose mounts do not
// propagate back to the host's. Must run before any thread starts.
std::string EnterPrivateMountNamespace() {
  if (geteuid() != 0) {
    return "mounting a small filesystem needs root (CI runs as root)";
  }
  if (unshare(CLONE_NEWNS) != 0) {
    return absl::StrCat("unshare(CLONE_NEWNS) failed: ", std::strerror(errno));
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return absl::StrCat("making / private failed: ", std::strerror(errno));
  }
  return "";
}

// The first of the usual system directories holding `program`, or empty.
std::string FindProgram(const std::string& program) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    const std::string path = absl::StrCat(dir, "/", program);
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// Appender threads: each appends 1-2 events of kPayloadBytes with fixed ids
// to a stream of its own and, when refused, retries the same request until
// it is acknowledged. Counts the refusals by kind.
class FullDiskAppenders {
 public:
  FullDiskAppenders(const std::string& address, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, address, t] { Run(address, t); });
    }
  }
  ~FullDiskAppenders() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  size_t acked_count() {
    MutexLock lock(&mu_);
    return acked_.size();
  }
  absl::flat_hash_map<std::string, Acknowledged> acked() {
    MutexLock lock(&mu_);
    return acked_;
  }
  int exhausted() const { return exhausted_.load(); }
  std::string exhausted_message() {
    MutexLock lock(&mu_);
    return exhausted_message_;
  }
  // Refusals other than RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED, one line
  // each (at most a few).
  std::string other_errors() {
    MutexLock lock(&mu_);
    return other_errors_;
  }

 private:
  void Run(const std::string& address, int t) {
    auto stub = v1::EventLog::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    std::mt19937 rng(t);
    for (int i = 0; !stop_; ++i) {
      v1::AppendRequest request;
      request.set_stream_id(absl::StrCat("full-disk-", t));
      const int n = 1 + static_cast<int>(rng() % 2);
      for (int j = 0; j < n; ++j) {
        v1::EventData* e = request.add_events();
        char id[37];
        std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012x", t,
                      i * 2 + j);
        e->set_event_id(id);
        e->set_event_type("DiskFilled");
        e->set_content_type("application/octet-stream");
        // Incompressible, so that table files take as much room as the WAL.
        std::string payload(kPayloadBytes, '\0');
        for (char& c : payload) c = static_cast<char>(rng());
        e->set_payload(std::move(payload));
      }
      while (!stop_) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10 * kSlowdown));
        v1::AppendResponse response;
        const grpc::Status s = stub->Append(&context, request, &response);
        if (s.ok()) {
          MutexLock lock(&mu_);
          for (int j = 0; j < n; ++j) {
            acked_[request.events(j).event_id()] = {
                response.first_global_position() + j, request.stream_id(),
                response.first_stream_version() + j};
          }
          break;
        }
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          if (exhausted_++ == 0) {
            MutexLock lock(&mu_);
            exhausted_message_ = s.error_message();
          }
        } else if (s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
          MutexLock lock(&mu_);
          if (++other_error_count_ <= 5) {
            absl::StrAppend(&other_errors_, s.error_code(), ": ",
                            s.error_message(), "\n");
          }
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> exhausted_{0};
  Mutex mu_;
  absl::flat_hash_map<std::string, Acknowledged> acked_ ABSL_GUARDED_BY(mu_);
  std::string exhausted_message_ ABSL_GUARDED_BY(mu_);
  std::string other_errors_ ABSL_GUARDED_BY(mu_);
  int other_error_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

// Writes `path` until the filesystem has no room left; returns its size.
uint64_t FillDisk(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
  if (fd < 0) return 0;
  uint64_t written = 0;
  // Big chunks first, then small ones for the last bytes.
  for (size_t chunk : {size_t{1} << 20, size_t{4} << 10}) {
    const std::string data(chunk, 'f');
    while (true) {
      const ssize_t n = write(fd, data.data(), data.size());
      if (n <= 0) {
        EXPECT_EQ(errno, ENOSPC) << std::strerror(errno);
        break;
      }
      written += static_cast<uint64_t>(n);
    }
  }
  close(fd);
  return written;
}

// Waits until `done` or `timeout`; returns done().
template <typename Done>
bool WaitFor(Done done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout * kSlowdown;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

class FullDiskTest : public ::testing::Test {
 protected:
  FullDiskTest() : dir_("full_disk"), mount_point_(dir_.path() + "/mnt") {}

  void SetUp() override {
    if (!MountSkipReason().empty()) GTEST_SKIP() << MountSkipReason();
    fs::create_directories(mount_point_);
  }
  void TearDown() override {
    if (mounted_) umount2(mount_point_.c_str(), MNT_DETACH);
  }

  // Starts caselined with its data directory on the mounted filesystem,
  // fills the filesystem under concurrent appends, frees space and checks
  // everything the README promises.
  void FillAndRecover() {
    const std::string data_dir = mount_point_ + "/data";
    const std::string filler = mount_point_ + "/filler";
    // The server's own files (its log, its address) stay off the small disk.
    ServerProcess server(data_dir, {}, dir_.path() + "/caselined");
    const std::string address = server.Start();
    ASSERT_FALSE(address.empty());
    auto channel =
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    auto stub = v1::EventLog::NewStub(channel);

    FullDiskAppenders appenders(address, kAppenders);
    ASSERT_TRUE(WaitFor([&] { return appenders.acked_count() >= 50; },
                        absl::Seconds(20)) &&
                server.Running())
        << "appends did not start; caselined's log ends with:\n"
        << server.LogTail();

    // Fill the disk while the appenders (and the projections behind them)
    // keep writing.
    const uint64_t filler_bytes = FillDisk(filler);
    ASSERT_TRUE(WaitFor(
                    [&] {
                      return appenders.exhausted() >= 3 * kAppenders ||
                             !server.Running();
                    },
                    absl::Seconds(30)) &&
                server.Running())
        << "appends were never refused for lack of space (" << filler_bytes
        << " filler bytes written, " << appenders.acked_count()
        << " events acknowledged); caselined's log ends with:\n"
        << server.LogTail();
    // Stay full for a while: appends keep being refused, the log keeps
    // looking for room to reopen, and the process stays up.
    absl::SleepFor(absl::Seconds(2));
    ASSERT_TRUE(server.Running());
    const std::string message = appenders.exhausted_message();
    EXPECT_TRUE(absl::StrContains(message, "disk full")) << message;
    EXPECT_TRUE(absl::StrContains(message, "Free space")) << message;

    // Reads continue, and hold everything acknowledged so far.
    const absl::flat_hash_map<std::string, Acknowledged> acked_while_full =
        appenders.acked();
    testing::CheckLog(stub.get(), acked_while_full);

    // Free the space: the same caselined takes appends again.
    ASSERT_TRUE(fs::remove(filler));
    const size_t acked_before = acked_while_full.size();
    EXPECT_TRUE(WaitFor(
        [&] {
          return appenders.acked_count() >= acked_before + 100 ||
                 !server.Running();
        },
        absl::Seconds(30)))
        << "appends did not resume once space was freed ("
        << appenders.acked_count() - acked_before
        << " more acknowledged); caselined's log ends with:\n"
        << server.LogTail();
    appenders.Stop();
    ASSERT_TRUE(server.Running());
    EXPECT_EQ(appenders.other_errors(), "");

    // Nothing acknowledged was lost, the chain verifies, and the
    // projections (their view store was on the full disk too) catch up.
    const absl::flat_hash_map<std::string, Acknowledged> acked =
        appenders.acked();
    const size_t stored = testing::CheckLog(stub.get(), acked);
    testing::WaitForProjections(channel);
    const bool views_hit =
        absl::StrContains(server.Log(), "view store cannot write");
    std::printf(
        "%zu events acknowledged (%zu while full), %zu stored, %d appends "
        "refused for lack of space; the view store %s the full disk\n",
        acked.size(), acked_before, stored, appenders.exhausted(),
        views_hit ? "also met" : "did not meet");

    // Full again, and stopped: a clean shutdown. A start on the full disk
    // is refused cleanly (recovery needs room to flush the write-ahead log),
    // and once space is freed the restarted server finds the same log.
    FillDisk(filler);
    EXPECT_EQ(server.Stop(), 0) << server.LogTail();
    server.Spawn();
    EXPECT_EQ(server.WaitForExit(absl::Seconds(60 * kSlowdown)), 1)
        << server.LogTail();
    EXPECT_TRUE(absl::StrContains(server.LogTail(), "RESOURCE_EXHAUSTED"))
        << server.LogTail();
    ASSERT_TRUE(fs::remove(filler));
    const std::string restarted = server.Start();
    ASSERT_FALSE(restarted.empty());
    auto restarted_stub = v1::EventLog::NewStub(
        grpc::CreateChannel(restarted, grpc::InsecureChannelCredentials()));
    EXPECT_EQ(testing::CheckLog(restarted_stub.get(), acked), stored);
    server.Stop();
  }

  testing::ScratchDir dir_;
  const std::string mount_point_;
  bool mounted_ = false;
};

TEST_F(FullDiskTest, Tmpfs) {
  ASSERT_EQ(mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=24m"), 0)
      << std::strerror(errno);
  mounted_ = true;
  FillAndRecover();
}

// ext4 on a 64 MB image: RocksDB's default preallocation of a WAL file (70
// MiB) used to take all of it at start-up.
TEST_F(FullDiskTest, Ext4OnALoopDevice) {
  const std::string mkfs = FindProgram("mkfs.ext4");
  const std::string mount_program = FindProgram("mount");
  if (mkfs.empty() || mount_program.empty()) {
    GTEST_SKIP() << "needs mkfs.ext4 and mount (e2fsprogs, mount)";
  }
  const std::string image = dir_.path() + "/ext4.img";
  {
    const int fd = open(image.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(ftruncate(fd, 64 << 20), 0) << std::strerror(errno);
    close(fd);
  }
  const testing::ProgramResult made = testing::RunProgram(
      {mkfs, "-q", "-F", image}, dir_.path() + "/mkfs", absl::Seconds(60));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const testing::ProgramResult mounted =
      testing::RunProgram({mount_program, "-o", "loop", image, mount_point_},
                          dir_.path() + "/mount", absl::Seconds(60));
  if (mounted.exit_code != 0) {
    GTEST_SKIP() << "cannot mount a loop device here: " << mounted.err;
  }
  mounted_ = true;
  FillAndRecover();
}

// The view store on a real full tmpfs, in this process (an abort inside
// RocksDB would end the test binary): concurrent writers fill the disk while
// a reader keeps taking snapshots; writes are refused with
// RESOURCE_EXHAUSTED, reads continue, and once the filler file is deleted the
// store reopens itself and every write retried until accepted is there,
// also after a reopen.
TEST_F(FullDiskTest, ViewStoreOnTmpfs) {
  ASSERT_EQ(mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=32m"), 0)
      << std::strerror(errno);
  mounted_ = true;
  eventstore::ViewStoreOptions options;
  options.dir = mount_point_ + "/views";
  absl::StatusOr<std::unique_ptr<eventstore::ViewStore>> opened =
      eventstore::ViewStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<eventstore::ViewStore> store = *std::move(opened);

  // Leave about 3 MiB for the writers to fill.
  const std::string filler = mount_point_ + "/filler";
  {
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    const std::string chunk(1 << 20, 'f');
    for (int i = 0; i < 29; ++i) {
      ASSERT_EQ(write(fd, chunk.data(), chunk.size()),
                static_cast<ssize_t>(chunk.size()))
          << std::strerror(errno);
    }
    close(fd);
  }

  constexpr int kWriters = 3;
  constexpr int kWritesAfterFreed = 10;
  constexpr size_t kValueBytes = 16 << 10;
  std::atomic<bool> stop{false};
  std::atomic<bool> freed{false};
  std::atomic<int> exhausted{0};
  Mutex mu;
  std::vector<std::string> written;  // guarded by mu
  std::string errors;                // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      // Once space is freed, a few more writes each, so that the disk does
      // not fill up again before the store is closed and opened below.
      int after_freed = 0;
      for (int i = 0; !stop && after_freed < kWritesAfterFreed; ++i) {
        if (freed) ++after_freed;
        const std::string key = absl::StrCat("k/", t, "/", i);
        while (!stop) {
          eventstore::ViewWriteBatch batch;
          batch.Put(key, std::string(kValueBytes, static_cast<char>('a' + t)));
          batch.Put(absl::StrCat("checkpoint/", t), key);
          const absl::Status s = store->Write(batch);
          if (s.ok()) {
            MutexLock lock(&mu);
            written.push_back(key);
            break;
          }
          if (s.code() == absl::StatusCode::kResourceExhausted) {
            exhausted++;
          } else {
            MutexLock lock(&mu);
            absl::StrAppend(&errors, s.ToString(), "\n");
          }
          absl::SleepFor(absl::Milliseconds(10));
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop) {
      std::unique_ptr<eventstore::ViewSnapshot> snapshot = store->NewSnapshot();
      const absl::StatusOr<std::optional<std::string>> value =
          snapshot->Get("checkpoint/0");
      if (!value.ok()) {
        MutexLock lock(&mu);
        absl::StrAppend(&errors, "read: ", value.status().ToString(), "\n");
      }
      snapshot.reset();
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  auto written_count = [&] {
    MutexLock lock(&mu);
    return written.size();
  };

  EXPECT_TRUE(WaitFor([&] { return exhausted.load() >= 10 * kWriters; },
                      absl::Seconds(30)))
      << "writes were never refused for lack of space (" << written_count()
      << " written)";
  absl::SleepFor(absl::Seconds(1));
  const size_t written_while_full = written_count();
  ASSERT_TRUE(fs::remove(filler));
  freed = true;
  EXPECT_TRUE(
      WaitFor([&] { return written_count() >= written_while_full + 30; },
              absl::Seconds(30)))
      << "writes did not resume once space was freed";
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors, "");

  auto expect_all_written = [&] {
    std::unique_ptr<eventstore::ViewSnapshot> snapshot = store->NewSnapshot();
    for (const std::string& key : written) {
      const absl::StatusOr<std::optional<std::string>> value =
          snapshot->Get(key);
      ASSERT_TRUE(value.ok()) << value.status();
      ASSERT_TRUE(value->has_value()) << "write of " << key << " was lost";
      EXPECT_EQ((*value)->size(), kValueBytes);
    }
  };
  expect_all_written();
  store.reset();
  opened = eventstore::ViewStore::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store = *std::move(opened);
  expect_all_written();
  std::printf("%zu view writes (%zu before space was freed), %d refused\n",
              written.size(), written_while_full, exhausted.load());
}

}  // namespace
}  // namespace caseline

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  caseline::MountSkipReason() = caseline::EnterPrivateMountNamespace();
  return RUN_ALL_TESTS();
}
