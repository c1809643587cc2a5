#include "services/care_record_service.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "services/event_conversion.h"
#include "services/grpc_status.h"

namespace caseline::services {
namespace {

// The CareEvent field that holds messages of `type`.
const google::protobuf::FieldDescriptor* CareEventFieldFor(
    const google::protobuf::Descriptor* type) {
  const google::protobuf::Descriptor* care_event = v1::CareEvent::descriptor();
  for (int i = 0; i < care_event->field_count(); ++i) {
    if (care_event->field(i)->message_type() == type)
      return care_event->field(i);
  }
  return nullptr;
}

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
  if (subject == nullptr) {
    return RequireRole(caller, kAgency, "recording care events");
  }
  RETURN_IF_ERROR(RequireRole(caller, kAgency | kAdmin,
                              "registering or updating an organisation"));
  if (caller.Has(kAdmin) || *subject == caller.organization_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "organisation ", caller.organization_id,
      " may register or update only itself (", *subject,
      " is another organisation); an admin registers others"));
}

}  // namespace

absl::StatusOr<care::CareCommand> CommandFromRequest(
    const Caller& caller, const google::protobuf::Message& request,
    bool* occurred_at_given) {
  const google::protobuf::Descriptor* descriptor = request.GetDescriptor();
  const google::protobuf::Reflection* reflection = request.GetReflection();
  care::CareCommand command;
  command.command_id =
      reflection->GetString(request, descriptor->FindFieldByNumber(1));
  if (const auto* client = descriptor->FindFieldByName("client_id")) {
    command.client_id = reflection->GetString(request, client);
  }
  command.organization_id = caller.organization_id;
  command.user_id = caller.user_id;
  command.role = caller.role();
  const auto* occurred_field = descriptor->FindFieldByNumber(3);
  *occurred_at_given = reflection->HasField(request, occurred_field);
  if (*occurred_at_given) {
    const auto& timestamp = static_cast<const google::protobuf::Timestamp&>(
        reflection->GetMessage(request, occurred_field));
    ASSIGN_OR_RETURN(command.occurred_at, FromProto(timestamp, "occurred_at"));
  }
  const auto* event_field = descriptor->FindFieldByNumber(4);
  if (!reflection->HasField(request, event_field)) {
    return absl::InvalidArgumentError(
        absl::StrCat(event_field->name(),
                     " is required: it is the event the command records"));
  }
  const google::protobuf::Message& proposed =
      reflection->GetMessage(request, event_field);
  const auto* target = CareEventFieldFor(proposed.GetDescriptor());
  command.event.GetReflection()
      ->MutableMessage(&command.event, target)
      ->CopyFrom(proposed);
  RETURN_IF_ERROR(AllowedToWrite(caller, command.event));
  return command;
}

grpc::Status RunCommand(const CommandRunner& runner,
                        grpc::ServerContext* context,
                        const google::protobuf::Message& request,
                        v1::CommandResult* response) {
  absl::StatusOr<Caller> caller = runner.access->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  bool occurred_at_given = false;
  absl::StatusOr<care::CareCommand> command =
      CommandFromRequest(*caller, request, &occurred_at_given);
  if (!command.ok()) return ToGrpcStatus(command.status());
  absl::StatusOr<v1::CommandResult> result =
      runner.handler->Execute(*std::move(command), occurred_at_given);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

CareRecordServices::CareRecordServices(const CommandRunner* handler) {
  services_.push_back(std::make_unique<ClientsService>(handler));
  services_.push_back(std::make_unique<ConsentsService>(handler));
  services_.push_back(std::make_unique<PlansService>(handler));
  services_.push_back(std::make_unique<ReferralsService>(handler));
  services_.push_back(std::make_unique<ServicesService>(handler));
  services_.push_back(std::make_unique<CareTeamsService>(handler));
  services_.push_back(std::make_unique<TransitionsService>(handler));
  services_.push_back(std::make_unique<OrganizationsService>(handler));
}

CareRecordServices::~CareRecordServices() = default;

std::vector<grpc::Service*> CareRecordServices::services() {
  std::vector<grpc::Service*> out;
  for (auto& service : services_) out.push_back(service.get());
  return out;
}

}  // namespace caseline::services
