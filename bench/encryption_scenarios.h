// Payload encryption's cost (docs/log_format.md "Encrypted payloads"): the
// same measurements on a server whose client payloads are encrypted and on
// one whose are not, in one run, so that the rows differ only by it.
#ifndef CASELINE_BENCH_ENCRYPTION_SCENARIOS_H_
#define CASELINE_BENCH_ENCRYPTION_SCENARIOS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"

namespace caseline::bench {

struct EncryptionSetting {
  // Durable appends of one 200-byte event to client-<caller> streams,
  // through EventLog::AppendAsync (no gRPC), at each of `append_callers`.
  std::vector<Load> appends;
  // Care commands (RecordFollowUp) over gRPC at `command_callers`.
  Load commands;
  // After loading the demo network to `events`: a bare scan of the log
  // (ReadAll, every payload decrypted) and a rebuild of every projection at
  // once, in events per second.
  uint64_t events = 0;
  double scan_events_per_second = 0;
  double rebuild_events_per_second = 0;
};

// Starts a fresh in-process server in `dir` (a KEK file beside it when
// `encrypt`), measures the above and stops it.
absl::StatusOr<EncryptionSetting> MeasureEncryptionSetting(
    bool encrypt, const std::string& dir,
    const std::vector<int>& append_callers, int command_callers,
    int command_clients, uint64_t events, int demo_concurrency,
    absl::Duration warmup, absl::Duration duration);

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_ENCRYPTION_SCENARIOS_H_
