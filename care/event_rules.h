// The rules of each care event, one table entry per CareEvent oneof case,
// grouped by topic in care/<topic>_rules.cc: everything about an event except
// its fold (care/client_record.cc) — its field checks, its write rule, its
// decision against the record, and its one-line summary. care_decision.cc
// runs them in the fixed order of docs/access.md "Who may write what";
// event_summary.cc dispatches the summaries. Private to care/.
//
// Adding an event to a topic: one entry (and its functions) in that topic's
// file. Adding a topic: its file, its function below, and one line in the
// list in event_rules.cc. event_rules_test.cc checks that every oneof case has
// exactly one entry.
#ifndef CASELINE_CARE_EVENT_RULES_H_
#define CASELINE_CARE_EVENT_RULES_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "care/care_decision.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "caseline/v1/care_events.pb.h"

namespace caseline::care::rules {

// Who writes an event, and so which path takes it.
enum class Writer {
  kClientCommand,        // a command on the client's stream
  kOrganizationCommand,  // Organizations, on the organizations stream
  kServer,               // the server itself (access records); no command
};

// What the rules of one command see. Every reference outlives the call.
struct RuleInput {
  // The client's record as it stands before the command; for an organisation
  // command, an empty record.
  const ClientRecord& record;
  // The organisation directory as it stands before the command.
  const OrganizationDirectory& directory;
  // Whether the acting organisation is involved in another client's care
  // (false for an unknown client); always false for an organisation command.
  absl::FunctionRef<bool(absl::string_view)> involved_in_other;
  const CareCommand& command;
  // Events of the client's stream by id (finds none for an organisation
  // command).
  FindStreamEvent find_event;
};

// Step 2 of "Who may write what": the event's own fields, no state.
// INVALID_ARGUMENT naming the field.
using FieldCheck = absl::Status (*)(const v1::CareEvent& event);

// Step 6: the command's own rule beyond standing, PERMISSION_DENIED naming
// it. A rule about a referral, consent, service or team member the record
// does not hold passes: step 7 answers NOT_FOUND for it.
using WriteRule = absl::Status (*)(const RuleInput& input);

// Step 7: the record's (or the directory's) state. `event` starts as the
// proposed event and is appended as it is left when the rule passes, so the
// rule may fill in defaults (e.g. a referral's sender and urgency).
using Decider = absl::Status (*)(const RuleInput& input, v1::CareEvent* event);

// The audit timeline's one line for the event, e.g.
// "referral r1 sent to housing-first (housing, warm)".
using Summarizer = std::string (*)(const v1::CareEvent& event);

struct EventRules {
  v1::CareEvent::EventCase event = v1::CareEvent::EVENT_NOT_SET;
  Writer writer = Writer::kClientCommand;
  // Required unless writer is kServer (no command carries those events).
  FieldCheck check_fields = nullptr;
  // Null: standing is all the event needs.
  WriteRule write_rule = nullptr;
  // Null: the record's state does not constrain the event. Unused for
  // kServer.
  Decider decide = nullptr;
  // Required.
  Summarizer summarize = nullptr;
  // The event registers a new client: it needs no standing, and the client
  // id must be new (ALREADY_EXISTS for every caller).
  bool registers_client = false;
  // The event is accepted while the client's case is closed (the refusal
  // text in care_decision.cc names the commands that are).
  bool accepted_on_closed_case = false;
  // The event records what a person did (a claim on a worklist item): a
  // command without x-caseline-user is INVALID_ARGUMENT at step 2.
  bool needs_person = false;
  // An admin (CareCommand::admin) may write it without being registered or
  // involved: steps 4 and 5 are skipped for an admin.
  bool admin_may_write = false;
};

// The topics, each in care/<topic>_rules.cc.
absl::Span<const EventRules> ClientRules();
absl::Span<const EventRules> ConsentRules();
absl::Span<const EventRules> PlanRules();
absl::Span<const EventRules> ReferralRules();
absl::Span<const EventRules> ServiceRules();
absl::Span<const EventRules> CareTeamRules();
absl::Span<const EventRules> TransitionRules();
absl::Span<const EventRules> WorklistRules();
absl::Span<const EventRules> OrganizationRules();
absl::Span<const EventRules> AccessRecordRules();
absl::Span<const EventRules> CorrectionRules();

// Every topic's entries, in topic order.
std::vector<const EventRules*> AllEventRules();

// The entry for `event`; nullptr for EVENT_NOT_SET (or a case no topic
// lists, which event_rules_test.cc rules out). Thread-safe.
const EventRules* FindEventRules(v1::CareEvent::EventCase event);

}  // namespace caseline::care::rules

#endif  // CASELINE_CARE_EVENT_RULES_H_
