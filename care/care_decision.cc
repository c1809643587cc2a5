// The fixed order of docs/access.md "Who may write what"; each event's own
// checks and rules are its entry in the table of care/event_rules.h, written
// beside the event's other rules in care/<topic>_rules.cc.
#include "care/care_decision.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/access_policy.h"
#include "care/care_event_context.h"
#include "care/event_rules.h"
#include "care/rule_checks.h"
#include "eventstore/event.h"

namespace caseline::care {
namespace {

using rules::EventRules;
using rules::Invalid;
using rules::Writer;

constexpr size_t kMaxCommandIdBytes = 128;

absl::Status NoEvent() {
  return Invalid("event", "the command carries no care event");
}

absl::Status WrittenByTheServer() {
  return Invalid("event",
                 "access records are written by the server itself, never "
                 "through a command");
}

// Step 2: the event's own fields.
absl::Status CheckEventFields(const EventRules* rules,
                              const v1::CareEvent& event) {
  if (rules == nullptr) return NoEvent();
  if (rules->writer == Writer::kServer) return WrittenByTheServer();
  return rules->check_fields(event);
}

// Step 7 and the result: the event as the rules leave it.
absl::StatusOr<std::vector<v1::CareEvent>> Decide(
    const EventRules& rules, const rules::RuleInput& input) {
  v1::CareEvent event = input.command.event;  // the rules fill in defaults
  if (rules.decide != nullptr) RETURN_IF_ERROR(rules.decide(input, &event));
  return std::vector<v1::CareEvent>{std::move(event)};
}

}  // namespace

absl::Status ValidateCareCommand(const CareCommand& command, absl::Time now) {
  if (command.command_id.empty() ||
      command.command_id.size() > kMaxCommandIdBytes) {
    return Invalid(
        "command_id",
        "give every command a unique id of 1 to 128 characters; a retry "
        "with the same id returns the original result");
  }
  const EventRules* rules = rules::FindEventRules(command.event.event_case());
  const bool organization_command =
      rules != nullptr && rules->writer == Writer::kOrganizationCommand;
  if (!organization_command)
    RETURN_IF_ERROR(rules::CheckId(command.client_id, "client_id"));
  if (command.organization_id.empty()) {
    return Invalid("x-caseline-org",
                   "request metadata must name the acting organisation");
  }
  if (rules != nullptr && rules->needs_person && command.user_id.empty()) {
    return Invalid(
        "x-caseline-user",
        absl::StrCat("request metadata must name the acting person: ",
                     CareEventName(command.event),
                     " records who of the organisation did it"));
  }
  if (command.occurred_at > now + kMaxFutureSkew) {
    return Invalid(
        "occurred_at",
        absl::StrCat(absl::FormatTime(command.occurred_at),
                     " is more than 5 minutes ahead of the server clock (",
                     absl::FormatTime(now),
                     "); record events once they happen"));
  }
  // Else the log would refuse the append, naming its own field.
  RETURN_IF_ERROR(
      eventstore::ValidateEventTime(command.occurred_at, "occurred_at"));
  return CheckEventFields(rules, command.event);
}

absl::StatusOr<std::vector<v1::CareEvent>> DecideClientCommand(
    const ClientRecord& record, const OrganizationDirectory& directory,
    absl::FunctionRef<bool(absl::string_view)> involved_in_other,
    const CareCommand& command) {
  const auto none = [](absl::string_view) {
    return std::optional<StreamEventInfo>();
  };
  return DecideClientCommand(record, directory, involved_in_other, none,
                             command);
}

absl::StatusOr<std::vector<v1::CareEvent>> DecideClientCommand(
    const ClientRecord& record, const OrganizationDirectory& directory,
    absl::FunctionRef<bool(absl::string_view)> involved_in_other,
    FindStreamEvent find_event, const CareCommand& command) {
  const v1::CareEvent& proposed = command.event;
  const EventRules* rules = rules::FindEventRules(proposed.event_case());
  const std::string& org = command.organization_id;
  const std::string& client = record.client_id;
  const rules::RuleInput input{record, directory, involved_in_other, command,
                               find_event};
  const bool as_admin =
      command.admin && rules != nullptr && rules->admin_may_write;

  // Step 4: the acting organisation is registered.
  if (!as_admin) {
    RETURN_IF_ERROR(
        rules::RequireOrganization(directory, org, "x-caseline-org"));
  }

  // Step 5: standing (a new client's id must be new instead); step 6: the
  // command's own rule.
  if (as_admin) {
    if (!record.registered) {
      return absl::NotFoundError(absl::StrCat(
          "client ", client, " is not registered; check the client_id"));
    }
    if (rules->write_rule != nullptr) RETURN_IF_ERROR(rules->write_rule(input));
  } else if (rules != nullptr && rules->registers_client) {
    if (record.registered) {
      return absl::AlreadyExistsError(
          absl::StrCat("client ", client,
                       " is already registered; correct details with "
                       "CorrectClientDetails, or register the new person "
                       "under another client_id"));
    }
  } else {
    if (!record.registered || !Involved(record, org)) {
      return rules::NotKnownOrNotInvolved("", client, org, proposed);
    }
    if (rules != nullptr && rules->write_rule != nullptr) {
      RETURN_IF_ERROR(rules->write_rule(input));
    }
  }

  // Step 7: the record's state, first the case's. A closed case still
  // accepts what is about the record rather than the care (the entries with
  // accepted_on_closed_case).
  if (record.case_status == CaseStatus::kClosed &&
      (rules == nullptr || !rules->accepted_on_closed_case)) {
    return absl::FailedPreconditionError(
        absl::StrCat("closed case: the case of client ", client,
                     " is closed; only ReopenCase (and DismissDuplicate, "
                     "RecordDisclosure) are accepted until it is reopened"));
  }
  if (rules == nullptr) return NoEvent();
  switch (rules->writer) {
    case Writer::kClientCommand:
      break;
    case Writer::kOrganizationCommand:
      return Invalid("event",
                     "organisation events go to Organizations, not a client");
    case Writer::kServer:
      return WrittenByTheServer();
  }
  return Decide(*rules, input);
}

absl::StatusOr<std::vector<v1::CareEvent>> DecideOrganizationCommand(
    const OrganizationDirectory& directory, const CareCommand& command) {
  const EventRules* rules = rules::FindEventRules(command.event.event_case());
  if (rules == nullptr || rules->writer != Writer::kOrganizationCommand) {
    return Invalid("event",
                   "Organizations takes OrganizationRegistered or "
                   "OrganizationUpdated");
  }
  const ClientRecord no_client("");
  const auto no_other_client = [](absl::string_view) { return false; };
  const auto no_event = [](absl::string_view) {
    return std::optional<StreamEventInfo>();
  };
  return Decide(*rules,
                {no_client, directory, no_other_client, command, no_event});
}

}  // namespace caseline::care
