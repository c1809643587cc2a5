#include "bench/encryption_scenarios.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

}  // namespace

absl::StatusOr<EncryptionSetting> MeasureEncryptionSetting(
    bool encrypt, const std::string& dir,
    const std::vector<int>& append_callers, int command_callers,
    int command_clients, uint64_t events, int demo_concurrency,
    absl::Duration warmup, absl::Duration duration) {
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
  absl::StatusOr<std::unique_ptr<server::CaselineServer>> server =
      server::CaselineServer::Start(std::move(options));
  if (!server.ok()) return server.status();
  EncryptionSetting result;
  // The care network first, so that both settings scan and rebuild the same
  // events (the demo's generator is deterministic).
  if (absl::Status loaded = LoadDemo(**server, events, demo_concurrency);
      !loaded.ok()) {
    return loaded;
  }
  result.events = (*server)->event_log().HeadPosition();
  projections::ProjectionEngine& engine = (*server)->projections();
  for (const std::string& name : engine.names()) {
    (void)engine.WaitForPosition(name, result.events,
                                 absl::Now() + absl::Minutes(30));
  }
  result.scan_events_per_second =
      ScanEventsPerSecond((*server)->event_log());
  result.rebuild_events_per_second =
      RebuildEventsPerSecond(engine, engine.names(), result.events);

  const std::string payload = BenchPayload();
  int run = 0;
  for (int callers : append_callers) {
    result.appends.push_back(AppendToClientStreams(
        (*server)->event_log(), callers, run++, payload, warmup, duration));
  }
  CommandScenarios commands(
      grpc::CreateChannel((*server)->address(),
                          grpc::InsecureChannelCredentials()),
      warmup, duration);
  absl::StatusOr<Load> commanded =
      commands.RecordFollowUps(command_callers, command_clients);
  if (!commanded.ok()) return commanded.status();
  result.commands = *commanded;
  (*server)->Shutdown(absl::Seconds(10));
  return result;
}

}  // namespace caseline::bench
