#include "tools/demo/sender.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "care/command_catalog.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace caseline::tools::demo {
namespace {

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool ParseBuffer(const grpc::ByteBuffer& buffer,
                 google::protobuf::Message* message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return message->ParseFromString(bytes);
}

}  // namespace

Sender::Sender(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
    : timeout_(timeout), stub_(std::move(channel)) {}

Sender::~Sender() {
  queue_.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue_.Next(&tag, &ok)) {
  }
}

absl::StatusOr<v1::CommandResult> Sender::Send(const PlannedCommand& c) {
  const care::CommandSpec* spec =
      care::CommandCatalog::Get().ForEvent(c.event.event_case());
  if (spec == nullptr) {  // no event, or one only the server writes
    return absl::InternalError(
        absl::StrCat("demo command ", c.command_id, " carries no event"));
  }
  care::CommandFields fields;
  fields.command_id = c.command_id;
  fields.client_id = c.client_id;
  fields.occurred_at = c.occurred_at;
  fields.event = c.event;
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
      care::NewCommandRequest(fields);
  if (!request.ok()) return request.status();

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  context.AddMetadata("x-caseline-org", c.organization_id);
  context.AddMetadata("x-caseline-user", c.user_id);
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub_.PrepareUnaryCall(&context, spec->path,
                             ToBuffer((*request)->SerializeAsString()),
                             &queue_);
  call->StartCall();
  call->Finish(&response, &status, call.get());
  void* tag = nullptr;
  bool ok = false;
  if (!queue_.Next(&tag, &ok) || !ok || tag != call.get()) {
    status =
        grpc::Status(grpc::StatusCode::INTERNAL, "the call did not complete");
  }
  v1::CommandResult result;
  if (status.ok() && !ParseBuffer(response, &result)) {
    status = grpc::Status(grpc::StatusCode::DATA_LOSS,
                          "the server's CommandResult does not parse");
  }
  if (status.ok()) return result;
  return absl::Status(
      static_cast<absl::StatusCode>(status.error_code()),
      absl::StrCat(c.client_id.empty() ? "the organisation directory"
                                       : absl::StrCat("client ", c.client_id),
                   ": command ", c.command_id, " (", spec->short_name, ", ",
                   spec->event_field->message_type()->name(), ", acting as ",
                   c.organization_id, " / ", c.user_id, ", occurred_at ",
                   absl::FormatTime(absl::RFC3339_sec, c.occurred_at,
                                    absl::UTCTimeZone()),
                   ") failed: ", status.error_message()));
}

}  // namespace caseline::tools::demo
