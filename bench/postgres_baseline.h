// What users would pick instead: a PostgreSQL 15 events table, Marten-style,
// on a private server this benchmark starts (initdb + pg_ctl from Debian's
// postgresql package, on a temporary directory and a loopback port; as the
// postgres user when run as root) and stops when destroyed.
//
//   events(global_position bigserial primary key, stream_id text,
//          stream_version bigint, event_id uuid unique, type text, data bytea,
//          recorded_at timestamptz, unique (stream_id, stream_version))
//
// An append is one statement (so one transaction, committed with
// synchronous_commit=on: durable like Caseline's) that checks the expected
// version in SQL and inserts the events only when it matches.
#ifndef CASELINE_BENCH_POSTGRES_BASELINE_H_
#define CASELINE_BENCH_POSTGRES_BASELINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/bench_util.h"

namespace caseline::bench {

class PostgresBaseline {
 public:
  // Starts a server on a fresh temporary directory and creates the table.
  // UNAVAILABLE (with what to install) when PostgreSQL 15's binaries are
  // missing; other errors carry the server's log path.
  static absl::StatusOr<std::unique_ptr<PostgresBaseline>> Start();
  // Stops the server and removes its directory.
  ~PostgresBaseline();

  std::string version() const { return version_; }

  // `callers` connections, each appending `events_per_call` events per
  // statement to its own stream with the exact expected version.
  Load Append(int callers, int events_per_call, const std::string& payload,
              absl::Duration warmup, absl::Duration duration);

  // What a care command does, per caller connection, on its own
  // `streams_per_caller` streams in turn (each given one event first): in one
  // transaction, read the stream's head (max(stream_version)), append one
  // event with Append's statement expecting that head, commit.
  Load Command(int callers, int streams_per_caller, const std::string& payload,
               absl::Duration warmup, absl::Duration duration);

  // Fills `streams` streams with `events_each` events for Mixed().
  absl::Status Populate(int streams, int events_each,
                        const std::string& payload);
  // 80% reads of the last 20 events of a random populated stream, 20%
  // 1-event appends to the caller's own stream.
  Load Mixed(int callers, int streams, const std::string& payload,
             absl::Duration warmup, absl::Duration duration);

 private:
  PostgresBaseline() = default;
  absl::Status Run(const std::string& command) const;

  std::string bin_dir_;
  std::string dir_;
  std::string conninfo_;
  std::string version_;
  bool as_postgres_user_ = false;
  bool started_ = false;
  int runs_ = 0;
};

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_POSTGRES_BASELINE_H_
