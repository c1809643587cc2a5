// The demo network: 13 organisations of every OrganizationType, their
// service categories and their staff (who act as x-caseline-user and join
// care teams), and the commands that register them.
#ifndef CASELINE_TOOLS_DEMO_NETWORK_H_
#define CASELINE_TOOLS_DEMO_NETWORK_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "tools/demo/common.h"

namespace caseline::tools::demo {

struct PlannedCommand;  // tools/demo/history.h

inline constexpr char kMercy[] = "org-mercy-general";
inline constexpr char kEastside[] = "org-eastside-health";
inline constexpr char kHarbor[] = "org-harbor-behavioral";
inline constexpr char kNewDawn[] = "org-new-dawn-recovery";
inline constexpr char kCityHome[] = "org-cityhome-housing";
inline constexpr char kLegalAid[] = "org-metro-legal-aid";
inline constexpr char kCourt[] = "org-county-court-parole";
inline constexpr char kCorrections[] = "org-state-corrections";
inline constexpr char kSchools[] = "org-riverside-schools";
inline constexpr char kHealthPlan[] = "org-statewide-health-plan";
inline constexpr char kSocialServices[] = "org-county-social-services";
inline constexpr char kHomeCare[] = "org-homecare-partners";
inline constexpr char kCommunity[] = "org-community-action";

// A person who works at an organisation: acts as x-caseline-user and joins
// care teams with their user id as member id.
struct Staff {
  std::string user_id;
  std::string given;
  std::string family;
  v1::Discipline discipline;
  bool leads;  // works as a lead case manager
  std::string organization_id;
};

struct Org {
  std::string id;
  std::string name;
  v1::OrganizationType type;
  std::vector<v1::ServiceCategory> categories;
  std::string id_system;  // the identifier system it gives its clients
  std::string id_prefix;
  std::vector<Staff> staff;

  bool Offers(v1::ServiceCategory category) const {
    return Contains(categories, category);
  }
};

// The 13 organisations of the demo network, each with its staff.
const std::vector<Org>& Orgs();

// The organisation `id` of Orgs(); the demo's own tables only name those, so
// an unknown id is a bug in the demo (it aborts).
const Org& OrgById(const std::string& id);

// The staff member `user_id` of Orgs() (aborts on an unknown one).
const Staff& StaffById(const std::string& user_id);

// Organisations other than `except` that offer `category`.
std::vector<const Org*> Providers(v1::ServiceCategory category,
                                  const std::string& except);

// Disciplines that deliver `category`, best first.
std::vector<v1::Discipline> DisciplinesFor(v1::ServiceCategory category);

// A staff member of `org` who would deliver `category` (any if none fits).
const Staff& ProviderStaff(const Org& org, v1::ServiceCategory category,
                           Rng& rng);

// A staff member of `org` who plans and coordinates (a social worker or case
// manager if there is one).
const Staff& Coordinator(const Org& org, Rng& rng);

// The commands that register the organisations (and one update), at fixed
// days before `cutoff`.
std::vector<PlannedCommand> OrganizationCommands(absl::Time cutoff);

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_NETWORK_H_
