// The client and the case: registering a client, correcting its details,
// linking records of one person, opening, closing and reopening the case, and
// dismissing a duplicate finding.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "care/birth_date.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"

namespace caseline::care::rules {
namespace {

constexpr size_t kMaxFindingIdBytes = 200;
// Findings about a pair of clients: duplicate-clients:<id>:<id>.
constexpr absl::string_view kDuplicateClientsPrefix = "duplicate-clients:";

absl::Status CheckIdentifiers(
    const google::protobuf::RepeatedPtrField<v1::ClientIdentifier>& ids,
    absl::string_view field) {
  for (int i = 0; i < ids.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(
        CheckId(ids[i].organization_id(), absl::StrCat(f, ".organization_id")));
    RETURN_IF_ERROR(
        CheckText(ids[i].system(), absl::StrCat(f, ".system"), true));
    RETURN_IF_ERROR(CheckText(ids[i].value(), absl::StrCat(f, ".value"), true));
  }
  return absl::OkStatus();
}

// A duplication finding id (views.proto Finding.finding_id): 1..200
// printable ASCII characters without spaces, e.g. "duplicate-clients:c1:c2".
absl::Status CheckFindingId(absl::string_view value, absl::string_view field) {
  if (value.empty()) return Invalid(field, "is required");
  if (value.size() > kMaxFindingIdBytes) {
    return Invalid(field,
                   absl::StrCat("is ", value.size(), " bytes; the limit is ",
                                kMaxFindingIdBytes));
  }
  for (char c : value) {
    if (c <= ' ' || c > '~') {
      return Invalid(field,
                     "use the finding id as the duplication view gives it "
                     "(printable characters, no spaces)");
    }
  }
  return absl::OkStatus();
}

// --- ClientRegistered --------------------------------------------------------

absl::Status CheckRegistered(const v1::CareEvent& event) {
  const auto& e = event.client_registered();
  RETURN_IF_ERROR(CheckName(e.name(), "client_registered.name"));
  // Any parts: NormalizeBirthDate keeps what can be read (DecideRegistered).
  RETURN_IF_ERROR(CheckText(e.birth_date_recorded_as(),
                            "client_registered.birth_date_recorded_as", false));
  RETURN_IF_ERROR(
      CheckEnum(e.sex(), v1::Sex_IsValid, "client_registered.sex", false));
  RETURN_IF_ERROR(CheckText(e.phone(), "client_registered.phone", false));
  return CheckIdentifiers(e.identifiers(), "client_registered.identifiers");
}

absl::Status DecideRegistered(const RuleInput& input, v1::CareEvent* event) {
  v1::ClientRegistered& e = *event->mutable_client_registered();
  for (int i = 0; i < e.identifiers_size(); ++i) {
    RETURN_IF_ERROR(
        RequireOrganization(input.directory, e.identifiers(i).organization_id(),
                            absl::StrCat("client_registered.identifiers[", i,
                                         "].organization_id")));
  }
  if (e.has_birth_date()) {
    NormalizeBirthDate(e.mutable_birth_date(),
                       e.mutable_birth_date_recorded_as());
  }
  return absl::OkStatus();
}

std::string SummarizeRegistered(const v1::CareEvent& event) {
  return absl::StrCat("client registered: ",
                      NameWords(event.client_registered().name()));
}

// --- ClientDetailsCorrected --------------------------------------------------

absl::Status CheckCorrected(const v1::CareEvent& event) {
  const auto& e = event.client_details_corrected();
  if (!e.has_name() && !e.has_birth_date() &&
      e.birth_date_recorded_as().empty() && e.sex() == v1::SEX_UNSPECIFIED &&
      e.phone().empty() && !e.has_address() && e.preferred_language().empty() &&
      !e.has_interpreter_needed() && e.identifiers_added().empty()) {
    return Invalid("client_details_corrected", "sets no field to correct");
  }
  if (e.has_name())
    RETURN_IF_ERROR(CheckName(e.name(), "client_details_corrected.name"));
  RETURN_IF_ERROR(
      CheckText(e.birth_date_recorded_as(),
                "client_details_corrected.birth_date_recorded_as", false));
  RETURN_IF_ERROR(CheckEnum(e.sex(), v1::Sex_IsValid,
                            "client_details_corrected.sex", false));
  return CheckIdentifiers(e.identifiers_added(),
                          "client_details_corrected.identifiers_added");
}

// A corrected birth date is read as a registered one.
absl::Status DecideCorrected(const RuleInput&, v1::CareEvent* event) {
  v1::ClientDetailsCorrected& e = *event->mutable_client_details_corrected();
  if (e.has_birth_date()) {
    NormalizeBirthDate(e.mutable_birth_date(),
                       e.mutable_birth_date_recorded_as());
  }
  return absl::OkStatus();
}

std::string SummarizeCorrected(const v1::CareEvent& event) {
  const auto& e = event.client_details_corrected();
  std::vector<std::string> fields;
  if (e.has_name()) fields.push_back("name");
  if (e.has_birth_date() || !e.birth_date_recorded_as().empty())
    fields.push_back("birth date");
  if (e.sex() != v1::SEX_UNSPECIFIED) fields.push_back("sex");
  if (!e.phone().empty()) fields.push_back("phone");
  if (e.has_address()) fields.push_back("address");
  if (!e.preferred_language().empty()) fields.push_back("language");
  if (e.has_interpreter_needed()) fields.push_back("interpreter");
  if (!e.identifiers_added().empty()) fields.push_back("identifiers");
  return WithReason(absl::StrCat("client details corrected (",
                                 absl::StrJoin(fields, ", "), ")"),
                    e.reason());
}

// --- ClientRecordsLinked / ClientRecordsUnlinked -----------------------------

absl::Status CheckLinked(const v1::CareEvent& event) {
  return CheckId(event.client_records_linked().other_client_id(),
                 "client_records_linked.other_client_id");
}

// A link needs standing in both records.
absl::Status AuthorizeLinked(const RuleInput& input) {
  const v1::CareEvent& event = input.command.event;
  const std::string& other = event.client_records_linked().other_client_id();
  if (other != input.record.client_id && !input.involved_in_other(other)) {
    return NotKnownOrNotInvolved("client_records_linked.other_client_id", other,
                                 input.command.organization_id, event);
  }
  return absl::OkStatus();
}

absl::Status DecideLinked(const RuleInput& input, v1::CareEvent* event) {
  const std::string& client = input.record.client_id;
  const std::string& other = event->client_records_linked().other_client_id();
  if (other == client) {
    return Invalid("client_records_linked.other_client_id",
                   "is this client itself");
  }
  if (input.record.linked_client_ids.count(other) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("clients ", client, " and ",
                                                 other, " are already linked"));
  }
  return absl::OkStatus();
}

std::string SummarizeLinked(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("linked to client ",
                   event.client_records_linked().other_client_id()),
      event.client_records_linked().reason());
}

absl::Status CheckUnlinked(const v1::CareEvent& event) {
  return CheckId(event.client_records_unlinked().other_client_id(),
                 "client_records_unlinked.other_client_id");
}

absl::Status DecideUnlinked(const RuleInput& input, v1::CareEvent* event) {
  const std::string& other = event->client_records_unlinked().other_client_id();
  if (input.record.linked_client_ids.count(other) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("clients ", input.record.client_id, " and ", other,
                     " are not linked; nothing to unlink"));
  }
  return absl::OkStatus();
}

std::string SummarizeUnlinked(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("unlinked from client ",
                   event.client_records_unlinked().other_client_id()),
      event.client_records_unlinked().reason());
}

// --- CaseOpened / CaseClosed / CaseReopened ----------------------------------

absl::Status CheckOpened(const v1::CareEvent& event) {
  return CheckText(event.case_opened().reason(), "case_opened.reason", false);
}

absl::Status DecideOpened(const RuleInput& input, v1::CareEvent*) {
  if (input.record.case_status == CaseStatus::kOpen) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the case of client ", input.record.client_id, " is already open"));
  }
  return absl::OkStatus();
}

std::string SummarizeOpened(const v1::CareEvent& event) {
  return WithReason("case opened", event.case_opened().reason());
}

absl::Status CheckClosed(const v1::CareEvent& event) {
  return CheckEnum(event.case_closed().reason(), v1::CaseClosureReason_IsValid,
                   "case_closed.reason", true);
}

// Only the organisation that opened the case closes it.
absl::Status AuthorizeClosed(const RuleInput& input) {
  // A case never opened has no opener: the state rule answers.
  const std::string& opener = input.record.case_opened_by_organization_id;
  if (opener.empty() || opener == input.command.organization_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the case of client ", input.record.client_id,
                   " was opened by ", opener, "; only ", opener, " closes it"));
}

absl::Status DecideClosed(const RuleInput& input, v1::CareEvent*) {
  if (input.record.case_status != CaseStatus::kOpen) {
    return absl::FailedPreconditionError(
        absl::StrCat("the case of client ", input.record.client_id,
                     " is not open; open it with OpenCase first"));
  }
  return absl::OkStatus();
}

std::string SummarizeClosed(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat(
          "case closed (",
          EnumWord(v1::CaseClosureReason_Name(event.case_closed().reason()),
                   "CASE_CLOSURE_REASON_"),
          ")"),
      event.case_closed().note());
}

absl::Status CheckReopened(const v1::CareEvent& event) {
  return CheckText(event.case_reopened().reason(), "case_reopened.reason",
                   false);
}

absl::Status DecideReopened(const RuleInput& input, v1::CareEvent*) {
  if (input.record.case_status != CaseStatus::kClosed) {
    return absl::FailedPreconditionError(
        absl::StrCat("the case of client ", input.record.client_id,
                     " is not closed; only a closed case reopens"));
  }
  return absl::OkStatus();
}

std::string SummarizeReopened(const v1::CareEvent& event) {
  return WithReason("case reopened", event.case_reopened().reason());
}

// --- DuplicateDismissed ------------------------------------------------------

absl::Status CheckDismissed(const v1::CareEvent& event) {
  const auto& e = event.duplicate_dismissed();
  RETURN_IF_ERROR(
      CheckFindingId(e.finding_id(), "duplicate_dismissed.finding_id"));
  return CheckText(e.reason(), "duplicate_dismissed.reason", true);
}

absl::Status DecideDismissed(const RuleInput& input, v1::CareEvent* event) {
  const std::string& client = input.record.client_id;
  const std::string& finding = event->duplicate_dismissed().finding_id();
  if (absl::StartsWith(finding, kDuplicateClientsPrefix)) {
    const std::vector<absl::string_view> ids = absl::StrSplit(
        absl::string_view(finding).substr(kDuplicateClientsPrefix.size()), ':');
    if (std::find(ids.begin(), ids.end(), absl::string_view(client)) ==
        ids.end()) {
      return Invalid("duplicate_dismissed.finding_id",
                     absl::StrCat("finding ", finding,
                                  " is about other clients, not ", client,
                                  "; dismiss it on one of the clients it "
                                  "names"));
    }
  }
  if (input.record.dismissed_finding_ids.count(finding) > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "finding ", finding, " is already dismissed for client ", client));
  }
  return absl::OkStatus();
}

std::string SummarizeDismissed(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("duplicate finding ",
                   event.duplicate_dismissed().finding_id(), " dismissed"),
      event.duplicate_dismissed().reason());
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kClientRegistered,
     .check_fields = CheckRegistered,
     .decide = DecideRegistered,
     .summarize = SummarizeRegistered,
     .registers_client = true},
    {.event = v1::CareEvent::kClientDetailsCorrected,
     .check_fields = CheckCorrected,
     .decide = DecideCorrected,
     .summarize = SummarizeCorrected},
    {.event = v1::CareEvent::kClientRecordsLinked,
     .check_fields = CheckLinked,
     .write_rule = AuthorizeLinked,
     .decide = DecideLinked,
     .summarize = SummarizeLinked},
    {.event = v1::CareEvent::kClientRecordsUnlinked,
     .check_fields = CheckUnlinked,
     .decide = DecideUnlinked,
     .summarize = SummarizeUnlinked},
    {.event = v1::CareEvent::kCaseOpened,
     .check_fields = CheckOpened,
     .decide = DecideOpened,
     .summarize = SummarizeOpened},
    {.event = v1::CareEvent::kCaseClosed,
     .check_fields = CheckClosed,
     .write_rule = AuthorizeClosed,
     .decide = DecideClosed,
     .summarize = SummarizeClosed},
    {.event = v1::CareEvent::kCaseReopened,
     .check_fields = CheckReopened,
     .decide = DecideReopened,
     .summarize = SummarizeReopened,
     .accepted_on_closed_case = true},
    // A dismissed finding is about the record rather than the care: still
    // accepted once the case is closed.
    {.event = v1::CareEvent::kDuplicateDismissed,
     .check_fields = CheckDismissed,
     .decide = DecideDismissed,
     .summarize = SummarizeDismissed,
     .accepted_on_closed_case = true},
};

}  // namespace

absl::Span<const EventRules> ClientRules() { return kRules; }

}  // namespace caseline::care::rules
