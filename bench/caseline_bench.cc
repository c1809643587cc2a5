// caseline-bench: every benchmark scenario of Caseline, each beside its
// baselines measured in the same run, with the ratios:
//
//   - durable 1-event appends at 1, 8 and 64 callers, and 100-event batches:
//     beside empty gRPC calls at the same concurrency (the transport
//     ceiling), the same events written straight into RocksDB as synced
//     WriteBatches from as many threads (the storage ceiling), and a
//     PostgreSQL 15 events table through libpq (what users would pick
//     instead);
//   - mixed load, 80% stream reads and 20% appends, beside empty calls and
//     PostgreSQL;
//   - subscription fan-out: 10 live subscribers, the delay from an append's
//     send to each subscriber's receipt, beside the append's own latency;
//   - care commands (read the record, decide, append one event) at 1, 8 and
//     64 callers, beside raw 1-event appends at the same concurrency and a
//     PostgreSQL transaction that reads the stream's head and inserts with
//     the version check;
//   - 1000 idle subscriptions: the process's extra memory and threads, and
//     8-caller appends with them open beside the same without;
//   - 8-caller appends beside expensive reads (full-chain VerifyChain loops,
//     1000-event ReadAll pages) beside the same with nothing beside them;
//   - at --events (1M by default) care events loaded through the command
//     services: projection rebuild beside a bare log scan, worklist and
//     summary query latency beside an empty call, and a real caselined's
//     start-up time and memory beside the same on an empty directory;
//     --startup_events 10000000 adds the 10M-event start-up measurement;
//   - payload encryption (docs/log_format.md "Encrypted payloads"): durable
//     appends to client streams, care commands, a log scan and a rebuild of
//     every projection, each on a server with client payloads encrypted
//     beside one with them in plaintext, both up at once and measured in
//     alternating rounds (--encryption_rounds);
//   - duplicate-client matching (issue 19; --matching_files, skipped when
//     empty): FEBRL records with known duplicates registered through
//     Clients.RegisterClient, the duplication view's findings scored against
//     the ground truth (precision, recall and F1 at the match threshold,
//     match + review, the review band, blocking pair completeness and
//     reduction ratio), registrations per second through the API and during
//     a rebuild of the duplication projection, beside an exact match on
//     (surname, given name, date of birth) over the same records.
//
// Prints a table and, with --json, writes every row. docs/performance.md
// holds the latest run and how to read it.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/bench_util.h"
#include "bench/command_scenarios.h"
#include "bench/encryption_scenarios.h"
#include "bench/grpc_scenarios.h"
#include "bench/matching_scenarios.h"
#include "bench/postgres_baseline.h"
#include "bench/scale_scenarios.h"
#include "bench/storage_baseline.h"
#include "grpcpp/grpcpp.h"
#include "server/server.h"

namespace {

namespace bench = caseline::bench;
using bench::Load;
using bench::Ratio;
using bench::Report;
using bench::Row;

constexpr char kCaseline[] = "caseline over gRPC";
constexpr char kTransport[] = "transport ceiling: empty call";
constexpr char kStorage[] = "storage ceiling: raw RocksDB";

Row LoadRow(const std::string& scenario, const std::string& system,
            int callers, const Load& load) {
  return Row{.scenario = scenario,
             .system = system,
             .callers = callers,
             .events_per_second = load.events_per_second,
             .p50_ms = load.p50_ms,
             .p99_ms = load.p99_ms,
             .errors = load.errors};
}

// The ratio of caseline's rate to a baseline's, for the baseline's row.
Row Versus(Row baseline, const Load& caseline) {
  baseline.versus =
      Ratio(caseline.events_per_second, baseline.events_per_second);
  return baseline;
}

// p99 of `a` over p99 of `b`, e.g. "p99 1.2x of idle".
std::string P99Ratio(const Load& a, const Load& b, const std::string& of) {
  if (b.p99_ms <= 0) return "";
  return absl::StrFormat("p99 %.1fx of %s", a.p99_ms / b.p99_ms, of);
}

// A channel on its own connection (a local subchannel pool and a distinct
// argument): other clients' load, apart from the measured callers'.
std::shared_ptr<grpc::Channel> SeparateChannel(const std::string& address,
                                               const std::string& purpose) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetString("caseline.bench.purpose", purpose);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

std::string DefaultCaselined() {
  std::error_code error;
  const std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "caselined";
  return (self.parent_path().parent_path() / "server" / "caselined").string();
}

std::string MachineDescription() {
  std::string cpu = "unknown";
  FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (f != nullptr) {
    char line[512];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      std::string s(line);
      if (s.rfind("model name", 0) == 0) {
        cpu = s.substr(s.find(':') + 2);
        if (!cpu.empty() && cpu.back() == '\n') cpu.pop_back();
        break;
      }
    }
    std::fclose(f);
  }
  return absl::StrFormat("%u hardware threads, %s",
                         std::thread::hardware_concurrency(), cpu);
}

// Runs a shell command line; its exit status.
int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Its first line of output, trailing newline dropped.
std::string ShellLine(const std::string& command) {
  std::string line;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return line;
  char buffer[512];
  if (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) line = buffer;
  pclose(pipe);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) {
    line.pop_back();
  }
  return line;
}

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

// The matching section's rows (bench/matching_scenarios.h); false after
// printing why it could not run.
bool AddMatchingRows(const std::vector<std::string>& files,
                     const std::string& data_dir, int callers, Report& report) {
  bench::MatchingOptions options;
  options.callers = callers;
  absl::StatusOr<bench::MatchingResult> measured =
      bench::MeasureMatching(files, data_dir, options);
  if (!measured.ok()) {
    std::fprintf(stderr, "caseline-bench: matching: %s\n",
                 measured.status().ToString().c_str());
    return false;
  }
  const bench::MatchingResult& m = *measured;
  std::vector<std::string> names;
  for (const std::string& file : files) {
    names.push_back(std::filesystem::path(file).filename().string());
  }
  const std::string population = absl::StrCat(
      "FEBRL ", absl::StrJoin(names, "+"), ", ", m.records, " records");
  const std::string quality =
      absl::StrCat("matching: ", population, ", ", m.true_pairs, " true pairs");
  const auto prf = [](const bench::Quality& q) {
    return absl::StrFormat("P %.3f R %.3f F1 %.3f, %d found", q.precision,
                           q.recall, q.f1, q.found);
  };
  const auto metrics = [](const bench::Quality& q) {
    return std::map<std::string, double>{
        {"pairs_found", static_cast<double>(q.found)},
        {"true_pairs_found", static_cast<double>(q.true_found)},
        {"precision", q.precision},
        {"recall", q.recall},
        {"f1", q.f1}};
  };
  report.Add(
      {.scenario = quality,
       .system = "caseline: registrations refused",
       .figure = absl::StrFormat("%d of %d; %d true pairs lost", m.refused,
                                 m.records, m.true_pairs_lost),
       .metrics = {
           {"records", static_cast<double>(m.records)},
           {"true_pairs", static_cast<double>(m.true_pairs)},
           {"registered", static_cast<double>(m.registered)},
           {"refused", static_cast<double>(m.refused)},
           {"true_pairs_lost", static_cast<double>(m.true_pairs_lost)}}});
  for (const auto& [reason, count] : m.refusals) {
    std::fprintf(stderr, "matching: %lu refused, %s\n",
                 static_cast<unsigned long>(count), reason.c_str());
    report.Add({.scenario = quality,
                .system = absl::StrCat("  refused: ",
                                       reason.substr(0, reason.find(':'))),
                .figure = absl::StrCat(count),
                .versus = reason.substr(reason.find(':') + 2),
                .metrics = {{"refused", static_cast<double>(count)}}});
  }
  Row at_match{.scenario = quality,
               .system = absl::StrFormat("caseline: match (p >= %.2f)",
                                         m.match_threshold),
               .figure = prf(m.at_match),
               .metrics = metrics(m.at_match)};
  at_match.metrics["threshold"] = m.match_threshold;
  report.Add(at_match);
  Row at_review{.scenario = quality,
                .system = absl::StrFormat(
                    "caseline: match + review (p >= %.2f)", m.review_threshold),
                .figure = prf(m.at_review),
                .metrics = metrics(m.at_review)};
  at_review.metrics["threshold"] = m.review_threshold;
  report.Add(at_review);
  report.Add(
      {.scenario = quality,
       .system = absl::StrFormat("caseline: review band (%.2f-%.2f)",
                                 m.review_threshold, m.match_threshold),
       .figure = absl::StrFormat("%d pairs, %d true", m.review_band,
                                 m.review_band_true),
       .metrics = {{"pairs", static_cast<double>(m.review_band)},
                   {"true_pairs", static_cast<double>(m.review_band_true)}}});
  report.Add(
      {.scenario = quality,
       .system = "caseline: blocking (care::BlockingKeys)",
       .figure = absl::StrFormat("PC %.4f RR %.5f, %d candidates",
                                 m.pair_completeness, m.reduction_ratio,
                                 m.candidate_pairs),
       .versus = absl::StrFormat("largest block %d", m.largest_block),
       .metrics = {{"pair_completeness", m.pair_completeness},
                   {"reduction_ratio", m.reduction_ratio},
                   {"candidate_pairs", static_cast<double>(m.candidate_pairs)},
                   {"true_candidate_pairs",
                    static_cast<double>(m.true_candidate_pairs)},
                   {"registered_true_pairs",
                    static_cast<double>(m.registered_true_pairs)},
                   {"largest_block", static_cast<double>(m.largest_block)}}});
  report.Add({.scenario = quality,
              .system = "baseline: exact surname+given+birth",
              .figure = prf(m.exact),
              .versus = absl::StrFormat("F1 %+.3f", m.at_match.f1 - m.exact.f1),
              .metrics = metrics(m.exact)});

  const std::string rate = absl::StrCat("matching rate: ", population);
  Row registering =
      LoadRow(rate, "caseline: RegisterClient over gRPC", m.callers,
              Load{.events_per_second = m.registrations_per_second,
                   .p50_ms = m.register_p50_ms,
                   .p99_ms = m.register_p99_ms});
  registering.figure =
      absl::StrFormat("%.0f registrations/s", m.registrations_per_second);
  registering.metrics = {
      {"registrations_per_second", m.registrations_per_second}};
  report.Add(registering);
  const double scored =
      m.rebuild_seconds > 0 ? m.registered / m.rebuild_seconds : 0;
  const double replayed =
      m.rebuild_seconds > 0 ? m.log_events / m.rebuild_seconds : 0;
  report.Add({.scenario = rate,
              .system = "caseline: rebuild of duplication",
              .events_per_second = replayed,
              .figure = absl::StrFormat("%.0f registrations/s scored", scored),
              .versus = absl::StrFormat("%.0f events/s, %d events", replayed,
                                        m.log_events),
              .metrics = {{"registrations_per_second", scored},
                          {"events_per_second", replayed},
                          {"log_events", static_cast<double>(m.log_events)}}});
  std::fprintf(stderr, "matching measured\n");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "caseline-bench: every scenario beside its same-run baselines "
      "(transport ceiling, storage ceiling, PostgreSQL 15)."};
  app.option_defaults()->always_capture_default();
  double seconds = 3;
  double warmup_seconds = 0.5;
  std::vector<int> caller_counts = {1, 8, 64};
  std::vector<int> batch_callers = {1, 8};
  int mixed_callers = 64;
  int subscribers = 10;
  int fanout_appenders = 8;
  uint64_t events = 1000000;
  uint64_t startup_events = 0;
  int queries = 2000;
  int command_clients = 4;
  int idle_subscriptions = 1000;
  uint64_t verify_events = 200000;
  int demo_concurrency = 16;
  bool no_postgres = false;
  std::string scale_dir;
  std::string caselined = DefaultCaselined();
  std::string json_path;
  std::vector<std::string> only;
  app.add_option("--seconds", seconds, "measured time per load scenario")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup_seconds,
                 "unmeasured time before each load scenario");
  app.add_option("--callers", caller_counts,
                 "concurrencies of the 1-event append scenario")
      ->delimiter(',');
  app.add_option("--batch_callers", batch_callers,
                 "concurrencies of the 100-event batch scenario")
      ->delimiter(',');
  app.add_option("--mixed_callers", mixed_callers,
                 "concurrency of the 80/20 read/append scenario");
  app.add_option("--subscribers", subscribers, "fan-out subscribers");
  app.add_option("--fanout_appenders", fanout_appenders,
                 "appenders during the fan-out scenario");
  app.add_option("--command_clients", command_clients,
                 "clients each care-command caller registers and records on")
      ->check(CLI::PositiveNumber);
  app.add_option("--idle_subscriptions", idle_subscriptions,
                 "idle subscriptions opened in the subscriptions section")
      ->check(CLI::PositiveNumber);
  app.add_option("--verify_events", verify_events,
                 "events added to the log (100-event batches) before the "
                 "interference section, so a full-chain VerifyChain takes "
                 "some time");
  app.add_option("--events", events,
                 "care events to load for the rebuild, query and start-up "
                 "scenarios (through the command services)");
  app.add_option("--startup_events", startup_events,
                 "also measure start-up after filling the log to this many "
                 "events (e.g. 10000000; 0: skip)");
  app.add_option("--queries", queries, "queries of each kind");
  app.add_option("--demo_concurrency", demo_concurrency,
                 "clients loaded in parallel");
  app.add_flag("--no_postgres", no_postgres,
               "skip the PostgreSQL baseline (it is started by default)");
  app.add_option("--scale_dir", scale_dir,
                 "data directory of the scale scenarios; reused if it holds "
                 "enough events (default: a scratch directory, removed after)");
  app.add_option("--caselined", caselined,
                 "caselined binary for the start-up scenario");
  uint64_t encryption_events = 20000;
  app.add_option("--encryption_events", encryption_events,
                 "care events loaded on each server of the encryption "
                 "section before its scan and rebuild rows");
  int encryption_rounds = 6;
  app.add_option("--encryption_rounds", encryption_rounds,
                 "the encryption section measures each row in this many "
                 "rounds of --seconds / rounds, alternating which setting "
                 "goes first")
      ->check(CLI::Range(1, 100));
  app.add_option("--only", only,
                 "run only these sections: appends, batches, mixed, fanout, "
                 "commands, subscriptions, interference, cluster, scale, "
                 "encryption, matching")
      ->delimiter(',');
  std::vector<std::string> matching_files;
  app.add_option("--matching_files", matching_files,
                 "FEBRL CSV files, one population, for the matching section "
                 "(e.g. tests/fixtures/febrl/dataset1.csv; empty: the "
                 "section is skipped)")
      ->delimiter(',');
  int matching_callers = 8;
  app.add_option("--matching_callers", matching_callers,
                 "concurrent RegisterClient callers of the matching section")
      ->check(CLI::PositiveNumber);
  app.add_option("--json", json_path, "also write every row to this file");
  bool strict = false;
  app.add_flag("--strict", strict,
               "exit 2 if any call failed or a baseline could not run (the "
               "smoke test's mode)");
  CLI11_PARSE(app, argc, argv);

  const std::set<std::string> sections(only.begin(), only.end());
  const auto wanted = [&](const std::string& section) {
    return sections.empty() || sections.count(section) > 0;
  };
  const absl::Duration warmup = absl::Seconds(warmup_seconds);
  const absl::Duration duration = absl::Seconds(seconds);
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() /
      absl::StrCat("caseline-bench-", getpid());
  std::filesystem::remove_all(scratch);
  std::filesystem::create_directories(scratch);
  Report report;
  const std::string machine = MachineDescription();
  std::printf("caseline-bench: %s; %.1f s per load scenario\n",
              machine.c_str(), seconds);

  // --- Appends, batches, mixed, fan-out: one server, its baselines ---------
  if (wanted("appends") || wanted("batches") || wanted("mixed") ||
      wanted("fanout") || wanted("commands") || wanted("subscriptions") ||
      wanted("interference")) {
    caseline::server::ServerOptions options;
    options.data_dir = (scratch / "appends").string();
    options.listen = "127.0.0.1:0";
    auto server = caseline::server::CaselineServer::Start(options);
    if (!server.ok()) {
      std::fprintf(stderr, "caseline-bench: %s\n",
                   server.status().ToString().c_str());
      return 1;
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    bench::GrpcScenarios grpc_load(
        grpc::CreateCustomChannel((*server)->address(),
                                  grpc::InsecureChannelCredentials(), args),
        warmup, duration);
    auto storage = bench::StorageBaseline::Open((scratch / "rocksdb").string());
    if (!storage.ok()) {
      std::fprintf(stderr, "caseline-bench: %s\n",
                   storage.status().ToString().c_str());
      return 1;
    }
    std::unique_ptr<bench::PostgresBaseline> postgres;
    std::string postgres_name = "postgresql";
    if (!no_postgres) {
      std::fprintf(stderr, "starting PostgreSQL for the baseline...\n");
      auto started = bench::PostgresBaseline::Start();
      if (started.ok()) {
        postgres = *std::move(started);
        postgres_name = absl::StrCat(postgres->version(), ", libpq");
      } else {
        std::fprintf(stderr, "caseline-bench: no PostgreSQL baseline: %s\n",
                     started.status().ToString().c_str());
        if (strict) return 2;
      }
    }
    const std::string payload = bench::BenchPayload();

    // Caseline's appends, then each baseline at the same concurrency.
    const auto appends = [&](const std::string& scenario, int callers,
                             int batch, bool with_transport) {
      const Load mine = grpc_load.Append(callers, batch);
      report.Add(LoadRow(scenario, kCaseline, callers, mine));
      if (with_transport) {
        report.Add(Versus(LoadRow(scenario, kTransport, callers,
                                  grpc_load.EmptyCalls(callers)),
                          mine));
      }
      report.Add(Versus(LoadRow(scenario, kStorage, callers,
                                (*storage)->Append(callers, batch, payload,
                                                   warmup, duration)),
                        mine));
      if (postgres) {
        report.Add(Versus(LoadRow(scenario, postgres_name, callers,
                                  postgres->Append(callers, batch, payload,
                                                   warmup, duration)),
                          mine));
      }
      std::fprintf(stderr, "%s at %d callers measured\n", scenario.c_str(),
                   callers);
    };
    if (wanted("appends")) {
      for (int callers : caller_counts) {
        appends("durable append, 1 event", callers, 1, true);
      }
    }
    if (wanted("batches")) {
      for (int callers : batch_callers) {
        appends("durable append, 100-event batch", callers, 100, false);
      }
    }
    if (wanted("mixed")) {
      constexpr int kStreams = 100;
      constexpr int kEventsEach = 20;
      const std::string scenario = "mixed: 80% reads (20 events), 20% appends";
      absl::Status populated = grpc_load.Populate(kStreams, kEventsEach);
      if (populated.ok() && postgres) {
        populated = postgres->Populate(kStreams, kEventsEach, payload);
      }
      if (!populated.ok()) {
        std::fprintf(stderr, "caseline-bench: %s\n",
                     populated.ToString().c_str());
        return 1;
      }
      const auto ops = [](Row row) {
        row.figure = absl::StrFormat("%.0f ops/s", row.events_per_second);
        return row;
      };
      const Load mine = grpc_load.Mixed(mixed_callers, kStreams);
      report.Add(ops(LoadRow(scenario, kCaseline, mixed_callers, mine)));
      report.Add(ops(Versus(LoadRow(scenario, kTransport, mixed_callers,
                                    grpc_load.EmptyCalls(mixed_callers)),
                            mine)));
      if (postgres) {
        report.Add(ops(Versus(
            LoadRow(scenario, postgres_name, mixed_callers,
                    postgres->Mixed(mixed_callers, kStreams, payload, warmup,
                                    duration)),
            mine)));
      }
    }
    if (wanted("fanout")) {
      const bench::FanOut fan =
          grpc_load.SubscriptionFanOut(subscribers, fanout_appenders);
      const std::string scenario = absl::StrFormat(
          "subscription fan-out, %d subscribers", subscribers);
      report.Add({.scenario = scenario,
                  .system = "caseline: append sent -> received",
                  .callers = fanout_appenders,
                  .p50_ms = fan.delay_p50_ms,
                  .p99_ms = fan.delay_p99_ms,
                  .figure = absl::StrFormat("%d of %d deliveries",
                                            fan.deliveries,
                                            fan.expected_deliveries),
                  .errors = fan.expected_deliveries - fan.deliveries});
      report.Add({.scenario = scenario,
                  .system = "baseline: the append's own ack",
                  .callers = fanout_appenders,
                  .events_per_second = fan.appends.events_per_second,
                  .p50_ms = fan.appends.p50_ms,
                  .p99_ms = fan.appends.p99_ms,
                  .versus = absl::StrFormat(
                      "p99 +%.3f ms", fan.delay_p99_ms - fan.appends.p99_ms),
                  .errors = fan.appends.errors});
    }
    if (wanted("commands")) {
      // The raw appends beside each command row run here, right after the
      // commands at the same concurrency, even when the appends section ran.
      bench::CommandScenarios commands(
          grpc::CreateCustomChannel((*server)->address(),
                                    grpc::InsecureChannelCredentials(), args),
          warmup, duration);
      const std::string scenario = "care command: read, decide, append 1";
      for (int callers : caller_counts) {
        absl::StatusOr<Load> mine =
            commands.RecordFollowUps(callers, command_clients);
        if (!mine.ok()) {
          std::fprintf(stderr, "caseline-bench: care commands: %s\n",
                       mine.status().ToString().c_str());
          return 1;
        }
        report.Add(LoadRow(scenario, "caseline: RecordFollowUp command",
                           callers, *mine));
        Row raw = LoadRow(scenario, "baseline: raw Append, 1 event", callers,
                          grpc_load.Append(callers, 1));
        raw.versus = Ratio(mine->events_per_second, raw.events_per_second);
        if (!raw.versus.empty()) raw.versus += " of raw append";
        report.Add(raw);
        if (postgres) {
          report.Add(Versus(
              LoadRow(scenario,
                      absl::StrCat(postgres->version(), ": head, insert"),
                      callers,
                      postgres->Command(callers, command_clients, payload,
                                        warmup, duration)),
              *mine));
        }
        std::fprintf(stderr, "care commands at %d callers measured\n", callers);
      }
    }
    if (wanted("subscriptions")) {
      constexpr int kAppenders = 8;
      const Load without = grpc_load.Append(kAppenders, 1);
      const double rss_before = bench::SelfRssMiB();
      const int threads_before = bench::SelfThreads();
      double rss_open = 0;
      int threads_open = 0;
      int not_open = 0;
      Load with;
      {
        // As the development-mode operator: the in-process server has no
        // per-organisation subscription cap to spread them under.
        bench::IdleSubscriptions idle(
            SeparateChannel((*server)->address(), "idle-subscriptions"),
            idle_subscriptions, {}, absl::Seconds(60));
        not_open = idle.count() - idle.caught_up();
        rss_open = bench::SelfRssMiB();
        threads_open = bench::SelfThreads();
        with = grpc_load.Append(kAppenders, 1);
      }
      const std::string cost =
          absl::StrFormat("cost of %d idle subscriptions", idle_subscriptions);
      report.Add({.scenario = cost,
                  .system = "caseline: client+server process",
                  .figure = absl::StrFormat("RSS %.0f MiB, %d threads",
                                            rss_open, threads_open),
                  .errors = static_cast<uint64_t>(not_open)});
      report.Add({.scenario = cost,
                  .system = "baseline: same process, none open",
                  .figure = absl::StrFormat("RSS %.0f MiB, %d threads",
                                            rss_before, threads_before),
                  .versus = absl::StrFormat("+%.0f MiB, %+d threads",
                                            rss_open - rss_before,
                                            threads_open - threads_before)});
      const std::string scenario = absl::StrFormat(
          "append with %d idle subscriptions", idle_subscriptions);
      report.Add(
          LoadRow(scenario, "caseline: subscriptions open", kAppenders, with));
      Row baseline =
          LoadRow(scenario, "baseline: none open", kAppenders, without);
      baseline.versus = P99Ratio(with, without, "without");
      report.Add(baseline);
      std::fprintf(stderr, "idle subscriptions measured\n");
    }
    if (wanted("interference")) {
      constexpr int kAppenders = 8;
      constexpr int kVerifiers = 8;
      constexpr int kPageReaders = 64;
      const uint64_t target =
          (*server)->event_log().HeadPosition() + verify_events;
      if (absl::Status s = bench::FillLog(**server, target); !s.ok()) {
        std::fprintf(stderr, "caseline-bench: %s\n", s.ToString().c_str());
        return 1;
      }
      const uint64_t head = (*server)->event_log().HeadPosition();
      auto side = SeparateChannel((*server)->address(), "expensive-reads");
      const bench::Interference idle = grpc_load.AppendBeside(
          kAppenders, bench::Background::kNone, 0, side, head);
      const bench::Interference verify = grpc_load.AppendBeside(
          kAppenders, bench::Background::kVerifyChain, kVerifiers, side, head);
      const bench::Interference pages =
          grpc_load.AppendBeside(kAppenders, bench::Background::kReadAllPages,
                                 kPageReaders, side, head);
      const std::string scenario =
          absl::StrCat("append beside reads, ", head, "-event log");
      report.Add(LoadRow(scenario, "baseline: append, nothing beside",
                         kAppenders, idle.appends));
      const auto beside = [&](const std::string& system,
                              const bench::Interference& run,
                              const std::string& what) {
        Row row = LoadRow(scenario, system, kAppenders, run.appends);
        row.figure = absl::StrFormat("%.0f events/s, %d %s",
                                     run.appends.events_per_second,
                                     run.background_calls, what);
        row.versus = P99Ratio(run.appends, idle.appends, "idle");
        row.errors += run.background_errors;
        return row;
      };
      report.Add(beside(
          absl::StrFormat("caseline: + %d VerifyChain loops", kVerifiers),
          verify, "verified"));
      report.Add(beside(
          absl::StrFormat("caseline: + %d ReadAll 1000-pages", kPageReaders),
          pages, "pages"));
      std::fprintf(stderr, "appends beside expensive reads measured\n");
    }
    (*server)->Shutdown(absl::Seconds(10));
  }

  // --- Cluster: three nodes on etcd beside one node ------------------------
  // Both are real caselined processes on this machine (deploy/cluster/
  // local-cluster.sh), so the rows differ only by the replication: each
  // group of the cluster's sequencer is an etcd transaction committed by two
  // of three etcd members (each fsyncing) before it is written locally.
  // Both run with payload encryption on (the cluster with one KEK file
  // copied to each node, as local-cluster.sh starts it); the streams
  // appended here are not client- streams, so their payloads stay plaintext.
  if (wanted("cluster") && !std::filesystem::exists("/usr/bin/etcd")) {
    std::fprintf(stderr, "caseline-bench: no cluster rows: /usr/bin/etcd is "
                         "missing (install etcd-server)\n");
    if (strict && !sections.empty()) return 2;
  } else if (wanted("cluster")) {
    const std::string script =
        std::string(CASELINE_SOURCE_DIR) + "/deploy/cluster/local-cluster.sh";
    const std::string cluster_dir = (scratch / "cluster").string();
    const std::string single_dir = (scratch / "single").string();
    // "auto": the script picks 40 free ports below the ephemeral range and
    // remembers them in DIR/ports; the single node takes base + 9 of them.
    const std::string env = absl::StrCat(
        "CASELINE_CLUSTER_PORT=auto CASELINED=", Quoted(caselined), " CASELINE=",
        Quoted((std::filesystem::path(caselined).parent_path().parent_path() /
                "tools" / "caseline")
                   .string()),
        " ");
    std::fprintf(stderr, "starting one caselined and a 3-node cluster...\n");
    bool started = Shell(absl::StrCat(env, "bash ", Quoted(script), " start ",
                                      Quoted(cluster_dir), " > /dev/null")) == 0;
    const std::string ports = ShellLine(
        absl::StrCat("cat ", Quoted(cluster_dir + "/ports"), " 2> /dev/null"));
    int base = 0;
    if (!absl::SimpleAtoi(ports, &base)) started = false;
    const std::string single_address = absl::StrCat("127.0.0.1:", base + 9);
    started = started &&
              Shell(absl::StrCat(Quoted(caselined), " --data_dir ",
                                 Quoted(single_dir), " --listen ",
                                 single_address, " --log_level warn > ",
                                 Quoted(single_dir), ".log 2>&1 & echo $! > ",
                                 Quoted(single_dir), ".pid")) == 0;
    // Serving once it accepts a connection.
    const std::shared_ptr<grpc::Channel> single_channel =
        SeparateChannel(single_address, "cluster");
    started = started &&
              single_channel->WaitForConnected(
                  std::chrono::system_clock::now() + std::chrono::seconds(30));
    const std::string sequencer = ShellLine(absl::StrCat(
        env, "bash ", Quoted(script), " status ", Quoted(cluster_dir),
        " | sed -n 's/^sequencer: node-//p'"));
    if (!started || sequencer.empty()) {
      std::fprintf(stderr, "caseline-bench: the cluster did not start\n");
      if (strict) return 2;
    } else {
      const int n = std::stoi(sequencer);
      const int follower = n % 3 + 1;
      const auto load_on = [&](const std::string& address,
                               const std::string& prefix) {
        return std::make_unique<bench::GrpcScenarios>(
            SeparateChannel(address, "cluster"), warmup, duration, prefix);
      };
      auto single = std::make_unique<bench::GrpcScenarios>(
          single_channel, warmup, duration, "single");
      auto on_sequencer =
          load_on(absl::StrCat("127.0.0.1:", base + 10 * n + 2), "sequencer");
      auto on_follower = load_on(
          absl::StrCat("127.0.0.1:", base + 10 * follower + 2), "follower");
      const auto rows = [&](const std::string& scenario, int callers,
                            int batch, bool via_follower) {
        const Load one = single->Append(callers, batch);
        report.Add(LoadRow(scenario, "caseline, 1 node (process)", callers,
                           one));
        const Load three = on_sequencer->Append(callers, batch);
        Row row = LoadRow(scenario, "caseline, 3 nodes on etcd, at the sequencer",
                          callers, three);
        row.versus = absl::StrFormat(
            "%.2fx of 1 node", one.events_per_second > 0
                                   ? three.events_per_second /
                                         one.events_per_second
                                   : 0.0);
        report.Add(row);
        if (via_follower) {
          const Load forwarded = on_follower->Append(callers, batch);
          Row f = LoadRow(scenario,
                          "caseline, 3 nodes on etcd, via a follower", callers,
                          forwarded);
          f.versus = absl::StrFormat(
              "%.2fx of 1 node", one.events_per_second > 0
                                     ? forwarded.events_per_second /
                                           one.events_per_second
                                     : 0.0);
          report.Add(f);
        }
        std::fprintf(stderr, "cluster: %s at %d callers measured\n",
                     scenario.c_str(), callers);
      };
      for (int callers : caller_counts) {
        rows("cluster: durable append, 1 event", callers, 1, callers == 8);
      }
      for (int callers : batch_callers) {
        rows("cluster: durable append, 100-event batch", callers, 100, false);
      }
    }
    Shell(absl::StrCat(env, "bash ", Quoted(script), " stop ",
                       Quoted(cluster_dir), " > /dev/null"));
    Shell(absl::StrCat("kill $(cat ", Quoted(single_dir), ".pid) 2> /dev/null"));
  }

  // --- Payload encryption: the same rows with it on and off ---------------
  if (wanted("encryption")) {
    constexpr int kCommandCallers = 8;
    bench::EncryptionBenchOptions encryption;
    encryption.append_callers = caller_counts;
    encryption.command_callers = kCommandCallers;
    encryption.command_clients = command_clients;
    encryption.events = encryption_events;
    encryption.demo_concurrency = demo_concurrency;
    encryption.warmup = warmup;
    encryption.duration = duration;
    encryption.rounds = encryption_rounds;
    absl::StatusOr<std::array<bench::EncryptionSetting, 2>> settings =
        bench::MeasureEncryption((scratch / "plaintext").string(),
                                 (scratch / "encrypted").string(), encryption);
    if (!settings.ok()) {
      std::fprintf(stderr, "caseline-bench: encryption: %s\n",
                   settings.status().ToString().c_str());
      return 1;
    }
    const bench::EncryptionSetting& off = (*settings)[0];
    const bench::EncryptionSetting& on = (*settings)[1];
    constexpr char kOn[] = "caseline: client payloads encrypted";
    constexpr char kOff[] = "baseline: client payloads plaintext";
    for (size_t i = 0; i < caller_counts.size(); ++i) {
      const std::string scenario =
          "encryption: durable append to client streams, 1 event, in-process";
      report.Add(LoadRow(scenario, kOn, caller_counts[i], on.appends[i]));
      report.Add(Versus(LoadRow(scenario, kOff, caller_counts[i],
                                off.appends[i]),
                        on.appends[i]));
    }
    {
      const std::string scenario = "encryption: care command (RecordFollowUp)";
      report.Add(LoadRow(scenario, kOn, kCommandCallers, on.commands));
      report.Add(Versus(LoadRow(scenario, kOff, kCommandCallers, off.commands),
                        on.commands));
    }
    const std::string rebuild = absl::StrCat(
        "encryption: rebuild of all projections, ", on.events, " events");
    report.Add({.scenario = rebuild,
                .system = kOn,
                .events_per_second = on.rebuild_events_per_second});
    report.Add({.scenario = rebuild,
                .system = kOff,
                .events_per_second = off.rebuild_events_per_second,
                .versus = Ratio(on.rebuild_events_per_second,
                                off.rebuild_events_per_second)});
    const std::string scan = absl::StrCat(
        "encryption: bare log scan (ReadAll), ", on.events, " events");
    report.Add({.scenario = scan,
                .system = kOn,
                .events_per_second = on.scan_events_per_second});
    report.Add({.scenario = scan,
                .system = kOff,
                .events_per_second = off.scan_events_per_second,
                .versus = Ratio(on.scan_events_per_second,
                                off.scan_events_per_second)});
  }

  // --- Duplicate-client matching on FEBRL ground truth --------------------
  if (wanted("matching") && matching_files.empty()) {
    std::fprintf(stderr,
                 "caseline-bench: matching section skipped: --matching_files "
                 "is empty (give FEBRL CSVs, e.g. "
                 "tests/fixtures/febrl/dataset1.csv)\n");
    if (strict && !sections.empty()) return 2;
  } else if (wanted("matching")) {
    if (!AddMatchingRows(matching_files, (scratch / "matching").string(),
                         matching_callers, report)) {
      return 1;
    }
  }

  // --- At scale: rebuild, queries, start-up --------------------------------
  if (wanted("scale") && events > 0) {
    const bool scratch_scale = scale_dir.empty();
    if (scratch_scale) scale_dir = (scratch / "scale").string();
    {
      caseline::server::ServerOptions options;
      options.data_dir = scale_dir;
      options.listen = "127.0.0.1:0";
      auto server = caseline::server::CaselineServer::Start(options);
      if (!server.ok()) {
        std::fprintf(stderr, "caseline-bench: %s\n",
                     server.status().ToString().c_str());
        return 1;
      }
      const auto load_start = bench::Clock::now();
      if (absl::Status s = bench::LoadDemo(**server, events, demo_concurrency);
          !s.ok()) {
        std::fprintf(stderr, "caseline-bench: loading: %s\n",
                     s.ToString().c_str());
        return 1;
      }
      const uint64_t head = (*server)->event_log().HeadPosition();
      std::fprintf(stderr, "log holds %lu events (loaded in %.0f s)\n",
                   static_cast<unsigned long>(head),
                   bench::MillisSince(load_start) / 1000);
      auto& engine = (*server)->projections();
      for (const std::string& name : engine.names()) {
        (void)engine.WaitForPosition(name, head,
                                     absl::Now() + absl::Minutes(30));
      }
      bench::MeasureRebuild(**server, report);
      bench::MeasureQueries(**server, queries, report);
      (*server)->Shutdown(absl::Seconds(10));
    }
    const auto startup_rows = [&](const std::string& dir,
                                  const std::string& what) -> bool {
      auto empty =
          bench::MeasureStartup(caselined, (scratch / "empty").string(), 200);
      auto loaded = bench::MeasureStartup(caselined, dir, 200);
      if (!empty.ok() || !loaded.ok()) {
        std::fprintf(stderr, "caseline-bench: start-up: %s\n",
                     (!empty.ok() ? empty.status() : loaded.status())
                         .ToString()
                         .c_str());
        return false;
      }
      const std::string scenario =
          absl::StrCat("caselined start-up, ", loaded->head, " events");
      const auto row = [&](const std::string& system,
                           const bench::Startup& s) {
        return Row{.scenario = scenario,
                   .system = system,
                   .figure = absl::StrFormat(
                       "%.0f ms; RSS %.0f MiB, %.0f after 200 queries",
                       s.serving_ms, s.rss_mib, s.rss_after_mib)};
      };
      report.Add(row(absl::StrCat("caselined: ", what), *loaded));
      Row baseline = row("baseline: caselined, empty directory", *empty);
      baseline.versus =
          absl::StrFormat("+%.0f ms, +%.0f MiB",
                          loaded->serving_ms - empty->serving_ms,
                          loaded->rss_after_mib - empty->rss_after_mib);
      report.Add(baseline);
      return true;
    };
    if (!startup_rows(scale_dir, "loaded directory")) return 1;
    if (startup_events > 0) {
      {
        caseline::server::ServerOptions options;
        options.data_dir = scale_dir;
        options.listen = "127.0.0.1:0";
        auto server = caseline::server::CaselineServer::Start(options);
        if (!server.ok()) return 1;
        std::fprintf(stderr, "filling the log to %lu events...\n",
                     static_cast<unsigned long>(startup_events));
        if (!bench::FillLog(**server, startup_events).ok()) return 1;
        const uint64_t head = (*server)->event_log().HeadPosition();
        for (const std::string& name : (*server)->projections().names()) {
          (void)(*server)->projections().WaitForPosition(
              name, head, absl::Now() + absl::Minutes(60));
        }
        (*server)->Shutdown(absl::Seconds(10));
      }
      if (!startup_rows(scale_dir, "filled directory")) return 1;
    }
  }

  report.Print("caseline-bench results");
  if (!json_path.empty() &&
      !report.WriteJson(json_path, {{"machine", machine},
                                    {"seconds_per_scenario",
                                     absl::StrCat(seconds)}})) {
    std::fprintf(stderr, "caseline-bench: cannot write %s\n",
                 json_path.c_str());
    return 1;
  }
  std::filesystem::remove_all(scratch);
  if (strict) {
    for (const Row& row : report.rows()) {
      if (row.errors > 0) {
        std::fprintf(stderr, "caseline-bench: %s / %s: %lu errors\n",
                     row.scenario.c_str(), row.system.c_str(),
                     static_cast<unsigned long>(row.errors));
        return 2;
      }
    }
  }
  return 0;
}
