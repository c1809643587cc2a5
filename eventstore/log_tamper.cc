#include "eventstore/log_tamper.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "eventstore/key_format.h"
#include "rocksdb/db.h"

namespace caseline::testing {
namespace {

absl::Status OpenForTest(const std::string& dir,
                         std::unique_ptr<rocksdb::DB>* db) {
  rocksdb::Options options;
  options.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return absl::InternalError(s.ToString());
  db->reset(raw);
  return absl::OkStatus();
}

}  // namespace

absl::Status RewriteEventForTest(
    const std::string& dir, uint64_t position,
    const std::function<void(std::string&)>& edit) {
  std::unique_ptr<rocksdb::DB> db;
  if (absl::Status s = OpenForTest(dir, &db); !s.ok()) return s;
  const std::string key = eventstore::EventKey(position);
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("no event at ", position));
  }
  if (!s.ok()) return absl::InternalError(s.ToString());
  edit(value);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  s = db->Put(sync, key, value);
  if (!s.ok()) return absl::InternalError(s.ToString());
  s = db->Close();
  return s.ok() ? absl::OkStatus() : absl::InternalError(s.ToString());
}

absl::Status DeleteEventForTest(const std::string& dir, uint64_t position) {
  std::unique_ptr<rocksdb::DB> db;
  if (absl::Status s = OpenForTest(dir, &db); !s.ok()) return s;
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status s = db->Delete(sync, eventstore::EventKey(position));
  if (!s.ok()) return absl::InternalError(s.ToString());
  s = db->Close();
  return s.ok() ? absl::OkStatus() : absl::InternalError(s.ToString());
}

}  // namespace caseline::testing
