#include "tools/demo/history.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "tools/demo/events.h"
#include "tools/demo/network.h"

namespace caseline::tools::demo {

void InviteAuthors(std::vector<PlannedCommand>* commands) {
  struct MemberState {
    std::string organization_id;
    std::string user_id;
    bool lead = false;
    bool active = true;
  };
  std::string registered_by, registered_user;
  std::map<std::string, MemberState> team;
  std::set<std::string> parties;  // referral ends, transition receivers
  std::map<std::string, std::pair<std::string, bool>> services;
  std::set<std::string> invited;  // members added by an invitation
  auto involved = [&](const std::string& org) {
    if (org == registered_by || parties.count(org) > 0) return true;
    for (const auto& [id, m] : team) {
      if (m.active && m.organization_id == org) return true;
    }
    for (const auto& [id, service] : services) {
      if (service.second && service.first == org) return true;
    }
    return false;
  };
  std::vector<PlannedCommand> out;
  for (PlannedCommand& c : *commands) {
    const v1::CareEvent& e = c.event;
    if (!e.has_client_registered() && !registered_by.empty() &&
        !involved(c.organization_id)) {
      std::string by_org = registered_by, by_user = registered_user;
      for (const auto& [id, m] : team) {
        if (m.active && m.lead) {
          by_org = m.organization_id;
          by_user = m.user_id;
          break;
        }
      }
      const Staff& staff = StaffById(c.user_id);
      out.push_back(PlannedCommand{
          "", c.client_id, by_org, by_user, c.occurred_at - absl::Minutes(1),
          MemberAddedEvent(staff, v1::CARE_TEAM_ROLE_MEMBER)});
      team[staff.user_id] = {staff.organization_id, staff.user_id, false, true};
      invited.insert(staff.user_id);
    }
    if (e.has_care_team_member_added() &&
        invited.count(e.care_team_member_added().member_id()) > 0 &&
        team[e.care_team_member_added().member_id()].active) {
      continue;  // the invitation already added them
    }
    switch (e.event_case()) {
      case v1::CareEvent::kClientRegistered:
        registered_by = c.organization_id;
        registered_user = c.user_id;
        break;
      case v1::CareEvent::kCareTeamMemberAdded: {
        const auto& m = e.care_team_member_added();
        team[m.member_id()] = {m.organization_id(), m.member_id(),
                               m.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER,
                               true};
        break;
      }
      case v1::CareEvent::kCareTeamMemberRemoved:
        team[e.care_team_member_removed().member_id()].active = false;
        break;
      case v1::CareEvent::kReferralSent:
        parties.insert(c.organization_id);
        parties.insert(e.referral_sent().to_organization_id());
        break;
      case v1::CareEvent::kServiceStarted:
        services[e.service_started().service_id()] = {
            e.service_started().provider_organization_id(), true};
        break;
      case v1::CareEvent::kServiceEnded:
        services[e.service_ended().service_id()].second = false;
        break;
      case v1::CareEvent::kTransitionPlanned:
        parties.insert(e.transition_planned().to_organization_id());
        break;
      default:
        break;
    }
    out.push_back(std::move(c));
  }
  *commands = std::move(out);
}

namespace {

constexpr absl::string_view kTargetPrefix = "demo-target:";

// The first field of the event set in `event`, when it is a string.
std::string OwnIdOf(const v1::CareEvent& event) {
  const google::protobuf::Reflection* reflection = event.GetReflection();
  const google::protobuf::FieldDescriptor* set = reflection->GetOneofFieldDescriptor(
      event, v1::CareEvent::descriptor()->FindOneofByName("event"));
  if (set == nullptr) return "";
  const google::protobuf::Message& inner = reflection->GetMessage(event, set);
  const google::protobuf::FieldDescriptor* first =
      inner.GetDescriptor()->FindFieldByNumber(1);
  if (first == nullptr ||
      first->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
      first->is_repeated()) {
    return "";
  }
  return inner.GetReflection()->GetString(inner, first);
}

}  // namespace

std::string CorrectionTarget(const std::string& id) {
  return absl::StrCat(kTargetPrefix, id);
}

void ResolveCorrections(std::vector<PlannedCommand>* commands) {
  for (PlannedCommand& command : *commands) {
    if (!command.event.has_event_entered_in_error()) continue;
    v1::EventEnteredInError& marked =
        *command.event.mutable_event_entered_in_error();
    if (!absl::StartsWith(marked.event_id(), kTargetPrefix)) continue;
    const std::string id(
        absl::string_view(marked.event_id()).substr(kTargetPrefix.size()));
    for (const PlannedCommand& target : *commands) {
      if (&target == &command || OwnIdOf(target.event) != id) continue;
      // A command's first event: FromName(org \n command_id \n 0).
      marked.set_event_id(
          eventstore::EventId::FromName(absl::StrCat(target.organization_id,
                                                     "\n", target.command_id,
                                                     "\n0"))
              .ToString());
      break;
    }
  }
}

}  // namespace caseline::tools::demo
