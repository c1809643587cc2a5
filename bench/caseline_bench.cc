// caseline-bench: throughput and latency of caselined over gRPC, with the
// transport ceiling (empty health-check calls at the same concurrency) measured
// in the same run. Prints a table and, with --json, writes the numbers.
//
// Each scenario runs N closed-loop callers: every caller keeps exactly one call
// in flight, issuing the next as soon as the previous completes, through gRPC's
// callback client API (no thread per caller).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/mutex.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "server/server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  std::string scenario;
  int callers = 0;
  int events_per_call = 0;
  double calls_per_second = 0;
  double events_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t errors = 0;
};

// Runs `callers` closed loops of `start_call(caller, done)` for `duration`
// after `warmup`; `done(ok)` must be called once per call, from any thread.
Result RunClosedLoop(
    const std::string& name, int callers, int events_per_call,
    absl::Duration warmup, absl::Duration duration,
    const std::function<void(int caller, std::function<void(bool)> done)>&
        start_call) {
  struct Caller {
    std::vector<double> latencies_ms;
    Clock::time_point started;
  };
  std::vector<Caller> state(callers);
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> errors{0};
  caseline::Mutex mu;
  caseline::CondVar all_stopped(&mu);
  int running = callers;

  std::function<void(int)> issue = [&](int c) {
    state[c].started = Clock::now();
    start_call(c, [&, c](bool ok) {
      if (measuring) {
        const double ms = std::chrono::duration<double, std::milli>(
                              Clock::now() - state[c].started)
                              .count();
        state[c].latencies_ms.push_back(ms);
        calls++;
        if (!ok) errors++;
      }
      if (stopping) {
        caseline::MutexLock lock(&mu);
        if (--running == 0) all_stopped.SignalAll();
        return;
      }
      issue(c);
    });
  };
  for (int c = 0; c < callers; ++c) issue(c);
  absl::SleepFor(warmup);
  measuring = true;
  const Clock::time_point begin = Clock::now();
  absl::SleepFor(duration);
  measuring = false;
  const double seconds =
      std::chrono::duration<double>(Clock::now() - begin).count();
  stopping = true;
  {
    caseline::MutexLock lock(&mu);
    while (running > 0) all_stopped.Wait();
  }

  std::vector<double> all;
  for (auto& s : state)
    all.insert(all.end(), s.latencies_ms.begin(), s.latencies_ms.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.scenario = name;
  r.callers = callers;
  r.events_per_call = events_per_call;
  r.calls_per_second = calls / seconds;
  r.events_per_second = r.calls_per_second * events_per_call;
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  r.errors = errors;
  return r;
}

class Bench {
 public:
  Bench(std::shared_ptr<grpc::Channel> channel, absl::Duration warmup,
        absl::Duration duration)
      : channel_(channel),
        stub_(caseline::v1::EventLog::NewStub(channel)),
        generic_(channel),
        warmup_(warmup),
        duration_(duration) {
    payload_ = std::string(R"({"client":"bench","note":")") +
               std::string(160, 'x') + "\"}";
  }

  Result HealthCheck(int callers) {
    grpc::Slice empty;
    const grpc::ByteBuffer request(&empty, 1);
    return RunClosedLoop("empty call (health check)", callers, 1, warmup_,
                         duration_, [&](int, std::function<void(bool)> done) {
                           struct Call {
                             grpc::ClientContext context;
                             grpc::ByteBuffer response;
                           };
                           auto* call = new Call;
                           generic_.UnaryCall(
                               &call->context, "/grpc.health.v1.Health/Check",
                               grpc::StubOptions(), &request, &call->response,
                               [call, done](grpc::Status s) {
                                 delete call;
                                 done(s.ok());
                               });
                         });
  }

  Result Append(int callers, int events_per_call) {
    const std::string name =
        events_per_call == 1
            ? "durable append, 1 event"
            : absl::StrCat("durable append, ", events_per_call, "-event batch");
    const int run = runs_++;
    return RunClosedLoop(
        name, callers, events_per_call, warmup_, duration_,
        [&, run, events_per_call](int caller, std::function<void(bool)> done) {
          struct Call {
            grpc::ClientContext context;
            caseline::v1::AppendRequest request;
            caseline::v1::AppendResponse response;
          };
          auto* call = new Call;
          call->request.set_stream_id(
              absl::StrCat("client-", run, "-", caller));
          for (int i = 0; i < events_per_call; ++i) {
            caseline::v1::EventData* e = call->request.add_events();
            e->set_event_type("BenchmarkNoted");
            e->set_content_type("application/json");
            e->set_payload(payload_);
          }
          stub_->async()->Append(&call->context, &call->request,
                                 &call->response, [call, done](grpc::Status s) {
                                   if (!s.ok()) {
                                     std::fprintf(stderr, "append failed: %s\n",
                                                  s.error_message().c_str());
                                   }
                                   delete call;
                                   done(s.ok());
                                 });
        });
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<caseline::v1::EventLog::Stub> stub_;
  grpc::GenericStub generic_;
  const absl::Duration warmup_;
  const absl::Duration duration_;
  std::string payload_;
  int runs_ = 0;
};

void PrintRow(const Result& r, const std::string& versus) {
  std::printf("%-32s %7d %12.0f %12.0f %9.3f %9.3f %8llu  %s\n",
              r.scenario.c_str(), r.callers, r.calls_per_second,
              r.events_per_second, r.p50_ms, r.p99_ms,
              static_cast<unsigned long long>(r.errors), versus.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "caseline-bench: caselined throughput and latency, with the transport "
      "ceiling measured in the same run."};
  app.option_defaults()->always_capture_default();
  std::string server;
  std::string data_dir;
  double seconds = 3;
  double warmup_seconds = 0.5;
  std::string json_path;
  std::vector<int> caller_counts = {1, 8, 64};
  std::vector<int> batch_callers = {1, 8};
  app.add_option("--callers", caller_counts,
                 "concurrent callers for the empty-call and 1-event scenarios")
      ->delimiter(',');
  app.add_option(
         "--batch_callers", batch_callers,
         "concurrent callers for the 100-event batch scenario (0: skip)")
      ->delimiter(',');
  app.add_option("--server", server,
                 "benchmark a running caselined at host:port instead of an "
                 "in-process one");
  app.add_option("--data_dir", data_dir,
                 "data directory for the in-process server (default: a fresh "
                 "temporary directory, removed afterwards)");
  app.add_option("--seconds", seconds, "measured time per scenario")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup_seconds,
                 "unmeasured time before each scenario");
  app.add_option("--json", json_path,
                 "also write the results to this JSON file");
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<caseline::server::CaselineServer> in_process;
  std::filesystem::path temp_dir;
  if (server.empty()) {
    if (data_dir.empty()) {
      temp_dir = std::filesystem::temp_directory_path() /
                 absl::StrCat("caseline-bench-", getpid());
      std::filesystem::remove_all(temp_dir);
      data_dir = temp_dir.string();
    }
    caseline::server::ServerOptions options;
    options.data_dir = data_dir;
    options.listen = "127.0.0.1:0";
    auto started = caseline::server::CaselineServer::Start(options);
    if (!started.ok()) {
      std::fprintf(stderr, "caseline-bench: %s\n",
                   started.status().ToString().c_str());
      return 1;
    }
    in_process = *std::move(started);
    server = in_process->address();
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  Bench bench(grpc::CreateCustomChannel(
                  server, grpc::InsecureChannelCredentials(), args),
              absl::Seconds(warmup_seconds), absl::Seconds(seconds));

  std::printf(
      "caseline-bench: server %s (%s), %u hardware threads, %.1f s per "
      "scenario\n",
      server.c_str(), in_process ? "in-process" : "external",
      std::thread::hardware_concurrency(), seconds);
  std::printf("%-32s %7s %12s %12s %9s %9s %8s  %s\n", "scenario", "callers",
              "calls/s", "events/s", "p50 ms", "p99 ms", "errors",
              "vs. empty calls");
  std::vector<Result> results;
  for (int callers : caller_counts) {
    if (callers <= 0) continue;
    const Result ceiling = bench.HealthCheck(callers);
    PrintRow(ceiling, "(ceiling)");
    const Result append = bench.Append(callers, 1);
    PrintRow(append, absl::StrFormat("%.0f%% of calls/s",
                                     100 * append.calls_per_second /
                                         ceiling.calls_per_second));
    results.push_back(ceiling);
    results.push_back(append);
  }
  for (int callers : batch_callers) {
    if (callers <= 0) continue;
    const Result batch = bench.Append(callers, 100);
    PrintRow(batch, "");
    results.push_back(batch);
  }

  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << "{\"server\":\"" << (in_process ? "in-process" : "external")
        << "\",\"hardware_threads\":" << std::thread::hardware_concurrency()
        << ",\"seconds_per_scenario\":" << seconds << ",\"results\":[";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      out << (i ? "," : "")
          << absl::StrFormat(
                 "{\"scenario\":\"%s\",\"callers\":%d,\"events_per_call\":%d,"
                 "\"calls_per_second\":%.1f,\"events_per_second\":%.1f,"
                 "\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"errors\":%d}",
                 r.scenario, r.callers, r.events_per_call, r.calls_per_second,
                 r.events_per_second, r.p50_ms, r.p99_ms, r.errors);
    }
    out << "]}\n";
  }
  in_process.reset();
  if (!temp_dir.empty()) std::filesystem::remove_all(temp_dir);
  return 0;
}
