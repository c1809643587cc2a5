// The six scenarios of shared/domain/README.md, as named clients with fixed
// ids (ScenarioClientIds()), and the twins example (ExampleClientIds()). Each
// appends its clients' commands, those before `cutoff`, in time order. None
// depends on the seed.
#ifndef CASELINE_TOOLS_DEMO_SCENARIOS_H_
#define CASELINE_TOOLS_DEMO_SCENARIOS_H_

#include <vector>

#include "absl/time/time.h"
#include "tools/demo/history.h"

namespace caseline::tools::demo {

// 1. A man leaving prison: consent to share with parole, county social
// services, job placement and behavioural health, then a team conference
// with all of them and the client a month later.
void ReentryScenario(absl::Time cutoff, std::vector<PlannedCommand>* out);

// 2. A stroke patient discharged home: referrals to physical therapy,
// occupational therapy, a survivors' support group and in-home care, each with
// its timeline.
void StrokeScenario(absl::Time cutoff, std::vector<PlannedCommand>* out);

// 3. An older couple whose adult children ask for information and push for a
// nursing home: without the couple's consent nothing is disclosed.
void OlderCoupleScenario(absl::Time cutoff, std::vector<PlannedCommand>* out);

// 4. A family displaced by a disaster: shelter, food, clothing and health care
// first, then benefits, job search, school enrolment, school counsellor and
// art therapy.
void DisplacedFamilyScenario(absl::Time cutoff,
                             std::vector<PlannedCommand>* out);

// 5. Teenagers in foster care whose records are subpoenaed: only what the
// court asked for is released, and the release itself is on the record.
void FosterScenario(absl::Time cutoff, std::vector<PlannedCommand>* out);

// 6. A veteran with PTSD: attendance and progress monitored, plan adjusted.
void VeteranScenario(absl::Time cutoff, std::vector<PlannedCommand>* out);

// Twin brothers registered by two agencies (not one of the six scenarios;
// named clients for the duplicate-client check): the same birth date, phone
// and address put the pair in the review band, and a case manager who knows
// the family dismisses the finding with a reason, so it does not come back.
void TwinsExample(absl::Time cutoff, std::vector<PlannedCommand>* out);

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_SCENARIOS_H_
