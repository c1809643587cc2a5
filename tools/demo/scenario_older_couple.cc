#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/demo/scenarios.h"
#include "tools/demo/script.h"

namespace caseline::tools::demo {

// 3. An older couple whose adult children ask for information and push for a
// nursing home: without the couple's consent nothing is disclosed.
void OlderCoupleScenario(absl::Time cutoff, std::vector<PlannedCommand>* out) {
  const Person harold{"Harold",
                      "James",
                      "Bennett",
                      absl::CivilDay(1940, 9, 3),
                      v1::SEX_MALE,
                      "+1-541-555-0163",
                      "17 Orchard Road",
                      "Riverside",
                      "97304",
                      "en",
                      false};
  const Person margaret{"Margaret",
                        "Ann",
                        "Bennett",
                        absl::CivilDay(1942, 5, 27),
                        v1::SEX_FEMALE,
                        "+1-541-555-0163",
                        "17 Orchard Road",
                        "Riverside",
                        "97304",
                        "en",
                        false};
  for (int c = 1; c <= 2; ++c) {
    Script s(absl::StrCat("scenario-older-couple-", c), cutoff, 70);
    const Person& p = c == 1 ? harold : margaret;
    s.Add(s.At(0, 10, c), "dss.park",
          ClientRegisteredEvent(p, OrgById(kSocialServices),
                                absl::StrCat("DSS77120", 3 + c)));
    s.Add(s.At(0, 10, 20 + c), "dss.park",
          CaseOpenedEvent(
              "Adult services: couple aged 85 and 83 living at home; adult "
              "children worried about their safety"));
    s.Lead(s.At(0, 10, 30 + c), "dss.park");
    std::vector<v1::DomainAssessment> domains{
        Domain(v1::SERVICE_CATEGORY_IN_HOME_CARE, v1::NEED_LEVEL_MODERATE,
               "Manage together; want to stay at home",
               "Stairs; one fall last winter"),
        Domain(v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_MODERATE,
               "Regular GP at Eastside",
               "Several medications; no pill organiser"),
        Domain(v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_LOW,
               "Own their home", "Bedroom upstairs"),
        Domain(v1::SERVICE_CATEGORY_TRANSPORTATION, v1::NEED_LEVEL_MODERATE, "",
               "Gave up driving this year")};
    if (c == 2) {
      domains.push_back(Domain(
          v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::NEED_LEVEL_LOW,
          "Has capacity to decide for herself", "Mild memory complaints"));
    }
    s.Add(s.At(2, 11, c), "dss.park", AssessmentEvent("asm-1", domains));
    // Their own consent, to their own providers only: not to the children.
    s.Add(
        s.At(2, 12, c), "dss.park",
        ConsentGivenEvent(ConsentFor("cons-1", {kHomeCare, kEastside},
                                     {kGeneral}, {kCoordination, kTreatment})));
    s.Goal(s.At(2, 13, c), "dss.park", "goal-1",
           v1::SERVICE_CATEGORY_IN_HOME_CARE, "Remain living safely at home",
           "No falls, and aide visits 3 times a week for 90 days", 92);
    s.Add(s.At(3, 10, c), "dss.park",
          ReferralSentEvent(
              "ref-1", kSocialServices, kHomeCare,
              v1::SERVICE_CATEGORY_IN_HOME_CARE, v1::REFERRAL_KIND_WARM,
              v1::URGENCY_ROUTINE,
              "Home aide 3 mornings a week; the couple want to stay at home",
              {kGeneral}, kCoordination));
    s.Add(s.At(3, 11, c), "dss.park",
          ReferralSentEvent(
              "ref-2", kSocialServices, kLegalAid, v1::SERVICE_CATEGORY_LEGAL,
              v1::REFERRAL_KIND_COLD, v1::URGENCY_ROUTINE,
              "Advance directives: the couple want to name health care agents "
              "of their own choosing",
              {}, kCoordination));
    s.Do(s.At(5, 14, c), "homecare.silva", Step::kAccept, "ref-1");
    if (c == 1) {
      s.Do(s.At(8, 10), "legalaid.shah", Step::kAccept, "ref-2");
    } else {
      s.Do(s.At(8, 15), "dss.park", Step::kCancel, "ref-2",
           "Will go to Harold's appointment at Legal Aid together; one "
           "referral is enough");
    }
    s.Do(s.At(9, 9, c), "homecare.silva", Step::kStart, "ref-1");
    s.Add(s.At(9, 9, 10 + c), "homecare.silva",
          ServiceStartedEvent("svc-1", kHomeCare,
                              v1::SERVICE_CATEGORY_IN_HOME_CARE,
                              v1::LEVEL_OF_CARE_HOME, "ref-1"));
    s.Member(s.At(9, 10, c), "dss.park", "homecare.silva");
    s.Add(s.At(12, 15, c), "dss.park",
          MeetingEvent("mtg-1", {"dss.park", "homecare.silva"}, true,
                       {"The adult children asked for their parents' records "
                        "and pushed for "
                        "a nursing home; the couple did not consent to sharing "
                        "with family, "
                        "so nothing was disclosed",
                        "The couple chose to stay at home with aide visits 3 "
                        "mornings a week",
                        "Review in 60 days, or sooner after any fall"},
                       s.Day(72)));
    s.Progress(s.At(40, 11, c), "homecare.silva", "goal-1", 45,
               "No falls; aide visits 3 times a week kept");
    if (c == 1) {
      // Four days before the demo's today Harold falls at home and is
      // admitted to Mercy; its discharge planner plans his return home with
      // HomeCare for two days after today (on Mercy's worklist).
      // Mercy's ED calls his case manager, who puts Mercy's discharge
      // planner on the team: only then may Mercy write into his record.
      s.Member(s.At(66, 21, 30), "dss.park", "mercy.rivera");
      s.Add(s.At(66, 21, 40), "mercy.okoro",
            AdmissionEvent("adm-1", kMercy, v1::LEVEL_OF_CARE_INPATIENT,
                           v1::SERVICE_CATEGORY_HEALTH_CARE));
      s.Add(s.At(68, 11), "mercy.rivera",
            TransitionEvent("tr-1", "adm-1", v1::LEVEL_OF_CARE_INPATIENT,
                            kMercy, v1::LEVEL_OF_CARE_HOME, kHomeCare,
                            s.Day(72), s.Day(79)));
      // Rivera takes the return home on: her colleagues see it claimed.
      s.Add(s.At(68, 11, 5), "mercy.rivera",
            WorklistItemClaimedEvent(
                v1::WORKLIST_ITEM_KIND_TRANSITION_DUE, "tr-1",
                "Arranging the aide's first visit with HomeCare"));
    }
    s.AppendCommands(out);
  }
}

}  // namespace caseline::tools::demo
