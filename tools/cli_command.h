// `caseline command`: calls any care-record command RPC with a JSON request,
// for people and scripts without a generated client.
#ifndef CASELINE_TOOLS_CLI_COMMAND_H_
#define CASELINE_TOOLS_CLI_COMMAND_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"

namespace caseline::tools {

// "Service.Method  (request type)" for every command of care_record.proto
// (care::CommandCatalog), in the proto's order.
std::vector<std::string> ListCommands();

// A command request ready to send.
struct PreparedCommand {
  std::string path;           // "/caseline.v1.Referrals/SendReferral"
  std::string request_bytes;  // the serialized request
  const google::protobuf::Descriptor* response_type = nullptr;
};

// Resolves `method` ("Service.Method", e.g. "Referrals.SendReferral") and
// parses `json_request` into its request message. INVALID_ARGUMENT for an
// unknown method or JSON that does not fit the request.
absl::StatusOr<PreparedCommand> PrepareCommand(absl::string_view method,
                                               absl::string_view json_request);

// Sends it as organisation `organization_id` and user `user_id` (request
// metadata x-caseline-org, x-caseline-user); returns the response as one line
// of JSON, or the server's status.
absl::StatusOr<std::string> SendCommand(
    const std::shared_ptr<grpc::Channel>& channel,
    const PreparedCommand& command, const std::string& organization_id,
    const std::string& user_id, absl::Duration timeout);

}  // namespace caseline::tools

#endif  // CASELINE_TOOLS_CLI_COMMAND_H_
