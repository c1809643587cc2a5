#include "tools/demo/history.h"

#include <map>
#include <set>
#include <string>
#include <utility>

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

}  // namespace caseline::tools::demo
