#include "bench/encryption_scenarios.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "bench/command_scenarios.h"
#include "bench/grpc_scenarios.h"
#include "bench/scale_scenarios.h"
#include "eventstore/event_log.h"
#include "eventstore/key_encryption.h"
#include "grpcpp/grpcpp.h"
#include "projections/projection_engine.h"
#include "server/server.h"

namespace caseline::bench {
namespace {

// Closed-loop durable 1-event appends to client-<run>-<caller> straight
// into the log: what encryption adds to the writer's path, without gRPC.
Load AppendToClientStreams(eventstore::EventLog& log, int callers, int run,
                           const std::string& payload, absl::Duration warmup,
                           absl::Duration duration) {
  return RunAsyncClosedLoop(
      callers, 1, warmup, duration,
      [&log, &payload, run](int caller, std::function<void(bool)> done) {
        eventstore::ProposedEvent event;
        event.event_type = "Noted";
        event.content_type = "application/json";
        event.payload = payload;
        log.AppendAsync(
            {absl::StrCat("client-bench-", run, "-", caller),
             eventstore::ExpectedVersion::Any(),
             {std::move(event)}},
            [done = std::move(done)](
                absl::StatusOr<eventstore::AppendResult> r) {
              done(r.ok());
            });
      });
}

// The mean of equally long rounds of one row.
Load Combine(const std::vector<Load>& rounds) {
  Load out;
  if (rounds.empty()) return out;
  for (const Load& r : rounds) {
    out.ops_per_second += r.ops_per_second / rounds.size();
    out.events_per_second += r.events_per_second / rounds.size();
    out.p50_ms += r.p50_ms / rounds.size();
    out.p99_ms = std::max(out.p99_ms, r.p99_ms);
    out.errors += r.errors;
    out.ops += r.ops;
  }
  return out;
}

// One setting's server, loaded.
struct Side {
  std::unique_ptr<server::CaselineServer> server;
  std::unique_ptr<CommandScenarios> commands;
  std::vector<std::vector<Load>> appends;  // [row][round]
  std::vector<Load> commanded;             // [round]
  std::vector<double> scans;
  std::vector<double> rebuilds;
  int append_runs = 0;
};

absl::StatusOr<std::unique_ptr<server::CaselineServer>> StartServer(
    bool encrypt, const std::string& dir) {
  server::ServerOptions options;
  options.data_dir = dir;
  options.listen = "127.0.0.1:0";
  options.encrypt_payloads = encrypt;
  if (encrypt) {
    absl::StatusOr<std::unique_ptr<eventstore::FileKeyEncryptionKey>> kek =
        eventstore::FileKeyEncryptionKey::Open(dir + ".kek");
    if (!kek.ok()) return kek.status();
    options.kek = *std::move(kek);
  }
  return server::CaselineServer::Start(std::move(options));
}

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0 : sum / values.size();
}

}  // namespace

absl::StatusOr<std::array<EncryptionSetting, 2>> MeasureEncryption(
    const std::string& plaintext_dir, const std::string& encrypted_dir,
    const EncryptionBenchOptions& options) {
  const int rounds = std::max(1, options.rounds);
  const absl::Duration slice = options.duration / rounds;
  std::array<Side, 2> sides;
  std::array<EncryptionSetting, 2> result;
  for (int encrypt = 0; encrypt < 2; ++encrypt) {
    Side& side = sides[encrypt];
    ASSIGN_OR_RETURN(side.server,
                     StartServer(encrypt == 1, encrypt == 1 ? encrypted_dir
                                                            : plaintext_dir));
    // The care network first, so that both settings scan and rebuild the
    // same events (the demo's generator is deterministic).
    RETURN_IF_ERROR(LoadDemo(*side.server, options.events,
                             options.demo_concurrency));
    result[encrypt].events = side.server->event_log().HeadPosition();
    projections::ProjectionEngine& engine = side.server->projections();
    for (const std::string& name : engine.names()) {
      (void)engine.WaitForPosition(name, result[encrypt].events,
                                   absl::Now() + absl::Minutes(30));
    }
    side.commands = std::make_unique<CommandScenarios>(
        grpc::CreateChannel(side.server->address(),
                            grpc::InsecureChannelCredentials()),
        options.warmup, slice);
    side.appends.resize(options.append_callers.size());
  }
  // Each of `turns(side)` on both sides in every round, plaintext first in
  // even rounds and encrypted first in odd ones. The scans and rebuilds come
  // first, while both logs hold the same events.
  auto alternate = [&](auto&& measure) -> absl::Status {
    for (int round = 0; round < rounds; ++round) {
      for (int turn = 0; turn < 2; ++turn) {
        RETURN_IF_ERROR(measure(sides[(round + turn) % 2]));
      }
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(alternate([&](Side& side) {
    eventstore::EventLog& log = side.server->event_log();
    side.scans.push_back(ScanEventsPerSecond(log));
    projections::ProjectionEngine& engine = side.server->projections();
    side.rebuilds.push_back(
        RebuildEventsPerSecond(engine, engine.names(), log.HeadPosition()));
    std::fprintf(stderr,
                 "encryption %s, round %zu: scan %.0f events/s, rebuild %.0f "
                 "events/s\n",
                 &side == &sides[1] ? "on" : "off", side.rebuilds.size(),
                 side.scans.back(), side.rebuilds.back());
    return absl::OkStatus();
  }));
  const std::string payload = BenchPayload();
  for (size_t row = 0; row < options.append_callers.size(); ++row) {
    RETURN_IF_ERROR(alternate([&](Side& side) {
      side.appends[row].push_back(AppendToClientStreams(
          side.server->event_log(), options.append_callers[row],
          side.append_runs++, payload, options.warmup, slice));
      return absl::OkStatus();
    }));
  }
  RETURN_IF_ERROR(alternate([&](Side& side) -> absl::Status {
    ASSIGN_OR_RETURN(Load commanded,
                     side.commands->RecordFollowUps(options.command_callers,
                                                    options.command_clients));
    side.commanded.push_back(commanded);
    return absl::OkStatus();
  }));
  for (int encrypt = 0; encrypt < 2; ++encrypt) {
    Side& side = sides[encrypt];
    EncryptionSetting& setting = result[encrypt];
    for (const std::vector<Load>& row : side.appends) {
      setting.appends.push_back(Combine(row));
    }
    setting.commands = Combine(side.commanded);
    setting.scan_events_per_second = Mean(side.scans);
    setting.rebuild_events_per_second = Mean(side.rebuilds);
    side.commands.reset();
    side.server->Shutdown(absl::Seconds(10));
  }
  return result;
}

}  // namespace caseline::bench
