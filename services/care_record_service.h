// The care-record command services over gRPC: every service of
// caseline/v1/care_record.proto (Clients, Consents, ... Organizations), served
// from care::CommandCatalog (care/command_catalog.h) rather than from
// generated service classes. Thin: each RPC authenticates the caller
// (services/access_control.h), turns its request into a CareCommand acted by
// the caller's organisation and person (never what the request claims) and
// runs it through CareCommandHandler. Client commands need the agency role;
// an organisation registers or updates only itself unless it is an admin.
#ifndef CASELINE_SERVICES_CARE_RECORD_SERVICE_H_
#define CASELINE_SERVICES_CARE_RECORD_SERVICE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "caseline/v1/care_record.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "services/access_control.h"
#include "services/care_command_handler.h"

namespace caseline::services {

// What every command RPC needs. Not owned.
struct CommandRunner {
  CareCommandHandler* handler = nullptr;
  AccessControl* access = nullptr;
};

// The command one request of care_record.proto asks for (its fields read by
// care::CommandFieldsOf), acted by `caller`'s organisation and person (never
// what the request claims). Sets *occurred_at_given to whether the request
// set occurred_at. Pure.
//   INVALID_ARGUMENT   occurred_at's nanos out of range, or no proposed event
//   PERMISSION_DENIED  the caller may not record this event (client care
//                      events need the agency role; an organisation registers
//                      or updates only itself unless it is an admin)
// REQUIRES: `request` is one of care_record.proto's *Request messages.
[[nodiscard]] absl::StatusOr<care::CareCommand> CommandFromRequest(
    const Caller& caller, const google::protobuf::Message& request,
    bool* occurred_at_given);

// Optimistic concurrency for a command (care_record.proto): the version the
// caller expects the written stream to be at.
inline constexpr char kExpectedVersionMetadataKey[] =
    "x-caseline-expected-version";

// The context's kExpectedVersionMetadataKey, nullopt when absent;
// INVALID_ARGUMENT naming the key when it is not a whole number.
[[nodiscard]] absl::StatusOr<std::optional<uint64_t>> ExpectedVersionOf(
    const grpc::ServerContextBase& context);

// Runs one command request of care_record.proto as the authenticated caller
// of `context`, and calls `done` once with the CommandResult or the refusal:
// possibly before returning, otherwise when the append is answered
// (CareCommandHandler::ExecuteAsync). `request` is read before returning.
void RunCommand(const CommandRunner& runner,
                const grpc::ServerContextBase& context,
                const google::protobuf::Message& request,
                CareCommandHandler::ExecuteCallback done);

// The command services, built from care::CommandCatalog: one grpc::Service
// per service of care_record.proto, each of its rpcs registered as a unary
// method of gRPC's callback API (no thread waits for the append's sync) that
// parses the request bytes as the rpc's request message and runs it
// (RunCommand). A new rpc and request in the proto are
// served with no edit here. Request bytes that do not parse are answered
// INVALID_ARGUMENT by UnparsedRequestError (services/unparsed_request.h),
// before authentication, as gRPC's own parse failures are for the other
// services. Register each of services().
class CareRecordServices {
 public:
  // `runner` is not owned and must outlive this object.
  explicit CareRecordServices(const CommandRunner* runner);
  ~CareRecordServices();
  CareRecordServices(const CareRecordServices&) = delete;
  CareRecordServices& operator=(const CareRecordServices&) = delete;

  // One per service of the catalog, in the proto's order; owned by this
  // object.
  std::vector<grpc::Service*> services();

 private:
  class CommandService;
  std::vector<std::unique_ptr<CommandService>> services_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_CARE_RECORD_SERVICE_H_
