// Shared pieces of caseline-bench: closed-loop load generators, latency
// statistics and the result table.
#ifndef CASELINE_BENCH_BENCH_UTIL_H_
#define CASELINE_BENCH_BENCH_UTIL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace caseline::bench {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start);

// The p-quantile (0..1) of `values`, nearest rank; 0 when empty.
double Percentile(std::vector<double> values, double p);

// What a load run measured.
struct Load {
  double ops_per_second = 0;
  double events_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t errors = 0;
  uint64_t ops = 0;
};

// One measured call of a load generator: `done(ok)` is called exactly once,
// from any thread.
using StartCall =
    std::function<void(int caller, std::function<void(bool ok)> done)>;

// Runs `callers` closed loops of asynchronous calls: each caller keeps one
// call in flight and issues its next as soon as the previous completes.
// Calls completing during `warmup` are not counted.
Load RunAsyncClosedLoop(int callers, int events_per_call, absl::Duration warmup,
                        absl::Duration duration, const StartCall& start_call);

// The same with one thread per caller and blocking calls (the storage and
// PostgreSQL baselines): `call(caller)` returns whether the call succeeded.
Load RunThreadClosedLoop(int callers, int events_per_call,
                         absl::Duration warmup, absl::Duration duration,
                         const std::function<bool(int caller)>& call);

// One line of the result table: a scenario's figure for one system.
struct Row {
  std::string scenario{};  // e.g. "1-event durable append"
  std::string system{};    // "caseline", "storage ceiling", "postgresql 15", ...
  int callers = 0;
  double events_per_second = 0;  // 0 when not a throughput figure
  double p50_ms = 0;
  double p99_ms = 0;
  std::string figure{};    // free-form figure when not throughput/latency
  std::string versus{};    // the ratio to the scenario's caseline figure, or ""
  uint64_t errors = 0;
  // Named figures of the row as numbers (--json "metrics"), for checks that
  // read the JSON rather than the free-form figure.
  std::map<std::string, double> metrics{};
};

class Report {
 public:
  void Add(Row row);
  // Prints a heading and the table so far (scenarios in insertion order).
  void Print(const std::string& heading) const;
  // Writes every row plus `machine` facts as JSON; false on I/O error.
  bool WriteJson(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>&
                     machine) const;
  const std::vector<Row>& rows() const { return rows_; }

 private:
  std::vector<Row> rows_;
};

// This process's resident memory (VmRSS of /proc/self/status) in MiB, 0 when
// unreadable.
double SelfRssMiB();
// This process's threads (entries of /proc/self/task).
int SelfThreads();

// "83%" / "2.4x" style ratio of a to b (b > 0), for the versus column.
std::string Ratio(double a, double b);

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_BENCH_UTIL_H_
