#include "bench/scale_scenarios.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event_log.h"
#include "base/mutex.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "projections/projection_engine.h"
#include "tools/demo/demo.h"

extern char** environ;

namespace caseline::bench {

namespace v1 = caseline::v1;

absl::Status LoadDemo(server::CaselineServer& server, uint64_t events,
                      int concurrency) {
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  uint64_t seed = 1;
  while (server.event_log().HeadPosition() < events) {
    const uint64_t head = server.event_log().HeadPosition();
    tools::DemoOptions options;
    options.seed = seed++;
    // About 30 events per synthetic client; aim a little past the target.
    options.clients = static_cast<int>(
        std::min<uint64_t>(1000000, (events - head) / 25 + 100));
    options.concurrency = concurrency;
    options.base_date = absl::CivilDay(2026, 11, 1);
    std::fprintf(stderr,
                 "loading demo seed %lu: %d clients (log at %lu of %lu)\n",
                 static_cast<unsigned long>(options.seed), options.clients,
                 static_cast<unsigned long>(head),
                 static_cast<unsigned long>(events));
    options.progress = [](const std::string& line) {
      std::fprintf(stderr, "  %s\n", line.c_str());
    };
    auto summary = tools::RunDemo(channel, options);
    if (!summary.ok()) return summary.status();
  }
  return absl::OkStatus();
}

absl::Status FillLog(server::CaselineServer& server, uint64_t events) {
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> next_stream{0};
  const std::string payload = std::string(R"({"client":"fill","note":")") +
                              std::string(172, 'x') + "\"}";
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (!failed && server.event_log().HeadPosition() < events) {
        eventstore::AppendRequest request;
        request.stream_id = absl::StrCat("fill-", next_stream++);
        for (int i = 0; i < 100; ++i) {
          auto& e = request.events.emplace_back();
          e.event_type = "BenchmarkNoted";
          e.content_type = "application/json";
          e.payload = payload;
          e.actor.organization_id = "bench";
        }
        if (!server.event_log().Append(std::move(request)).ok()) failed = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) return absl::InternalError("fill: an append failed");
  return absl::OkStatus();
}

double ScanEventsPerSecond(eventstore::EventLog& log) {
  const auto start = Clock::now();
  eventstore::ReadAllOptions read;
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

double RebuildEventsPerSecond(projections::ProjectionEngine& engine,
                              const std::vector<std::string>& names,
                              uint64_t head) {
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (const std::string& name : names) {
    threads.emplace_back([&engine, name] {
      absl::Status status = engine.Rebuild(
          name, [](const v1::RebuildProjectionResponse&) { return true; });
      if (!status.ok()) {
        std::fprintf(stderr, "rebuild %s: %s\n", name.c_str(),
                     status.ToString().c_str());
      }
    });
  }
  for (auto& t : threads) t.join();
  return head / (MillisSince(start) / 1000);
}

namespace {

// Blocks for one empty call; returns its latency in ms, or -1 on failure.
double EmptyCallMillis(grpc::GenericStub& generic) {
  grpc::Slice empty_slice;
  const grpc::ByteBuffer request(&empty_slice, 1);
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  caseline::Mutex mu;
  caseline::CondVar cv(&mu);
  bool done = false;
  bool ok = false;
  const auto start = Clock::now();
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check",
                    grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) {
                      caseline::MutexLock lock(&mu);
                      ok = s.ok();
                      done = true;
                      cv.SignalAll();
                    });
  caseline::MutexLock lock(&mu);
  while (!done) cv.Wait();
  return ok ? MillisSince(start) : -1;
}

// VmRSS of `pid` in MiB, 0 when unreadable.
double RssMiB(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      int64_t kib = 0;
      std::string digits;
      for (char c : line)
        if (c >= '0' && c <= '9') digits.push_back(c);
      if (absl::SimpleAtoi(digits, &kib)) return kib / 1024.0;
    }
  }
  return 0;
}

}  // namespace

void MeasureRebuild(server::CaselineServer& server, Report& report) {
  auto& engine = server.projections();
  const uint64_t head = server.event_log().HeadPosition();
  const double scan = ScanEventsPerSecond(server.event_log());
  const std::string scenario =
      absl::StrCat("projection rebuild, ", head, " events");
  report.Add({.scenario = scenario,
              .system = "baseline: bare log scan",
              .events_per_second = scan});
  for (const std::string& name : engine.names()) {
    const double rate = RebuildEventsPerSecond(engine, {name}, head);
    report.Add({.scenario = scenario,
                .system = absl::StrCat("caseline: ", name),
                .events_per_second = rate,
                .versus = Ratio(rate, scan) + " of scan"});
  }
  const double all = RebuildEventsPerSecond(engine, engine.names(), head);
  report.Add({.scenario = scenario,
              .system = "caseline: all, concurrently",
              .events_per_second = all,
              .versus = Ratio(all, scan) + " of scan"});
}

void MeasureQueries(server::CaselineServer& server, int queries,
                    Report& report) {
  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto continuity = v1::ContinuityViews::NewStub(channel);
  grpc::GenericStub generic(channel);
  std::mt19937_64 random(7);
  std::vector<std::string> organizations;
  {
    eventstore::ReadStreamOptions read;
    read.max_count = 1000;
    auto page = server.event_log().ReadStream("organizations", read);
    if (page.ok()) {
      for (const auto& e : page->events) {
        v1::CareEvent event;
        if (event.ParseFromString(e.payload) &&
            event.has_organization_registered()) {
          organizations.push_back(
              event.organization_registered().organization_id());
        }
      }
    }
  }
  std::vector<double> empty_ms, worklist_ms, summary_ms, agency_summary_ms;
  for (int i = 0; i < queries; ++i) {
    empty_ms.push_back(EmptyCallMillis(generic));
    if (!organizations.empty()) {
      v1::GetWorklistRequest request;
      request.set_organization_id(
          organizations[random() % organizations.size()]);
      request.set_page_size(50);
      grpc::ClientContext context;
      v1::GetWorklistResponse response;
      const auto start = Clock::now();
      (void)continuity->GetWorklist(&context, request, &response);
      worklist_ms.push_back(MillisSince(start));
    }
    const std::string client =
        absl::StrFormat("s1-c%05d", static_cast<int>(1 + random() % 1000));
    {
      v1::GetClientSummaryRequest request;
      request.set_client_id(client);
      grpc::ClientContext context;
      v1::GetClientSummaryResponse response;
      const auto start = Clock::now();
      (void)continuity->GetClientSummary(&context, request, &response);
      summary_ms.push_back(MillisSince(start));
    }
    {
      // The same query as the organisation that registered the client: the
      // consent decision folds the client's stream, and the read of the
      // others' events is recorded (a synced append) before the answer.
      eventstore::ReadStreamOptions first;
      first.max_count = 1;
      auto page = server.event_log().ReadStream("client-" + client, first);
      if (page.ok() && !page->events.empty()) {
        v1::GetClientSummaryRequest request;
        request.set_client_id(client);
        grpc::ClientContext context;
        context.AddMetadata("x-caseline-org",
                            page->events[0].actor.organization_id);
        v1::GetClientSummaryResponse response;
        const auto start = Clock::now();
        (void)continuity->GetClientSummary(&context, request, &response);
        agency_summary_ms.push_back(MillisSince(start));
      }
    }
  }
  const uint64_t head = server.event_log().HeadPosition();
  const std::string scenario =
      absl::StrCat("view query, ", head, " events, 1 caller");
  const double empty_p99 = Percentile(empty_ms, 0.99);
  report.Add({.scenario = scenario,
              .system = "transport ceiling: empty call",
              .callers = 1,
              .p50_ms = Percentile(empty_ms, 0.5),
              .p99_ms = empty_p99,
              .figure = absl::StrCat(queries, " calls")});
  const auto add = [&](const std::string& system,
                       const std::vector<double>& ms) {
    report.Add({.scenario = scenario,
                .system = system,
                .callers = 1,
                .p50_ms = Percentile(ms, 0.5),
                .p99_ms = Percentile(ms, 0.99),
                .figure = absl::StrCat(ms.size(), " queries"),
                .versus = absl::StrFormat("p99 %.1fx the empty call",
                                          Percentile(ms, 0.99) / empty_p99)});
  };
  add("caseline: worklist, 50 items", worklist_ms);
  add("caseline: client summary", summary_ms);
  add("caseline: summary as an agency", agency_summary_ms);
}

absl::StatusOr<Startup> MeasureStartup(const std::string& caselined,
                                       const std::string& data_dir,
                                       int queries) {
  const std::string address_file =
      absl::StrCat(data_dir, ".address-", getpid());
  std::filesystem::remove(address_file);
  std::vector<std::string> args = {caselined,
                                   "--data_dir=" + data_dir,
                                   "--listen=127.0.0.1:0",
                                   "--listen_address_file=" + address_file,
                                   "--log_level=warn"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const auto start = Clock::now();
  if (posix_spawn(&pid, caselined.c_str(), nullptr, nullptr, argv.data(),
                  environ) != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", caselined));
  }
  const auto stop = [&] {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    std::filesystem::remove(address_file);
  };
  Startup result;
  std::string address;
  while (MillisSince(start) < 120000) {
    std::ifstream in(address_file);
    if (std::getline(in, address) && !address.empty()) break;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return absl::InternalError(
          absl::StrCat(caselined, " exited while starting on ", data_dir));
    }
    absl::SleepFor(absl::Microseconds(500));
  }
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  while (EmptyCallMillis(generic) < 0) {
    if (MillisSince(start) > 120000) {
      stop();
      return absl::DeadlineExceededError("caselined did not serve in 2 min");
    }
    absl::SleepFor(absl::Microseconds(500));
  }
  result.serving_ms = MillisSince(start);
  result.rss_mib = RssMiB(pid);
  auto log = v1::EventLog::NewStub(channel);
  {
    v1::ReadAllRequest request;
    request.set_direction(v1::BACKWARD);
    request.set_max_count(1);
    grpc::ClientContext context;
    v1::ReadAllResponse response;
    if (log->ReadAll(&context, request, &response).ok() &&
        response.events_size() > 0) {
      result.head = response.events(0).global_position();
    }
  }
  auto continuity = v1::ContinuityViews::NewStub(channel);
  std::mt19937_64 random(11);
  for (int i = 0; i < queries; ++i) {
    v1::GetClientSummaryRequest request;
    request.set_client_id(
        absl::StrFormat("s1-c%05d", static_cast<int>(1 + random() % 1000)));
    grpc::ClientContext context;
    v1::GetClientSummaryResponse response;
    (void)continuity->GetClientSummary(&context, request, &response);
  }
  result.rss_after_mib = RssMiB(pid);
  stop();
  return result;
}

}  // namespace caseline::bench
