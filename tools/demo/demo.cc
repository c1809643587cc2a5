// The public face of the demo (tools/demo/demo.h): plans the jobs (one
// scenario, or one synthetic client and its twin) and sends them.
#include "tools/demo/demo.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/mutex.h"
#include "caseline/v1/care_record.pb.h"
#include "tools/demo/common.h"
#include "tools/demo/history.h"
#include "tools/demo/network.h"
#include "tools/demo/scenarios.h"
#include "tools/demo/sender.h"
#include "tools/demo/synthetic_client.h"

namespace caseline::tools {
namespace {

using demo::HasTwin;
using demo::PlannedCommand;
using demo::Sender;
using demo::StartOf;

// ============================================================================
// Jobs: one scenario, or one synthetic client and its twin
// ============================================================================

// Jobs 0..5 are the six scenarios, job 6 the twins example.
constexpr int kNamedJobs = 7;

struct Job {
  std::vector<PlannedCommand> commands;
  int64_t scenario_clients = 0;
  int64_t example_clients = 0;
  int64_t duplicates = 0;
};

Job PlanJob(int job, uint64_t seed, absl::Time cutoff) {
  Job out;
  switch (job) {
    case 0:
      demo::ReentryScenario(cutoff, &out.commands);
      out.scenario_clients = 1;
      return out;
    case 1:
      demo::StrokeScenario(cutoff, &out.commands);
      out.scenario_clients = 1;
      return out;
    case 2:
      demo::OlderCoupleScenario(cutoff, &out.commands);
      out.scenario_clients = 2;
      return out;
    case 3:
      demo::DisplacedFamilyScenario(cutoff, &out.commands);
      out.scenario_clients = 3;
      return out;
    case 4:
      demo::FosterScenario(cutoff, &out.commands);
      out.scenario_clients = 2;
      return out;
    case 5:
      demo::VeteranScenario(cutoff, &out.commands);
      out.scenario_clients = 1;
      return out;
    case 6:
      demo::TwinsExample(cutoff, &out.commands);
      out.example_clients = 2;
      return out;
    default:
      break;
  }
  out.duplicates = demo::PlanSyntheticClient(seed, job - kNamedJobs + 1, cutoff,
                                             &out.commands) -
                   1;
  return out;
}

void Count(const PlannedCommand& command, const v1::CommandResult& result,
           DemoSummary* summary) {
  ++summary->commands;
  if (result.already_applied()) {
    ++summary->already_applied;
  } else {
    summary->events_written += result.event_types_size();
  }
  for (const std::string& type : result.event_types())
    ++summary->events_by_type[type];
  if (command.event.has_client_registered()) ++summary->clients;
  if (command.event.has_organization_registered()) ++summary->organizations;
}

void Merge(const DemoSummary& from, DemoSummary* into) {
  into->organizations += from.organizations;
  into->clients += from.clients;
  into->scenario_clients += from.scenario_clients;
  into->example_clients += from.example_clients;
  into->duplicate_registrations += from.duplicate_registrations;
  into->commands += from.commands;
  into->events_written += from.events_written;
  into->already_applied += from.already_applied;
  for (const auto& [type, count] : from.events_by_type)
    into->events_by_type[type] += count;
}

}  // namespace

std::vector<std::string> ScenarioClientIds() {
  return {"scenario-reentry",
          "scenario-stroke",
          "scenario-older-couple-1",
          "scenario-older-couple-2",
          "scenario-displaced-family-parent",
          "scenario-displaced-family-child-1",
          "scenario-displaced-family-child-2",
          "scenario-foster-teen-1",
          "scenario-foster-teen-2",
          "scenario-veteran"};
}

std::vector<std::string> ExampleClientIds() {
  return {"example-twins-1", "example-twins-2"};
}

absl::Status ValidateDemoOptions(const DemoOptions& options, absl::Time now) {
  if (options.clients < 0 || options.clients > 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--clients ", options.clients, " is out of range; use 0 to 1000000"));
  }
  if (options.concurrency < 1 || options.concurrency > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--concurrency ", options.concurrency,
                     " is out of range; use 1 to 256"));
  }
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive");
  }
  if (options.base_date.year() < 2000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--base-date ", absl::FormatCivilTime(options.base_date),
                     " is too early; use a date in 2000 or later"));
  }
  if (StartOf(options.base_date) > now) {
    return absl::InvalidArgumentError(
        absl::StrCat("--base-date ", absl::FormatCivilTime(options.base_date),
                     " is in the future; every business time of the demo falls "
                     "before it, and the "
                     "server refuses times ahead of its clock. Use today or an "
                     "earlier date"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DemoSummary> RunDemo(std::shared_ptr<grpc::Channel> channel,
                                    const DemoOptions& options) {
  if (absl::Status valid = ValidateDemoOptions(options, absl::Now());
      !valid.ok())
    return valid;
  const absl::Time cutoff = StartOf(options.base_date);
  const absl::Time started = absl::Now();

  DemoSummary total;
  {
    Sender sender(channel, options.call_timeout);
    for (const PlannedCommand& command : demo::OrganizationCommands(cutoff)) {
      absl::StatusOr<v1::CommandResult> result = sender.Send(command);
      if (!result.ok()) return result.status();
      Count(command, *result, &total);
    }
  }

  const int jobs = kNamedJobs + options.clients;
  int64_t expected_clients = static_cast<int64_t>(ScenarioClientIds().size() +
                                                  ExampleClientIds().size()) +
                             options.clients;
  for (int i = 1; i <= options.clients; ++i)
    expected_clients += HasTwin(i) ? 1 : 0;

  std::atomic<int> next_job{0};
  std::atomic<bool> stop{false};
  caseline::Mutex mu;
  absl::Status first_error;          // guarded by mu
  absl::Time last_report = started;  // guarded by mu
  auto report = [&](const DemoSummary& s, bool final) {
    if (!options.progress) return;
    const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
    options.progress(
        absl::StrFormat("demo: %s%d/%d clients, %d commands (%d events "
                        "written, %d already applied), "
                        "%.1f s, %.0f commands/s",
                        final ? "done: " : "", s.clients, expected_clients,
                        s.commands, s.events_written, s.already_applied,
                        seconds, seconds > 0 ? s.commands / seconds : 0.0));
  };

  auto worker = [&] {
    Sender sender(channel, options.call_timeout);
    while (!stop.load()) {
      const int job_index = next_job.fetch_add(1);
      if (job_index >= jobs) return;
      const Job job = PlanJob(job_index, options.seed, cutoff);
      DemoSummary done;
      done.scenario_clients = job.scenario_clients;
      done.example_clients = job.example_clients;
      done.duplicate_registrations = job.duplicates;
      for (const PlannedCommand& command : job.commands) {
        if (stop.load()) break;
        absl::StatusOr<v1::CommandResult> result = sender.Send(command);
        if (!result.ok()) {
          caseline::MutexLock lock(&mu);
          if (first_error.ok()) first_error = result.status();
          stop.store(true);
          break;
        }
        Count(command, *result, &done);
      }
      caseline::MutexLock lock(&mu);
      Merge(done, &total);
      if (absl::Now() - last_report >= absl::Seconds(1)) {
        last_report = absl::Now();
        report(total, false);
      }
    }
  };
  std::vector<std::thread> threads;
  const int thread_count = std::min(options.concurrency, jobs);
  threads.reserve(static_cast<size_t>(thread_count));
  for (int i = 0; i < thread_count; ++i) threads.emplace_back(worker);
  for (std::thread& thread : threads) thread.join();

  caseline::MutexLock lock(&mu);
  if (!first_error.ok()) return first_error;
  report(total, true);
  return total;
}

std::string DemoSummaryToJson(const DemoSummary& s) {
  std::string out = absl::StrCat(
      "{\"organizations\":", s.organizations, ",\"clients\":", s.clients,
      ",\"scenario_clients\":", s.scenario_clients,
      ",\"example_clients\":", s.example_clients,
      ",\"duplicate_registrations\":", s.duplicate_registrations,
      ",\"commands\":", s.commands, ",\"events_written\":", s.events_written,
      ",\"already_applied\":", s.already_applied, ",\"events_by_type\":{");
  bool first = true;
  for (const auto& [type, count] : s.events_by_type) {
    // Event types are protobuf message names: no character needs escaping.
    absl::StrAppend(&out, first ? "" : ",", "\"", type, "\":", count);
    first = false;
  }
  out.append("}}");
  return out;
}

}  // namespace caseline::tools
