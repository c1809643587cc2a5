#include "care/command_catalog.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/proto_time.h"
#include "caseline/v1/care_record.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace caseline::care {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

// CareEvent's `event` oneof field holding messages of `type`, or nullptr.
const FieldDescriptor* CareEventFieldFor(const Descriptor* type) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::CareEvent::descriptor()->FindOneofByName("event");
  for (int i = 0; i < oneof->field_count(); ++i) {
    if (oneof->field(i)->message_type() == type) return oneof->field(i);
  }
  return nullptr;
}

bool Is(const FieldDescriptor* field, FieldDescriptor::Type type,
        absl::string_view name) {
  return field != nullptr && field->type() == type && field->name() == name &&
         !field->is_repeated();
}

// The command `method` describes, or what breaks the convention.
absl::StatusOr<CommandSpec> SpecOf(const MethodDescriptor* method) {
  const Descriptor* request = method->input_type();
  auto broken = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(
        method->full_name(), " (", request->full_name(), "): ", what));
  };
  if (method->client_streaming() || method->server_streaming()) {
    return broken("a command rpc is unary");
  }
  if (method->output_type() != v1::CommandResult::descriptor()) {
    return broken("a command rpc returns caseline.v1.CommandResult");
  }
  if (!Is(request->FindFieldByNumber(1), FieldDescriptor::TYPE_STRING,
          "command_id")) {
    return broken("field 1 must be `string command_id`");
  }
  const FieldDescriptor* client = request->FindFieldByNumber(2);
  if (client != nullptr &&
      !Is(client, FieldDescriptor::TYPE_STRING, "client_id")) {
    return broken("field 2, when present, must be `string client_id`");
  }
  const FieldDescriptor* occurred = request->FindFieldByNumber(3);
  if (!Is(occurred, FieldDescriptor::TYPE_MESSAGE, "occurred_at") ||
      occurred->message_type() !=
          google::protobuf::Timestamp::descriptor()) {
    return broken("field 3 must be `google.protobuf.Timestamp occurred_at`");
  }
  const FieldDescriptor* proposed = request->FindFieldByNumber(4);
  const FieldDescriptor* event_field =
      proposed != nullptr && proposed->type() == FieldDescriptor::TYPE_MESSAGE &&
              !proposed->is_repeated()
          ? CareEventFieldFor(proposed->message_type())
          : nullptr;
  if (event_field == nullptr) {
    return broken(
        "field 4 must be the proposed event, a message of one of "
        "caseline.v1.CareEvent's `event` oneof fields");
  }
  if (request->field_count() != (client == nullptr ? 3 : 4)) {
    return broken("a command request has only fields 1-4");
  }
  CommandSpec spec;
  spec.method = method;
  spec.event_field = event_field;
  spec.request_event_field = proposed;
  spec.organization_command = client == nullptr;
  spec.path = absl::StrCat("/", method->service()->full_name(), "/",
                           method->name());
  spec.short_name = absl::StrCat(method->service()->name(), ".", method->name());
  return spec;
}

}  // namespace

const CommandCatalog& CommandCatalog::Get() {
  static const CommandCatalog* const catalog =
      new CommandCatalog(v1::CommandResult::descriptor()->file());
  return *catalog;
}

CommandCatalog::CommandCatalog(const google::protobuf::FileDescriptor* file) {
  for (int s = 0; s < file->service_count(); ++s) {
    const google::protobuf::ServiceDescriptor* service = file->service(s);
    services_.push_back(service);
    for (int m = 0; m < service->method_count(); ++m) {
      absl::StatusOr<CommandSpec> spec = SpecOf(service->method(m));
      if (!spec.ok()) {
        violations_.push_back(std::string(spec.status().message()));
        continue;
      }
      const int event = spec->event_field->number();
      if (by_event_.contains(event)) {
        violations_.push_back(absl::StrCat(
            spec->method->full_name(), ": ", spec->event_field->name(),
            " is already recorded by ",
            commands_[by_event_[event]].method->full_name(),
            "; one rpc per event"));
        continue;
      }
      by_event_[event] = commands_.size();
      by_name_[spec->path] = commands_.size();
      by_name_[spec->short_name] = commands_.size();
      commands_.push_back(*std::move(spec));
    }
  }
}

const CommandSpec* CommandCatalog::ForEvent(
    v1::CareEvent::EventCase event_case) const {
  auto it = by_event_.find(static_cast<int>(event_case));
  return it == by_event_.end() ? nullptr : &commands_[it->second];
}

const CommandSpec* CommandCatalog::Find(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &commands_[it->second];
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> NewCommandRequest(
    const CommandFields& fields) {
  const CommandSpec* spec =
      CommandCatalog::Get().ForEvent(fields.event.event_case());
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no command records event case ", fields.event.event_case(),
        " (RecordAccessed, BreakGlassReviewed and ClientErased are written "
        "by the server)"));
  }
  const Descriptor* type = spec->method->input_type();
  std::unique_ptr<google::protobuf::Message> request(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(type)
          ->New());
  const google::protobuf::Reflection* reflection = request->GetReflection();
  reflection->SetString(request.get(), type->FindFieldByNumber(1),
                        fields.command_id);
  if (!spec->organization_command) {
    reflection->SetString(request.get(), type->FindFieldByNumber(2),
                          fields.client_id);
  }
  if (fields.occurred_at.has_value()) {
    SetTimestamp(*fields.occurred_at,
                 static_cast<google::protobuf::Timestamp*>(
                     reflection->MutableMessage(request.get(),
                                                type->FindFieldByNumber(3))));
  }
  reflection->MutableMessage(request.get(), spec->request_event_field)
      ->CopyFrom(fields.event.GetReflection()->GetMessage(fields.event,
                                                           spec->event_field));
  return request;
}

absl::StatusOr<CommandFields> CommandFieldsOf(
    const google::protobuf::Message& request) {
  const Descriptor* type = request.GetDescriptor();
  const CommandSpec* spec = nullptr;
  for (const CommandSpec& candidate : CommandCatalog::Get().commands()) {
    if (candidate.method->input_type() == type) {
      spec = &candidate;
      break;
    }
  }
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(type->full_name(), " is not a command request"));
  }
  const google::protobuf::Reflection* reflection = request.GetReflection();
  CommandFields fields;
  fields.command_id =
      reflection->GetString(request, type->FindFieldByNumber(1));
  if (!spec->organization_command) {
    fields.client_id =
        reflection->GetString(request, type->FindFieldByNumber(2));
  }
  const FieldDescriptor* occurred = type->FindFieldByNumber(3);
  if (reflection->HasField(request, occurred)) {
    ASSIGN_OR_RETURN(
        fields.occurred_at,
        CheckedTime(static_cast<const google::protobuf::Timestamp&>(
                        reflection->GetMessage(request, occurred)),
                    "occurred_at"));
  }
  if (!reflection->HasField(request, spec->request_event_field)) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec->request_event_field->name(),
                     " is required: it is the event the command records"));
  }
  fields.event.GetReflection()
      ->MutableMessage(&fields.event, spec->event_field)
      ->CopyFrom(reflection->GetMessage(request, spec->request_event_field));
  return fields;
}

}  // namespace caseline::care
