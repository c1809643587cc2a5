// Payload encryption's cost (docs/log_format.md "Encrypted payloads"): the
// same measurements on a server whose client payloads are encrypted and on
// one whose are not, in one run, so that the rows differ only by it.
#ifndef CASELINE_BENCH_ENCRYPTION_SCENARIOS_H_
#define CASELINE_BENCH_ENCRYPTION_SCENARIOS_H_

#include <array>
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

struct EncryptionBenchOptions {
  std::vector<int> append_callers;
  int command_callers = 8;
  int command_clients = 4;
  uint64_t events = 20000;  // the demo network loaded first
  int demo_concurrency = 8;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(4);  // per row and setting
  // Each row is measured in this many rounds of duration / rounds.
  int rounds = 6;
};

// Starts two fresh in-process servers, one in `plaintext_dir` and one in
// `encrypted_dir` (a KEK file beside it), loads the same demo network into
// each, and measures every row on both in `rounds` rounds, alternating
// which setting goes first, so that a drift of the machine (the WAL's sync
// latency, another process) during the sitting falls on both alike. A row's
// rate is the mean of its rounds' rates (each round is equally long), its
// p50 the mean of the rounds' p50s, its p99 the largest round's p99.
// Returns {plaintext, encrypted}.
absl::StatusOr<std::array<EncryptionSetting, 2>> MeasureEncryption(
    const std::string& plaintext_dir, const std::string& encrypted_dir,
    const EncryptionBenchOptions& options);

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_ENCRYPTION_SCENARIOS_H_
