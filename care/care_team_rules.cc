// The care team: members added and removed (the lead case manager's
// organisation runs the team), and team meetings.
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"

namespace caseline::care::rules {
namespace {

bool IsLeadOrganization(const ClientRecord& record,
                        absl::string_view organization_id) {
  for (const auto& [id, member] : record.care_team) {
    if (member.active() &&
        member.added.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER &&
        member.added.organization_id() == organization_id) {
      return true;
    }
  }
  return false;
}

// --- CareTeamMemberAdded -----------------------------------------------------

absl::Status CheckAdded(const v1::CareEvent& event) {
  const auto& e = event.care_team_member_added();
  RETURN_IF_ERROR(CheckId(e.member_id(), "care_team_member_added.member_id"));
  RETURN_IF_ERROR(
      CheckId(e.organization_id(), "care_team_member_added.organization_id"));
  RETURN_IF_ERROR(CheckEnum(e.discipline(), v1::Discipline_IsValid,
                            "care_team_member_added.discipline", true));
  return CheckEnum(e.role(), v1::CareTeamRole_IsValid,
                   "care_team_member_added.role", true);
}

// While the team has a lead case manager, only the lead's organisation adds
// members; without one, any involved organisation does.
absl::Status AuthorizeAdded(const RuleInput& input) {
  const std::string& org = input.command.organization_id;
  if (input.record.ActiveLeadCaseManagers() == 0 ||
      IsLeadOrganization(input.record, org)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "care team changes: only the organisation of a lead case manager "
      "of client ",
      input.record.client_id, " adds team members, and ", org,
      " has none; ask the lead case manager's organisation to add them"));
}

absl::Status DecideAdded(const RuleInput& input, v1::CareEvent* event) {
  const auto& added = event->care_team_member_added();
  auto it = input.record.care_team.find(added.member_id());
  if (it != input.record.care_team.end() && it->second.active()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "team member ", added.member_id(),
        " is already on the care team of client ", input.record.client_id));
  }
  return RequireOrganization(input.directory, added.organization_id(),
                             "care_team_member_added.organization_id");
}

std::string SummarizeAdded(const v1::CareEvent& event) {
  const auto& e = event.care_team_member_added();
  return absl::StrCat(
      NameWords(e.name()).empty() ? e.member_id() : NameWords(e.name()), " (",
      e.organization_id(), ") joined the care team as ",
      e.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER ? "lead case manager"
                                                       : "member");
}

// --- CareTeamMemberRemoved ---------------------------------------------------

absl::Status CheckRemoved(const v1::CareEvent& event) {
  return CheckId(event.care_team_member_removed().member_id(),
                 "care_team_member_removed.member_id");
}

// A member's own organisation removes them, or the lead's organisation. An
// unknown member passes: the state rule answers NOT_FOUND.
absl::Status AuthorizeRemoved(const RuleInput& input) {
  const std::string& org = input.command.organization_id;
  auto it = input.record.care_team.find(
      input.command.event.care_team_member_removed().member_id());
  if (it == input.record.care_team.end() ||
      it->second.added.organization_id() == org ||
      IsLeadOrganization(input.record, org)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "care team changes: team member ", it->first, " is of ",
      it->second.added.organization_id(),
      "; only that organisation or the organisation of a lead case "
      "manager removes them"));
}

// A current member, and never the only lead case manager of an open case.
absl::Status DecideRemoved(const RuleInput& input, v1::CareEvent* event) {
  const ClientRecord& record = input.record;
  const std::string& client = record.client_id;
  const std::string& id = event->care_team_member_removed().member_id();
  ASSIGN_OR_RETURN(const CareTeamMemberState* member,
                   RequireKnown(record.care_team, id, "team member", client));
  if (!member->active()) {
    return absl::FailedPreconditionError(
        absl::StrCat("team member ", id, " was already removed"));
  }
  if (member->added.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER &&
      record.case_status == CaseStatus::kOpen &&
      record.ActiveLeadCaseManagers() == 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("lead case manager required: ", id,
                     " is the only lead case manager of the "
                     "open case of client ",
                     client,
                     "; add another lead case manager first, or "
                     "close the case"));
  }
  return absl::OkStatus();
}

std::string SummarizeRemoved(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("team member ", event.care_team_member_removed().member_id(),
                   " left the care team"),
      event.care_team_member_removed().reason());
}

// --- TeamMeetingHeld ---------------------------------------------------------

absl::Status CheckMeeting(const v1::CareEvent& event) {
  const auto& e = event.team_meeting_held();
  RETURN_IF_ERROR(CheckId(e.meeting_id(), "team_meeting_held.meeting_id"));
  for (int i = 0; i < e.attendee_member_ids_size(); ++i) {
    RETURN_IF_ERROR(CheckId(
        e.attendee_member_ids(i),
        absl::StrCat("team_meeting_held.attendee_member_ids[", i, "]")));
  }
  if (e.attendee_member_ids().empty()) {
    return Invalid("team_meeting_held.attendee_member_ids",
                   "a team meeting needs at least one team member");
  }
  if (e.has_next_review_date()) {
    RETURN_IF_ERROR(
        CheckDate(e.next_review_date(), "team_meeting_held.next_review_date"));
  }
  return absl::OkStatus();
}

// A new meeting id; every attendee a current team member.
absl::Status DecideMeeting(const RuleInput& input, v1::CareEvent* event) {
  const ClientRecord& record = input.record;
  const std::string& client = record.client_id;
  const auto& meeting = event->team_meeting_held();
  if (record.meeting_ids.count(meeting.meeting_id()) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("team meeting ", meeting.meeting_id(),
                     " is already recorded for client ", client));
  }
  for (const std::string& attendee : meeting.attendee_member_ids()) {
    ASSIGN_OR_RETURN(
        const CareTeamMemberState* member,
        RequireKnown(record.care_team, attendee, "team member", client));
    if (!member->active()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "team meeting attendees must be current team members: ", attendee,
          " was removed from the care team; the client attends with "
          "client_attended"));
    }
  }
  return absl::OkStatus();
}

std::string SummarizeMeeting(const v1::CareEvent& event) {
  const auto& e = event.team_meeting_held();
  return absl::StrCat("team meeting ", e.meeting_id(), " held with ",
                      e.attendee_member_ids_size(), " member(s)",
                      e.client_attended() ? " and the client" : "");
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kCareTeamMemberAdded,
     .check_fields = CheckAdded,
     .write_rule = AuthorizeAdded,
     .decide = DecideAdded,
     .summarize = SummarizeAdded},
    {.event = v1::CareEvent::kCareTeamMemberRemoved,
     .check_fields = CheckRemoved,
     .write_rule = AuthorizeRemoved,
     .decide = DecideRemoved,
     .summarize = SummarizeRemoved},
    {.event = v1::CareEvent::kTeamMeetingHeld,
     .check_fields = CheckMeeting,
     .decide = DecideMeeting,
     .summarize = SummarizeMeeting},
};

}  // namespace

absl::Span<const EventRules> CareTeamRules() { return kRules; }

}  // namespace caseline::care::rules
