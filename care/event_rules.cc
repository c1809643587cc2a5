#include "care/event_rules.h"

#include "absl/container/flat_hash_map.h"

namespace caseline::care::rules {
namespace {

// The one list of topics.
using Topic = absl::Span<const EventRules> (*)();
constexpr Topic kTopics[] = {
    ClientRules,     ConsentRules,      PlanRules,
    ReferralRules,   ServiceRules,      CareTeamRules,
    TransitionRules, WorklistRules,     OrganizationRules,
    AccessRecordRules, CorrectionRules,
};

}  // namespace

std::vector<const EventRules*> AllEventRules() {
  std::vector<const EventRules*> all;
  for (Topic topic : kTopics) {
    for (const EventRules& rules : topic()) all.push_back(&rules);
  }
  return all;
}

const EventRules* FindEventRules(v1::CareEvent::EventCase event) {
  // Built once; never destroyed (Google style: no static destructors).
  static const auto* const kByEvent = [] {
    auto* by_event = new absl::flat_hash_map<int, const EventRules*>();
    for (const EventRules* rules : AllEventRules()) {
      by_event->try_emplace(rules->event, rules);
    }
    return by_event;
  }();
  auto it = kByEvent->find(event);
  return it == kByEvent->end() ? nullptr : it->second;
}

}  // namespace caseline::care::rules
