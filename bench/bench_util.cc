#include "bench/bench_util.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/mutex.h"
#include "nlohmann/json.hpp"

namespace caseline::bench {

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(
      values.size() - 1, static_cast<size_t>(std::llround(
                             p * static_cast<double>(values.size() - 1))));
  return values[index];
}

namespace {

// Latencies and counts of one caller; written only by that caller's calls.
struct CallerStats {
  std::vector<double> latencies_ms;
  uint64_t errors = 0;
};

Load Summarize(const std::vector<CallerStats>& stats, int events_per_call,
               double seconds) {
  std::vector<double> all;
  Load load;
  for (const CallerStats& s : stats) {
    all.insert(all.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    load.errors += s.errors;
  }
  load.ops = all.size();
  load.ops_per_second = static_cast<double>(all.size() - load.errors) / seconds;
  load.events_per_second = load.ops_per_second * events_per_call;
  load.p50_ms = Percentile(all, 0.5);
  load.p99_ms = Percentile(std::move(all), 0.99);
  return load;
}

}  // namespace

Load RunAsyncClosedLoop(int callers, int events_per_call, absl::Duration warmup,
                        absl::Duration duration, const StartCall& start_call) {
  std::vector<CallerStats> stats(callers);
  std::vector<Clock::time_point> started(callers);
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  caseline::Mutex mu;
  caseline::CondVar all_stopped(&mu);
  int running = callers;

  std::function<void(int)> issue = [&](int c) {
    started[c] = Clock::now();
    start_call(c, [&, c](bool ok) {
      if (measuring) {
        stats[c].latencies_ms.push_back(MillisSince(started[c]));
        if (!ok) stats[c].errors++;
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
  const double seconds = MillisSince(begin) / 1000;
  stopping = true;
  {
    caseline::MutexLock lock(&mu);
    while (running > 0) all_stopped.Wait();
  }
  return Summarize(stats, events_per_call, seconds);
}

Load RunThreadClosedLoop(int callers, int events_per_call,
                         absl::Duration warmup, absl::Duration duration,
                         const std::function<bool(int caller)>& call) {
  std::vector<CallerStats> stats(callers);
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::vector<std::thread> threads;
  threads.reserve(callers);
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      while (!stopping) {
        const Clock::time_point start = Clock::now();
        const bool ok = call(c);
        if (measuring) {
          stats[c].latencies_ms.push_back(MillisSince(start));
          if (!ok) stats[c].errors++;
        }
      }
    });
  }
  absl::SleepFor(warmup);
  measuring = true;
  const Clock::time_point begin = Clock::now();
  absl::SleepFor(duration);
  measuring = false;
  const double seconds = MillisSince(begin) / 1000;
  stopping = true;
  for (std::thread& t : threads) t.join();
  return Summarize(stats, events_per_call, seconds);
}

double SelfRssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtod(line.c_str() + 6, nullptr) / 1024;  // kB
    }
  }
  return 0;
}

int SelfThreads() {
  std::error_code error;
  int threads = 0;
  for (std::filesystem::directory_iterator it("/proc/self/task", error), end;
       !error && it != end; it.increment(error)) {
    threads++;
  }
  return threads;
}

std::string Ratio(double a, double b) {
  if (b <= 0) return "";
  const double r = a / b;
  if (r < 1.5) return absl::StrFormat("%.0f%%", 100 * r);
  return absl::StrFormat("%.1fx", r);
}

void Report::Add(Row row) { rows_.push_back(std::move(row)); }

void Report::Print(const std::string& heading) const {
  std::printf("\n%s\n\n", heading.c_str());
  std::printf("%-40s %-34s %7s %-28s %8s %8s  %s\n", "scenario", "system",
              "callers", "result", "p50 ms", "p99 ms", "caseline vs. this");
  std::string previous;
  for (const Row& r : rows_) {
    if (r.scenario != previous && !previous.empty()) std::printf("\n");
    previous = r.scenario;
    std::string result = r.figure;
    if (result.empty() && r.events_per_second > 0) {
      result = absl::StrFormat("%.0f events/s", r.events_per_second);
    }
    if (r.errors > 0) absl::StrAppendFormat(&result, " (%d errors)", r.errors);
    const std::string callers =
        r.callers > 0 ? absl::StrFormat("%d", r.callers) : "";
    const std::string p50 =
        r.p50_ms > 0 ? absl::StrFormat("%.3f", r.p50_ms) : "";
    const std::string p99 =
        r.p99_ms > 0 ? absl::StrFormat("%.3f", r.p99_ms) : "";
    std::printf("%-40s %-34s %7s %-28s %8s %8s  %s\n", r.scenario.c_str(),
                r.system.c_str(), callers.c_str(), result.c_str(), p50.c_str(),
                p99.c_str(), r.versus.c_str());
  }
  std::fflush(stdout);
}

bool Report::WriteJson(
    const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& machine) const {
  nlohmann::json json;
  for (const auto& [key, value] : machine) json["machine"][key] = value;
  json["rows"] = nlohmann::json::array();
  for (const Row& r : rows_) {
    nlohmann::json row = {{"scenario", r.scenario}, {"system", r.system}};
    if (r.callers > 0) row["callers"] = r.callers;
    if (r.events_per_second > 0) row["events_per_second"] = r.events_per_second;
    if (r.p50_ms > 0) row["p50_ms"] = r.p50_ms;
    if (r.p99_ms > 0) row["p99_ms"] = r.p99_ms;
    if (!r.figure.empty()) row["figure"] = r.figure;
    if (!r.versus.empty()) row["caseline_vs_this"] = r.versus;
    row["errors"] = r.errors;
    for (const auto& [name, value] : r.metrics) row["metrics"][name] = value;
    json["rows"].push_back(std::move(row));
  }
  std::ofstream out(path);
  out << json.dump(2) << "\n";
  return static_cast<bool>(out);
}

}  // namespace caseline::bench
