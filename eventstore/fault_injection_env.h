// FaultInjectionEnv: a test-only rocksdb::Env whose file system passes every
// call through to the real one, except the faults a test switches on: a WAL
// sync that fails with an I/O error (a dying disk, an fsync that lost pages),
// and a full disk (every write fails with ENOSPC until the test frees space).
// Pass env() as EventLogOptions::env or ViewStoreOptions::env.
//
// It is no substitute for a real full disk: RocksDB's own LOG writer, which
// aborted caselined on a real disk (eventstore/info_log.h), flushed only
// every few seconds and never met an injected fault, and no preallocation
// here keeps the blocks it got. tests/full_disk_test.cc fills real
// filesystems.
//
// Only tests link it (target caseline_fault_injection). The header names no
// RocksDB type beyond a forward declaration, so tests above eventstore/ can
// drive it too.
//
// Thread-safety: the switches and counters may be used from any thread while
// RocksDB runs; a switch takes effect for the next file operation.
#ifndef CASELINE_EVENTSTORE_FAULT_INJECTION_ENV_H_
#define CASELINE_EVENTSTORE_FAULT_INJECTION_ENV_H_

#include <cstdint>
#include <memory>

namespace rocksdb {
class Env;
}

namespace caseline::eventstore {

class FaultInjectionEnv {
 public:
  FaultInjectionEnv();
  ~FaultInjectionEnv();
  FaultInjectionEnv(const FaultInjectionEnv&) = delete;
  FaultInjectionEnv& operator=(const FaultInjectionEnv&) = delete;

  // The environment to hand to RocksDB. Owned by this object, which must
  // outlive every database opened with it.
  rocksdb::Env* env() const;

  // While set, Sync and Fsync of write-ahead log files (*.log) fail with
  // IOError after the data has reached the operating system, as a failing
  // fsync does: whether the bytes are on the platter is unknown.
  void SetWalSyncFails(bool fails);

  // While set, the disk is full: every append to any file fails with
  // IOStatus::NoSpace (ENOSPC) without writing a byte, and the free space is
  // reported as 0.
  void SetDiskFull(bool full);

  // While set, a full disk still reports its real free space, as a disk
  // whose free space the process may not use (a quota, reserved blocks) does.
  void SetFullDiskReportsFreeSpace(bool reports);

  // How many WAL syncs failed, and how many writes were refused for lack of
  // space, since construction: lets a test check its fault was really hit.
  uint64_t failed_wal_syncs() const;
  uint64_t refused_writes() const;

 private:
  class FaultyFileSystem;
  std::shared_ptr<FaultyFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_FAULT_INJECTION_ENV_H_
