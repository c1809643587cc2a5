// Corrections: marking an event of the client's stream entered in error.
// What the mark does to the record is the folds' part (care/client_record.h
// ClientRecord::entered_in_error, projections/client_record_store.h).
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/care_event_context.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"
#include "eventstore/event.h"

namespace caseline::care::rules {
namespace {

constexpr absl::string_view kField = "event_entered_in_error.event_id";

absl::Status CheckEnteredInError(const v1::CareEvent& event) {
  const v1::EventEnteredInError& e = event.event_entered_in_error();
  if (e.event_id().empty()) {
    return Invalid(kField,
                   "is required: the id of the event recorded in error, as "
                   "the audit timeline shows it");
  }
  RETURN_IF_ERROR(eventstore::EventId::Parse(e.event_id(), kField).status());
  return CheckText(e.reason(), "event_entered_in_error.reason", true);
}

// The marked event must be one the acting organisation recorded; an admin
// marks any.
absl::Status AuthorizeEnteredInError(const RuleInput& input) {
  if (input.command.admin) return absl::OkStatus();
  const std::string id =
      eventstore::EventId::Parse(
          input.command.event.event_entered_in_error().event_id(), kField)
          ->ToString();
  const std::optional<StreamEventInfo> marked = input.find_event(id);
  // An unknown event is step 7's NOT_FOUND.
  if (!marked.has_value() ||
      marked->organization_id == input.command.organization_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "event ", id, " (", marked->event_type, ") was recorded by ",
      marked->organization_id, "; only the organisation that recorded an "
      "event, or an admin, marks it entered in error"));
}

absl::Status DecideEnteredInError(const RuleInput& input,
                                  v1::CareEvent* event) {
  v1::EventEnteredInError& e = *event->mutable_event_entered_in_error();
  const std::string id = eventstore::EventId::Parse(e.event_id(), kField)
                             ->ToString();
  const std::optional<StreamEventInfo> marked = input.find_event(id);
  const std::string& client = input.record.client_id;
  if (!marked.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        kField, ": no event ", id, " in the record of client ", client,
        " (stream ", ClientStreamId(client),
        "); take the id from this client's audit timeline"));
  }
  if (!marked->care_event) {
    return Invalid(kField, absl::StrCat("event ", id, " (",
                                        marked->event_type,
                                        ") is not a care event"));
  }
  if (marked->event_type == "EventEnteredInError") {
    return Invalid(kField,
                   absl::StrCat("event ", id,
                                " is itself an EventEnteredInError; a "
                                "correction is final and cannot be marked"));
  }
  auto done = input.record.entered_in_error.find(id);
  if (done != input.record.entered_in_error.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "event ", id, " (", marked->event_type,
        ") is already marked entered in error, at position ",
        done->second.position, " by ", done->second.organization_id));
  }
  e.set_event_id(id);
  e.set_event_type(marked->event_type);
  e.set_stream_version(marked->stream_version);
  return absl::OkStatus();
}

std::string SummarizeEnteredInError(const v1::CareEvent& event) {
  const v1::EventEnteredInError& e = event.event_entered_in_error();
  return WithReason(
      absl::StrCat(e.event_type().empty() ? "event" : e.event_type(),
                   " at version ", e.stream_version(), " (", e.event_id(),
                   ") marked entered in error"),
      e.reason());
}

constexpr EventRules kRules[] = {
    // About the record rather than the care: accepted on a closed case.
    {.event = v1::CareEvent::kEventEnteredInError,
     .check_fields = CheckEnteredInError,
     .write_rule = AuthorizeEnteredInError,
     .decide = DecideEnteredInError,
     .summarize = SummarizeEnteredInError,
     .accepted_on_closed_case = true,
     .admin_may_write = true},
};

}  // namespace

absl::Span<const EventRules> CorrectionRules() { return kRules; }

}  // namespace caseline::care::rules
