// caseline-views-bench: the projections and views at scale, each figure
// beside its baseline from the same run:
//   - rebuild of each projection (and of all of them at once) over the demo
//     care network, beside a bare scan of the log (the rebuild's ceiling);
//   - worklist and client-summary query latency over gRPC, beside an empty
//     call (health check) on the same channel;
//   - projection lag while appends run at full speed: how long after an
//     append is acknowledged the views have applied it.
// The server runs in-process on --data_dir (a scratch directory by default);
// pass an existing directory to reuse a loaded demo network.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event_log.h"
#include "eventstore/mutex.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "projections/projection_engine.h"
#include "server/server.h"
#include "tools/demo.h"

namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(
      values.size() - 1, static_cast<size_t>(p * (values.size() - 1) + 0.5));
  return values[index];
}

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

struct Row {
  std::string what;
  std::string figure;
  std::string baseline;
  std::string ratio;
};

void Print(const std::vector<Row>& rows) {
  std::printf("%-44s %-26s %-34s %s\n", "measure", "result",
              "baseline (same run)", "ratio");
  for (const Row& r : rows) {
    std::printf("%-44s %-26s %-34s %s\n", r.what.c_str(), r.figure.c_str(),
                r.baseline.c_str(), r.ratio.c_str());
  }
}

// Loads demo networks (seeds 1, 2, ...) until the log holds `events`.
bool LoadDemo(caseline::server::CaselineServer& server, uint64_t events,
              int concurrency) {
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  uint64_t seed = 1;
  while (server.event_log().HeadPosition() < events) {
    const uint64_t head = server.event_log().HeadPosition();
    caseline::tools::DemoOptions options;
    options.seed = seed++;
    // About 30 events per synthetic client; aim a little past the target.
    options.clients = static_cast<int>(
        std::min<uint64_t>(1000000, (events - head) / 25 + 100));
    options.concurrency = concurrency;
    options.base_date = absl::CivilDay(2026, 11, 1);
    std::fprintf(
        stderr,
        "loading demo seed %lu: %d clients (log at %lu of %lu events)\n",
        static_cast<unsigned long>(options.seed), options.clients,
        static_cast<unsigned long>(head), static_cast<unsigned long>(events));
    options.progress = [](const std::string& line) {
      std::fprintf(stderr, "  %s\n", line.c_str());
    };
    auto summary = caseline::tools::RunDemo(channel, options);
    if (!summary.ok()) {
      std::fprintf(stderr, "demo failed: %s\n",
                   summary.status().ToString().c_str());
      return false;
    }
  }
  return true;
}

// Reads the whole log, page by page, doing nothing with the events: what a
// rebuild costs before any projection work.
double ScanEventsPerSecond(caseline::eventstore::EventLog& log) {
  const auto start = Clock::now();
  caseline::eventstore::ReadAllOptions read;
  read.from_position = 1;
  read.max_count = 1000;
  uint64_t events = 0;
  while (true) {
    auto page = log.ReadAll(read);
    if (!page.ok() || page->events.empty()) break;
    events += page->events.size();
    read.from_position = page->next_position;
    if (page->end_of_log) break;
  }
  return events / (MillisSince(start) / 1000);
}

double RebuildEventsPerSecond(caseline::projections::ProjectionEngine& engine,
                              const std::vector<std::string>& names,
                              uint64_t head) {
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (const std::string& name : names) {
    threads.emplace_back([&engine, name] {
      absl::Status status = engine.Rebuild(
          name,
          [](const caseline::v1::RebuildProjectionResponse&) { return true; });
      if (!status.ok()) {
        std::fprintf(stderr, "rebuild %s: %s\n", name.c_str(),
                     status.ToString().c_str());
      }
    });
  }
  for (auto& t : threads) t.join();
  return head / (MillisSince(start) / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "caseline-views-bench: projection rebuild, view query latency and "
      "projection lag, each with a same-run baseline."};
  app.option_defaults()->always_capture_default();
  uint64_t events = 1000000;
  std::string data_dir;
  int queries = 2000;
  double append_seconds = 10;
  int append_callers = 64;
  int demo_concurrency = 16;
  std::string json_path;
  app.add_option("--events", events,
                 "load demo networks until the log holds this many events");
  app.add_option("--data_dir", data_dir,
                 "server data directory; reused if it exists (default: a "
                 "scratch directory, removed after)");
  app.add_option("--queries", queries, "queries of each kind");
  app.add_option("--append_seconds", append_seconds,
                 "length of the projection-lag run");
  app.add_option("--append_callers", append_callers,
                 "concurrent appenders during the projection-lag run");
  app.add_option("--demo_concurrency", demo_concurrency,
                 "clients loaded in parallel");
  app.add_option("--json", json_path, "also write the figures to this file");
  CLI11_PARSE(app, argc, argv);

  const bool scratch = data_dir.empty();
  if (scratch) {
    data_dir = absl::StrCat(std::filesystem::temp_directory_path().string(),
                            "/caseline-views-bench-", getpid());
  }
  caseline::server::ServerOptions options;
  options.data_dir = data_dir;
  options.listen = "127.0.0.1:0";
  auto server = caseline::server::CaselineServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start: %s\n",
                 server.status().ToString().c_str());
    return 1;
  }
  caseline::server::CaselineServer& s = **server;
  auto& engine = s.projections();
  const auto load_start = Clock::now();
  if (!LoadDemo(s, events, demo_concurrency)) return 1;
  const uint64_t head = s.event_log().HeadPosition();
  std::fprintf(stderr, "log holds %lu events (loaded in %.0f s)\n",
               static_cast<unsigned long>(head),
               MillisSince(load_start) / 1000);
  for (const std::string& name : engine.names()) {
    (void)engine.WaitForPosition(name, head, absl::Now() + absl::Minutes(30));
  }
  std::vector<Row> rows;

  // --- Rebuild -------------------------------------------------------------
  const double scan = ScanEventsPerSecond(s.event_log());
  const std::string scan_text = absl::StrFormat("log scan %.0f events/s", scan);
  for (const std::string& name : engine.names()) {
    const double rate = RebuildEventsPerSecond(engine, {name}, head);
    rows.push_back({absl::StrCat("rebuild ", name, " (", head, " events)"),
                    absl::StrFormat("%.0f events/s", rate), scan_text,
                    absl::StrFormat("%.2f", rate / scan)});
  }
  const double all = RebuildEventsPerSecond(engine, engine.names(), head);
  rows.push_back({"rebuild all, concurrently",
                  absl::StrFormat("%.0f events/s", all), scan_text,
                  absl::StrFormat("%.2f", all / scan)});

  // --- Query latency --------------------------------------------------------
  auto channel =
      grpc::CreateChannel(s.address(), grpc::InsecureChannelCredentials());
  auto continuity = caseline::v1::ContinuityViews::NewStub(channel);
  grpc::GenericStub generic(channel);
  std::mt19937_64 random(7);
  std::vector<std::string> organizations;
  {
    caseline::eventstore::ReadStreamOptions read;
    read.max_count = 1000;
    auto page = s.event_log().ReadStream("organizations", read);
    if (page.ok()) {
      for (const auto& e : page->events) {
        caseline::v1::CareEvent event;
        if (event.ParseFromString(e.payload) &&
            event.has_organization_registered()) {
          organizations.push_back(
              event.organization_registered().organization_id());
        }
      }
    }
  }
  std::vector<double> empty_ms, worklist_ms, summary_ms, agency_summary_ms;
  grpc::Slice empty_slice;
  const grpc::ByteBuffer empty_request(&empty_slice, 1);
  for (int i = 0; i < queries; ++i) {
    {
      grpc::ClientContext context;
      grpc::ByteBuffer response;
      const auto start = Clock::now();
      caseline::Mutex mu;
      caseline::CondVar cv(&mu);
      bool done = false;
      generic.UnaryCall(&context, "/grpc.health.v1.Health/Check",
                        grpc::StubOptions(), &empty_request, &response,
                        [&](grpc::Status) {
                          caseline::MutexLock lock(&mu);
                          done = true;
                          cv.SignalAll();
                        });
      caseline::MutexLock lock(&mu);
      while (!done) cv.Wait();
      empty_ms.push_back(MillisSince(start));
    }
    if (!organizations.empty()) {
      caseline::v1::GetWorklistRequest request;
      request.set_organization_id(
          organizations[random() % organizations.size()]);
      request.set_page_size(50);
      grpc::ClientContext context;
      caseline::v1::GetWorklistResponse response;
      const auto start = Clock::now();
      (void)continuity->GetWorklist(&context, request, &response);
      worklist_ms.push_back(MillisSince(start));
    }
    {
      caseline::v1::GetClientSummaryRequest request;
      request.set_client_id(
          absl::StrFormat("s1-c%05d", static_cast<int>(1 + random() % 1000)));
      grpc::ClientContext context;
      caseline::v1::GetClientSummaryResponse response;
      const auto start = Clock::now();
      (void)continuity->GetClientSummary(&context, request, &response);
      summary_ms.push_back(MillisSince(start));
    }
    {
      // The same query as the organisation that registered the client: the
      // consent decision folds the client's stream, and the read of the
      // others' events is recorded (a synced append) before the answer.
      const std::string client =
          absl::StrFormat("s1-c%05d", static_cast<int>(1 + random() % 1000));
      caseline::eventstore::ReadStreamOptions first;
      first.max_count = 1;
      auto page = s.event_log().ReadStream("client-" + client, first);
      if (page.ok() && !page->events.empty()) {
        caseline::v1::GetClientSummaryRequest request;
        request.set_client_id(client);
        grpc::ClientContext context;
        context.AddMetadata("x-caseline-org",
                            page->events[0].actor.organization_id);
        caseline::v1::GetClientSummaryResponse response;
        const auto start = Clock::now();
        (void)continuity->GetClientSummary(&context, request, &response);
        agency_summary_ms.push_back(MillisSince(start));
      }
    }
  }
  const std::string empty_text =
      absl::StrFormat("empty call p50 %.3f / p99 %.3f ms",
                      Percentile(empty_ms, 0.5), Percentile(empty_ms, 0.99));
  rows.push_back(
      {"worklist query, 50 items (1 caller)",
       absl::StrFormat("p50 %.3f / p99 %.3f ms", Percentile(worklist_ms, 0.5),
                       Percentile(worklist_ms, 0.99)),
       empty_text,
       absl::StrFormat("p99 %.1fx", Percentile(worklist_ms, 0.99) /
                                        Percentile(empty_ms, 0.99))});
  rows.push_back(
      {"client summary query (1 caller)",
       absl::StrFormat("p50 %.3f / p99 %.3f ms", Percentile(summary_ms, 0.5),
                       Percentile(summary_ms, 0.99)),
       empty_text,
       absl::StrFormat("p99 %.1fx", Percentile(summary_ms, 0.99) /
                                        Percentile(empty_ms, 0.99))});
  rows.push_back(
      {"client summary as an agency: consent check + access record (1 caller)",
       absl::StrFormat("p50 %.3f / p99 %.3f ms",
                       Percentile(agency_summary_ms, 0.5),
                       Percentile(agency_summary_ms, 0.99)),
       absl::StrFormat("operator summary p50 %.3f / p99 %.3f ms",
                       Percentile(summary_ms, 0.5),
                       Percentile(summary_ms, 0.99)),
       absl::StrFormat("p99 %.1fx", Percentile(agency_summary_ms, 0.99) /
                                        Percentile(summary_ms, 0.99))});

  // --- Projection lag under append load
  // --------------------------------------- Appenders write typed care events
  // (goal progress on demo clients) as fast as they are acknowledged; a sampler
  // notes each projection's position every millisecond. An append's lag is the
  // time from its acknowledgement to the first sample at which every projection
  // had applied it.
  struct Ack {
    Clock::time_point at;
    uint64_t position;
  };
  std::vector<std::vector<Ack>> acks(append_callers);
  std::vector<std::pair<Clock::time_point, uint64_t>> samples;
  std::atomic<bool> stop{false};
  std::thread sampler([&] {
    while (!stop.load()) {
      uint64_t applied = UINT64_MAX;
      for (const auto& status : engine.Status()) {
        applied = std::min<uint64_t>(applied, status.position());
      }
      samples.emplace_back(Clock::now(), applied);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> appenders;
  const auto lag_start = Clock::now();
  for (int c = 0; c < append_callers; ++c) {
    appenders.emplace_back([&, c] {
      std::mt19937_64 r(c);
      const auto until =
          lag_start + std::chrono::milliseconds(
                          static_cast<int64_t>(append_seconds * 1000));
      while (Clock::now() < until) {
        caseline::v1::CareEvent event;
        event.mutable_goal_progress_recorded()->set_goal_id("bench-goal");
        event.mutable_goal_progress_recorded()->set_percent_achieved(
            static_cast<int32_t>(r() % 100));
        caseline::eventstore::AppendRequest request;
        request.stream_id = absl::StrFormat("client-s1-c%05d",
                                            static_cast<int>(1 + r() % 1000));
        auto& e = request.events.emplace_back();
        e.event_type = "GoalProgressRecorded";
        e.content_type = caseline::v1::kCareEventContentType;
        e.payload = event.SerializeAsString();
        e.actor.organization_id = "bench";
        auto result = s.event_log().Append(std::move(request));
        if (result.ok()) {
          acks[c].push_back({Clock::now(), result->last_position});
        }
      }
    });
  }
  for (auto& t : appenders) t.join();
  const double append_elapsed_s = MillisSince(lag_start) / 1000;
  const uint64_t final_head = s.event_log().HeadPosition();
  for (const std::string& name : engine.names()) {
    (void)engine.WaitForPosition(name, final_head,
                                 absl::Now() + absl::Minutes(5));
  }
  stop = true;
  sampler.join();
  std::vector<double> lag_ms;
  uint64_t appended = 0;
  for (const auto& per_caller : acks) {
    appended += per_caller.size();
    for (const Ack& ack : per_caller) {
      auto it = std::lower_bound(samples.begin(), samples.end(), ack.at,
                                 [](const auto& sample, Clock::time_point t) {
                                   return sample.first < t;
                                 });
      for (; it != samples.end(); ++it) {
        if (it->second >= ack.position) {
          lag_ms.push_back(
              std::chrono::duration<double, std::milli>(it->first - ack.at)
                  .count());
          break;
        }
      }
    }
  }
  if (append_seconds > 0)
    rows.push_back(
        {absl::StrFormat("projection lag, %d appenders", append_callers),
         absl::StrFormat("p50 %.1f / p99 %.1f ms", Percentile(lag_ms, 0.5),
                         Percentile(lag_ms, 0.99)),
         absl::StrFormat("appends %.0f events/s", appended / append_elapsed_s),
         ""});

  std::printf(
      "\ncaseline-views-bench: %lu events, %zu organisations, %d "
      "queries of each kind\n\n",
      static_cast<unsigned long>(head), organizations.size(), queries);
  Print(rows);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << "[\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      out << absl::StrFormat(
          "  {\"measure\": \"%s\", \"result\": \"%s\", \"baseline\": \"%s\", "
          "\"ratio\": \"%s\"}%s\n",
          rows[i].what, rows[i].figure, rows[i].baseline, rows[i].ratio,
          i + 1 < rows.size() ? "," : "");
    }
    out << "]\n";
  }
  s.Shutdown(absl::Seconds(10));
  server->reset();
  if (scratch) std::filesystem::remove_all(data_dir);
  return 0;
}
