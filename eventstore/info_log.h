// The informational log (the LOG file) of the event log's and the view
// store's RocksDB databases, written so that a full disk cannot abort the
// process.
//
// Why not RocksDB's own: in RocksDB 7.8 the LOG is written through a
// WritableFileWriter that, once one write to it failed, asserts on every
// later use ("Assertion `sync_without_flush_called_' failed" in
// writable_file_writer.h). Its EnvLogger ignores the failed write and logs
// the next line anyway, and Debian's librocksdb is built with assertions on,
// so the first LOG line RocksDB writes after a write to a full disk failed
// aborts caselined (fixed upstream by RocksDB PR #11314, after 8.1). This
// logger writes each line straight to the file, without that writer: a line the
// disk has no room for is dropped, counted, and reported in the first line
// that fits once there is room again.
//
// Internal to eventstore/ (it names RocksDB types).
#ifndef CASELINE_EVENTSTORE_INFO_LOG_H_
#define CASELINE_EVENTSTORE_INFO_LOG_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rocksdb {
class Env;
class Logger;
}  // namespace rocksdb

namespace caseline::eventstore {

struct InfoLogOptions {
  // Directory of the LOG file (a database directory); created when missing.
  std::string dir;
  // Through which the file is written; null: the default Env. Not owned.
  rocksdb::Env* env = nullptr;
  // Once LOG grows past this, it is renamed LOG.old.<microseconds> and a new
  // LOG is started. Default: 16 MiB.
  size_t max_file_bytes = 16 << 20;
  // Most LOG.old.* files kept; older ones are deleted. Default: 4.
  size_t keep_old_files = 4;
};

// A thread-safe rocksdb::Logger appending to <dir>/LOG at INFO level and
// above. Write errors never reach RocksDB.
std::shared_ptr<rocksdb::Logger> NewInfoLog(const InfoLogOptions& options);

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_INFO_LOG_H_
