// The scenarios at scale, over a care network loaded through the command
// services (the demo's generator): projection rebuild, view query latency,
// and a real caselined's start-up time and memory on the loaded directory.
#ifndef CASELINE_BENCH_SCALE_SCENARIOS_H_
#define CASELINE_BENCH_SCALE_SCENARIOS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/bench_util.h"
#include "server/server.h"

namespace caseline::bench {

// Loads demo networks (seeds 1, 2, ...) until the log holds `events`.
absl::Status LoadDemo(server::CaselineServer& server, uint64_t events,
                      int concurrency);

// Appends 100-event batches of 200-byte JSON events (not care events: the
// projections pass over them) to fresh streams until the log holds
// `events`: how the 10M-event start-up measurement reaches its size.
absl::Status FillLog(server::CaselineServer& server, uint64_t events);

// Reads the whole log, page by page, doing nothing with the events: what a
// rebuild costs before any projection work. Events per second.
double ScanEventsPerSecond(eventstore::EventLog& log);
// Rebuilds the projections `names` concurrently; events per second of a log
// whose head is `head`.
double RebuildEventsPerSecond(projections::ProjectionEngine& engine,
                              const std::vector<std::string>& names,
                              uint64_t head);
// Rebuild of each projection, then of all at once, beside a bare log scan.
void MeasureRebuild(server::CaselineServer& server, Report& report);

// `queries` sequential worklist and summary queries (as the operator and as
// an agency) beside an empty call on the same channel.
void MeasureQueries(server::CaselineServer& server, int queries,
                    Report& report);

// What a started caselined costs.
struct Startup {
  double serving_ms = 0;       // exec to the first successful health check
  double rss_mib = 0;          // resident memory once serving
  double rss_after_mib = 0;    // after `queries` summary queries
  uint64_t head = 0;
};

// Starts `caselined` on `data_dir` (which no other process may hold), times
// it until it serves, reads its RSS from /proc, runs `queries` client
// summaries and reads it again, then stops it with SIGTERM.
absl::StatusOr<Startup> MeasureStartup(const std::string& caselined,
                                       const std::string& data_dir,
                                       int queries);

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_SCALE_SCENARIOS_H_
