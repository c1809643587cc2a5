#include "eventstore/fault_injection_env.h"

#include <atomic>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace caseline::eventstore {

// The switches, shared by the file system and every file it opened (a file
// may outlive a switch change, and must see it).
struct FaultSwitches {
  std::atomic<bool> wal_sync_fails{false};
  std::atomic<bool> disk_full{false};
  std::atomic<bool> full_disk_reports_free_space{false};
  std::atomic<uint64_t> failed_wal_syncs{0};
  std::atomic<uint64_t> refused_writes{0};
};

namespace {

bool IsWalFile(const std::string& name) {
  return absl::EndsWith(name, ".log");
}

// A file being written: appends fail while the disk is full, syncs fail while
// WAL syncs fail (for a WAL).
class FaultyWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file,
                     std::shared_ptr<FaultSwitches> switches, bool is_wal)
      : FSWritableFileOwnerWrapper(std::move(file)),
        switches_(std::move(switches)),
        is_wal_(is_wal) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (switches_->disk_full) return RefuseWrite(data, options, dbg);
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (switches_->disk_full) return RefuseWrite(data, options, dbg);
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data,
                                     uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (switches_->disk_full) return NoSpace();
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options,
                                                        dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data,
                                     uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (switches_->disk_full) return NoSpace();
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options,
                                                        info, dbg);
  }
  rocksdb::IOStatus Allocate(uint64_t offset, uint64_t len,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    if (switches_->disk_full) return NoSpace();
    return FSWritableFileOwnerWrapper::Allocate(offset, len, options, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* dbg) override {
    if (is_wal_ && switches_->wal_sync_fails) return FailSync();
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (is_wal_ && switches_->wal_sync_fails) return FailSync();
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  rocksdb::IOStatus NoSpace() {
    switches_->refused_writes++;
    return rocksdb::IOStatus::NoSpace("injected: no space left on device");
  }
  // A real ENOSPC often lands in the middle of a write: the first half of
  // the buffer reaches the file and the rest does not. Writing that half
  // makes the test meet the torn record a full disk really leaves behind.
  rocksdb::IOStatus RefuseWrite(const rocksdb::Slice& data,
                                const rocksdb::IOOptions& options,
                                rocksdb::IODebugContext* dbg) {
    if (data.size() > 1) {
      FSWritableFileOwnerWrapper::Append(
          rocksdb::Slice(data.data(), data.size() / 2), options, dbg)
          .PermitUncheckedError();
    }
    return NoSpace();
  }
  rocksdb::IOStatus FailSync() {
    switches_->failed_wal_syncs++;
    return rocksdb::IOStatus::IOError("injected: WAL fsync failed");
  }

  const std::shared_ptr<FaultSwitches> switches_;
  const bool is_wal_;
};

}  // namespace

class FaultInjectionEnv::FaultyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem()
      : FileSystemWrapper(rocksdb::FileSystem::Default()),
        switches_(std::make_shared<FaultSwitches>()) {}

  const char* Name() const override { return "CaselineFaultInjection"; }
  FaultSwitches& switches() { return *switches_; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->NewWritableFile(name, options, result, dbg),
                result);
  }
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->ReopenWritableFile(name, options, result, dbg),
                result);
  }
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& name, const std::string& old_name,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    return Wrap(name,
                target()->ReuseWritableFile(name, old_name, options, result,
                                            dbg),
                result);
  }
  rocksdb::IOStatus GetFreeSpace(const std::string& path,
                                 const rocksdb::IOOptions& options,
                                 uint64_t* free_space,
                                 rocksdb::IODebugContext* dbg) override {
    if (switches_->disk_full && !switches_->full_disk_reports_free_space) {
      *free_space = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, options, free_space, dbg);
  }

 private:
  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* result) {
    if (opened.ok()) {
      *result = std::make_unique<FaultyWritableFile>(std::move(*result),
                                                     switches_, IsWalFile(name));
    }
    return opened;
  }

  const std::shared_ptr<FaultSwitches> switches_;
};

FaultInjectionEnv::FaultInjectionEnv()
    : fs_(std::make_shared<FaultyFileSystem>()),
      env_(rocksdb::NewCompositeEnv(fs_)) {}

FaultInjectionEnv::~FaultInjectionEnv() = default;

rocksdb::Env* FaultInjectionEnv::env() const { return env_.get(); }

void FaultInjectionEnv::SetWalSyncFails(bool fails) {
  fs_->switches().wal_sync_fails = fails;
}

void FaultInjectionEnv::SetDiskFull(bool full) {
  fs_->switches().disk_full = full;
}

void FaultInjectionEnv::SetFullDiskReportsFreeSpace(bool reports) {
  fs_->switches().full_disk_reports_free_space = reports;
}

uint64_t FaultInjectionEnv::failed_wal_syncs() const {
  return fs_->switches().failed_wal_syncs;
}

uint64_t FaultInjectionEnv::refused_writes() const {
  return fs_->switches().refused_writes;
}

}  // namespace caseline::eventstore
