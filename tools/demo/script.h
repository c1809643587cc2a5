// Script: how the named scenarios are written, as hand-written histories
// whose times are days from an anchor day.
#ifndef CASELINE_TOOLS_DEMO_SCRIPT_H_
#define CASELINE_TOOLS_DEMO_SCRIPT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "tools/demo/common.h"
#include "tools/demo/events.h"
#include "tools/demo/history.h"
#include "tools/demo/network.h"

namespace caseline::tools::demo {

// A hand-written history: times are days from an anchor day, plus a time of
// day; events are added by staff user id.
class Script {
 public:
  Script(const std::string& client_id, absl::Time cutoff,
         int anchor_days_before_cutoff)
      : history_(client_id, cutoff),
        anchor_(StartOf(DayOf(cutoff) - anchor_days_before_cutoff)) {}

  absl::Time At(int day, int hour, int minute = 0) const {
    return anchor_ + Days(day) + absl::Hours(hour) + absl::Minutes(minute);
  }
  absl::CivilDay Day(int day) const { return DayOf(anchor_) + day; }

  void Add(absl::Time at, const std::string& user, v1::CareEvent event) {
    history_.Add(at, StaffById(user), std::move(event));
  }
  void Do(absl::Time at, const std::string& user, Step step,
          const std::string& referral, const std::string& text = "") {
    Add(at, user, ReferralStepEvent(step, referral, text));
  }
  // `user` becomes a lead case manager, added by `by` (by default `user`
  // itself: the first lead, recorded by the registering organisation).
  void Lead(absl::Time at, const std::string& user, std::string by = "") {
    Add(at, by.empty() ? user : by,
        MemberAddedEvent(StaffById(user),
                         v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
  }
  void Member(absl::Time at, const std::string& by, const std::string& user) {
    Add(at, by, MemberAddedEvent(StaffById(user), v1::CARE_TEAM_ROLE_MEMBER));
  }
  void Goal(absl::Time at, const std::string& by, const std::string& id,
            v1::ServiceCategory domain, const std::string& description,
            const std::string& measure, int target_day) {
    Add(at, by,
        GoalSetEvent(id, domain, description, measure, Day(target_day)));
    Add(at + absl::Minutes(1), by,
        GoalStatusEvent(id, v1::GOAL_STATUS_ACTIVE, "Agreed with the client"));
  }
  void Progress(absl::Time at, const std::string& by, const std::string& id,
                int percent, const std::string& note) {
    Add(at, by, GoalProgressEvent(id, note, percent));
    if (percent == 100) {
      Add(at + absl::Minutes(1), by,
          GoalStatusEvent(id, v1::GOAL_STATUS_COMPLETED, note));
    }
  }

  void AppendCommands(std::vector<PlannedCommand>* out) {
    history_.AppendCommands(out);
  }

 private:
  History history_;
  absl::Time anchor_;
};

inline Consent ConsentFor(const std::string& id,
                          std::vector<std::string> organizations,
                          std::vector<v1::DataClass> classes,
                          std::vector<v1::PurposeOfUse> purposes) {
  Consent c;
  c.id = id;
  c.organizations = std::move(organizations);
  c.classes = std::move(classes);
  c.purposes = std::move(purposes);
  return c;
}

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_SCRIPT_H_
