// The path agencies actually use: care-record commands, each of which reads
// the client's record, decides, and appends one event (care_record.proto).
#ifndef CASELINE_BENCH_COMMAND_SCENARIOS_H_
#define CASELINE_BENCH_COMMAND_SCENARIOS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/bench_util.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace caseline::bench {

// The organisations the command callers act as (x-caseline-org, development
// mode): caller c acts as agency c % kCommandAgencies.
inline constexpr int kCommandAgencies = 8;

class CommandScenarios {
 public:
  CommandScenarios(std::shared_ptr<grpc::Channel> channel,
                   absl::Duration warmup, absl::Duration duration);

  // Registers `callers` x `clients_per_caller` clients through
  // Clients.RegisterClient (and, the first time, the agencies through
  // Organizations.RegisterOrganization), then runs `callers` closed loops of
  // Transitions.RecordFollowUp, each on its own caller's clients in turn.
  // A follow-up by the registering agency, naming itself as provider and no
  // transition, is always allowed and writes exactly one event; a call that
  // answers otherwise counts as an error. Errors from the set-up come back
  // as the status.
  absl::StatusOr<Load> RecordFollowUps(int callers, int clients_per_caller);

 private:
  absl::Status RegisterAgencies();

  std::unique_ptr<caseline::v1::Clients::Stub> clients_;
  std::unique_ptr<caseline::v1::Transitions::Stub> transitions_;
  std::unique_ptr<caseline::v1::Organizations::Stub> organizations_;
  const absl::Duration warmup_;
  const absl::Duration duration_;
  bool agencies_registered_ = false;
  int runs_ = 0;
};

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_COMMAND_SCENARIOS_H_
