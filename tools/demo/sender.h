// Sender: sends the demo's planned commands through the caseline.v1 command
// services, each to the rpc that care::CommandCatalog names for its event,
// acting as the command's organisation and user.
#ifndef CASELINE_TOOLS_DEMO_SENDER_H_
#define CASELINE_TOOLS_DEMO_SENDER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "caseline/v1/care_record.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "tools/demo/history.h"

namespace caseline::tools::demo {

// One per thread (it owns a completion queue); many may share the channel.
class Sender {
 public:
  Sender(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);
  ~Sender();

  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // The server's result. The server's refusal keeps its code, with a message
  // naming the client (or the organisation directory), the command id, the
  // rpc ("Referrals.SendReferral"), the event, the acting organisation and
  // user and occurred_at, followed by the server's message. INTERNAL when the
  // command carries no event a command records.
  absl::StatusOr<v1::CommandResult> Send(const PlannedCommand& c);

 private:
  const absl::Duration timeout_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue queue_;
};

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_SENDER_H_
