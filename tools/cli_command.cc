#include "tools/cli_command.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "care/command_catalog.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "tools/cli_json.h"

namespace caseline::tools {
namespace {

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

}  // namespace

std::vector<std::string> ListCommands() {
  std::vector<std::string> out;
  for (const care::CommandSpec& spec : care::CommandCatalog::Get().commands()) {
    out.push_back(absl::StrCat(spec.short_name, "  (",
                               spec.method->input_type()->full_name(), ")"));
  }
  return out;
}

absl::StatusOr<PreparedCommand> PrepareCommand(absl::string_view method,
                                               absl::string_view json_request) {
  // By short name only: a path ("/caseline.v1.Referrals/SendReferral") is
  // not how the CLI names commands.
  const care::CommandSpec* spec =
      absl::StartsWith(method, "/") ? nullptr
                                    : care::CommandCatalog::Get().Find(method);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no command ", method,
                     "; `caseline command --list` shows them all, e.g. "
                     "Referrals.SendReferral"));
  }
  const google::protobuf::Descriptor* input = spec->method->input_type();
  std::unique_ptr<google::protobuf::Message> request(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(input)
          ->New());
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      std::string(json_request), request.get(), parse);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the JSON is not a ", input->full_name(), ": ",
                     std::string(parsed.message())));
  }
  return PreparedCommand{spec->path, request->SerializeAsString(),
                         spec->method->output_type()};
}

absl::StatusOr<std::string> SendCommand(
    const std::shared_ptr<grpc::Channel>& channel,
    const PreparedCommand& command, const std::string& organization_id,
    const std::string& user_id, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(timeout));
  if (!organization_id.empty()) {
    context.AddMetadata("x-caseline-org", organization_id);
  }
  if (!user_id.empty()) context.AddMetadata("x-caseline-user", user_id);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, command.path,
                                    ToBuffer(command.request_bytes), &queue);
  call->StartCall();
  call->Finish(&response_buffer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!queue.Next(&tag, &ok) || !ok) {
    return absl::UnavailableError("the call did not complete");
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  std::unique_ptr<google::protobuf::Message> response(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(command.response_type)
          ->New());
  if (!response->ParseFromString(FromBuffer(response_buffer))) {
    return absl::DataLossError("the server's response does not parse");
  }
  return MessageToJson(*response);
}

}  // namespace caseline::tools
