#include "services/care_record_service.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/command_catalog.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/method_handler.h"
#include "services/grpc_status.h"
#include "services/unparsed_request.h"

namespace caseline::services {
namespace {

// Who may record what (docs/access.md, step 1 of "Who may write what"):
// client care events need the agency role; an organisation registers or
// updates only itself, with the agency role, unless it is an admin. An
// auditor writes nothing. The rest of the rule needs the client's record
// (DecideClientCommand).
absl::Status AllowedToWrite(const Caller& caller, const v1::CareEvent& event) {
  const std::string* subject = nullptr;
  if (event.has_organization_registered()) {
    subject = &event.organization_registered().organization_id();
  } else if (event.has_organization_updated()) {
    subject = &event.organization_updated().organization_id();
  }
  if (event.has_event_entered_in_error()) {
    return RequireRole(caller, kAgency | kAdmin,
                       "marking an event entered in error");
  }
  if (subject == nullptr) {
    return RequireRole(caller, kAgency, "recording care events");
  }
  RETURN_IF_ERROR(RequireRole(caller, kAgency | kAdmin,
                              "registering or updating an organisation"));
  if (caller.Has(kAdmin) || *subject == caller.organization_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("organisation ", caller.organization_id,
                   " may register or update only itself (", *subject,
                   " is another organisation); an admin registers others"));
}

}  // namespace

absl::StatusOr<care::CareCommand> CommandFromRequest(
    const Caller& caller, const google::protobuf::Message& request,
    bool* occurred_at_given) {
  ASSIGN_OR_RETURN(care::CommandFields fields, care::CommandFieldsOf(request));
  care::CareCommand command;
  command.command_id = std::move(fields.command_id);
  command.client_id = std::move(fields.client_id);
  command.organization_id = caller.organization_id;
  command.user_id = caller.user_id;
  command.role = caller.role();
  *occurred_at_given = fields.occurred_at.has_value();
  if (*occurred_at_given) command.occurred_at = *fields.occurred_at;
  command.event = std::move(fields.event);
  command.admin = caller.Has(kAdmin);
  RETURN_IF_ERROR(AllowedToWrite(caller, command.event));
  return command;
}

absl::StatusOr<std::optional<uint64_t>> ExpectedVersionOf(
    const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kExpectedVersionMetadataKey);
  if (it == metadata.end()) return std::nullopt;
  const absl::string_view text(it->second.data(), it->second.size());
  uint64_t version = 0;
  if (!absl::SimpleAtoi(text, &version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kExpectedVersionMetadataKey, ": \"", text,
        "\" is not a stream version (a whole number, e.g. the "
        "stream_version a command or read returned)"));
  }
  return version;
}

void RunCommand(const CommandRunner& runner,
                const grpc::ServerContextBase& context,
                const google::protobuf::Message& request,
                CareCommandHandler::ExecuteCallback done) {
  absl::StatusOr<Caller> caller = runner.access->Authenticate(context);
  if (!caller.ok()) return std::move(done)(caller.status());
  bool occurred_at_given = false;
  absl::StatusOr<care::CareCommand> command =
      CommandFromRequest(*caller, request, &occurred_at_given);
  if (!command.ok()) return std::move(done)(command.status());
  absl::StatusOr<std::optional<uint64_t>> expected =
      ExpectedVersionOf(context);
  if (!expected.ok()) return std::move(done)(expected.status());
  command->expected_version = *expected;
  runner.handler->ExecuteAsync(*std::move(command), occurred_at_given,
                               std::move(done));
}

// One service of care_record.proto: each of its rpcs in the catalog,
// registered the way generated code registers a callback-API unary method, but
// on raw bytes, so that the request type comes from the catalog rather than
// from a generated class.
class CareRecordServices::CommandService final : public grpc::Service {
 public:
  CommandService(const CommandRunner* runner,
                 const google::protobuf::ServiceDescriptor* service)
      : runner_(runner) {
    for (const care::CommandSpec& spec :
         care::CommandCatalog::Get().commands()) {
      if (spec.method->service() != service) continue;
      const care::CommandSpec* command = &spec;
      const google::protobuf::Message* prototype =
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(
              spec.method->input_type());
      // The path is the catalog's: it outlives every server (the catalog is
      // never destroyed), as gRPC requires of a method's name. The handler
      // is set by MarkMethodCallback, as generated code does.
      AddMethod(new grpc::internal::RpcServiceMethod(
          spec.path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
      MarkMethodCallback(
          methods_++,
          new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer,
                                                   grpc::ByteBuffer>(
              [this, command, prototype](grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) {
                return Run(*command, *prototype, context, *request, response);
              }));
    }
  }

  bool empty() const { return methods_ == 0; }

 private:
  // `prototype`: of the command's request type.
  grpc::ServerUnaryReactor* Run(const care::CommandSpec& command,
                                const google::protobuf::Message& prototype,
                                grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer& request_bytes,
                                grpc::ByteBuffer* response_bytes) const {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::unique_ptr<google::protobuf::Message> request(prototype.New());
    // Parsed as gRPC parses a generated method's request (ProtoBufferReader,
    // which consumes its buffer: a copy, sharing the slices).
    grpc::ByteBuffer bytes(request_bytes);
    if (!grpc::SerializationTraits<google::protobuf::Message>::Deserialize(
             &bytes, request.get())
             .ok()) {
      reactor->Finish(ToGrpcStatus(UnparsedRequestError(command.path)));
      return reactor;
    }
    RunCommand(
        *runner_, *context, *request,
        [reactor, response_bytes](absl::StatusOr<v1::CommandResult> result) {
          if (!result.ok()) {
            reactor->Finish(ToGrpcStatus(result.status()));
            return;
          }
          bool own_buffer = false;
          reactor->Finish(
              grpc::SerializationTraits<google::protobuf::Message>::Serialize(
                  *result, response_bytes, &own_buffer));
        });
    return reactor;
  }

  const CommandRunner* const runner_;
  int methods_ = 0;
};

CareRecordServices::CareRecordServices(const CommandRunner* runner) {
  for (const google::protobuf::ServiceDescriptor* service :
       care::CommandCatalog::Get().services()) {
    auto command_service = std::make_unique<CommandService>(runner, service);
    // A service none of whose rpcs keeps the convention has nothing to serve
    // (command_catalog_test fails on it).
    if (command_service->empty()) continue;
    services_.push_back(std::move(command_service));
  }
}

CareRecordServices::~CareRecordServices() = default;

std::vector<grpc::Service*> CareRecordServices::services() {
  std::vector<grpc::Service*> out;
  for (auto& service : services_) out.push_back(service.get());
  return out;
}

}  // namespace caseline::services
