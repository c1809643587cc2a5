// Test-only: changes a closed log directory (a copy of a backup) through
// RocksDB itself, so that every table and WAL checksum still passes and only
// the hash chain can tell. For tests of the chain checks; never linked into
// caselined.
#ifndef CASELINE_EVENTSTORE_LOG_TAMPER_H_
#define CASELINE_EVENTSTORE_LOG_TAMPER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace caseline::testing {

// Reads the stored envelope of the event at `position` in the log in `dir`,
// lets `edit` change it, and writes it back (synced). NOT_FOUND when there
// is no event there; other RocksDB errors as INTERNAL.
absl::Status RewriteEventForTest(const std::string& dir, uint64_t position,
                                 const std::function<void(std::string&)>& edit);

// Deletes the event at `position` (its envelope key only) from the log in
// `dir`.
absl::Status DeleteEventForTest(const std::string& dir, uint64_t position);

}  // namespace caseline::testing

#endif  // CASELINE_EVENTSTORE_LOG_TAMPER_H_
