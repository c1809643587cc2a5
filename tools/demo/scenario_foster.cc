#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/demo/scenarios.h"
#include "tools/demo/script.h"

namespace caseline::tools::demo {

// 5. Teenagers in foster care whose records are subpoenaed: only what the
// court asked for is released, and the release itself is on the record.
void FosterScenario(absl::Time cutoff, std::vector<PlannedCommand>* out) {
  const Person jasmine{"Jasmine",
                       "",
                       "Cole",
                       absl::CivilDay(2009, 6, 12),
                       v1::SEX_FEMALE,
                       "+1-541-555-0188",
                       "9 Willow Court",
                       "Riverside",
                       "97306",
                       "en",
                       false};
  const Person tyler{"Tyler",
                     "",
                     "Cole",
                     absl::CivilDay(2011, 1, 23),
                     v1::SEX_MALE,
                     "+1-541-555-0188",
                     "9 Willow Court",
                     "Riverside",
                     "97306",
                     "en",
                     false};
  const v1::Representative county =
      Rep("Dana", "Whitfield", v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  for (int c = 1; c <= 2; ++c) {
    Script s(absl::StrCat("scenario-foster-teen-", c), cutoff,
             80);  // day 0: subpoena
    s.Add(s.At(-200, 10, c), "dss.whitfield",
          ClientRegisteredEvent(c == 1 ? jasmine : tyler,
                                OrgById(kSocialServices),
                                absl::StrCat("DSS88031", c)));
    s.Add(s.At(-200, 10, 10 + c), "dss.whitfield",
          CaseOpenedEvent(
              "Foster care: the county holds legal custody; siblings placed "
              "together"));
    s.Lead(s.At(-200, 10, 20 + c), "dss.whitfield");
    Consent care = ConsentFor(
        "cons-1", {kSchools, kHarbor, kEastside},
        {kGeneral, v1::DATA_CLASS_EDUCATION, v1::DATA_CLASS_MENTAL_HEALTH},
        {kTreatment, kCoordination});
    care.representative = county;
    s.Add(s.At(-200, 11, c), "dss.whitfield", ConsentGivenEvent(care));
    s.Add(s.At(-198, 10, c), "dss.whitfield",
          AssessmentEvent(
              "asm-1",
              {Domain(v1::SERVICE_CATEGORY_EDUCATION, v1::NEED_LEVEL_MODERATE,
                      "Bright; likes science",
                      "Changed school twice in two years"),
               Domain(v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                      c == 1 ? v1::NEED_LEVEL_HIGH : v1::NEED_LEVEL_MODERATE,
                      "Protective of each other",
                      c == 1 ? "Trauma history; anxiety; GAD-7 16"
                             : "Angry outbursts at school"),
               Domain(v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
                      v1::NEED_LEVEL_HIGH, "Siblings placed together",
                      "Third placement in two years"),
               Domain(v1::SERVICE_CATEGORY_LEGAL, v1::NEED_LEVEL_MODERATE, "",
                      "Dependency case reviewed every 6 months")}));
    if (c == 1) {
      s.Goal(s.At(-196, 10), "dss.whitfield", "goal-1",
             v1::SERVICE_CATEGORY_MENTAL_HEALTH, "Reduce anxiety",
             "GAD-7 below 10 at two sessions", 60);
      s.Goal(s.At(-196, 10, 5), "dss.whitfield", "goal-2",
             v1::SERVICE_CATEGORY_EDUCATION, "Pass every 10th-grade class",
             "No failing grade at the semester's end", 30);
    } else {
      s.Goal(s.At(-196, 10, 10), "dss.whitfield", "goal-1",
             v1::SERVICE_CATEGORY_EDUCATION, "Improve school attendance",
             "95% attendance this semester", 60);
    }
    s.Add(s.At(-195, 10, c), "dss.whitfield",
          ReferralSentEvent(
              "ref-1", kSocialServices, kHarbor,
              v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::REFERRAL_KIND_WARM,
              v1::URGENCY_ROUTINE,
              "Trauma-focused therapy for a teenager in foster care",
              {kGeneral, v1::DATA_CLASS_MENTAL_HEALTH}, kTreatment));
    s.Do(s.At(-193, 10, c), "harbor.james", Step::kAccept, "ref-1");
    s.Member(s.At(-193, 11, c), "dss.whitfield", "harbor.walsh");
    s.Member(s.At(-190, 10, c), "dss.whitfield", "school.diaz");
    s.Do(s.At(-186, 15, c), "harbor.walsh", Step::kStart, "ref-1");
    s.Add(s.At(-186, 15, 10 + c), "harbor.walsh",
          ServiceStartedEvent("svc-1", kHarbor,
                              v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                              v1::LEVEL_OF_CARE_OUTPATIENT, "ref-1"));
    std::vector<std::string> team{"dss.whitfield", "harbor.walsh",
                                  "school.diaz"};
    if (c == 1) {
      s.Progress(s.At(-100, 10), "harbor.walsh", "goal-1", 30, "GAD-7 14");
    } else {
      s.Do(s.At(-120, 10), "harbor.walsh", Step::kFail, "ref-1",
           "Missed 3 consecutive appointments after a placement change");
      s.Add(s.At(-120, 10, 10), "harbor.walsh",
            ServiceEndedEvent("svc-1", "Referral failed: missed appointments"));
      s.Add(s.At(-118, 10), "dss.whitfield",
            MemberRemovedEvent(
                "harbor.walsh",
                "Therapy at Harbor ended; re-referred to Eastside"));
      s.Add(s.At(-110, 10), "dss.whitfield",
            ReferralSentEvent(
                "ref-3", kSocialServices, kEastside,
                v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::REFERRAL_KIND_WARM,
                v1::URGENCY_URGENT,
                "Re-referral: counselling closer to the new placement",
                {kGeneral, v1::DATA_CLASS_MENTAL_HEALTH}, kTreatment));
      s.Do(s.At(-108, 10), "eastside.lopez", Step::kAccept, "ref-3");
      s.Member(s.At(-108, 11), "dss.whitfield", "eastside.kim");
      s.Do(s.At(-100, 14), "eastside.kim", Step::kStart, "ref-3");
      s.Add(s.At(-100, 14, 10), "eastside.kim",
            ServiceStartedEvent("svc-2", kEastside,
                                v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                                v1::LEVEL_OF_CARE_OUTPATIENT, "ref-3"));
      team = {"dss.whitfield", "eastside.kim", "school.diaz"};
    }
    // The court's subpoena asks for school attendance and grades only. The
    // county, as legal custodian, releases exactly that to the court and
    // records the release as a disclosure under the court order (no consent
    // is needed for it); the therapy records were not asked for and stay
    // withheld.
    s.Add(s.At(2, 10, c), "dss.whitfield",
          InformationDisclosedEvent(
              "disc-1", kCourt, {v1::DATA_CLASS_EDUCATION},
              v1::PURPOSE_OF_USE_LEGAL,
              "School attendance and grade reports for the current semester, "
              "as the subpoena asks; nothing else released (therapy records "
              "were not requested and are withheld)",
              "",
              "court order: subpoena duces tecum in dependency case "
              "25-JV-0412, County Juvenile Court"));
    s.Add(s.At(5, 14, c), "dss.whitfield",
          MeetingEvent("mtg-1", team, true,
                       {"The subpoena was answered with school attendance and "
                        "grades only; "
                        "therapy notes withheld as not requested",
                        "The release is on the record as disclosure disc-1 to "
                        "the court under the court order",
                        "Sibling visits continue weekly"},
                       s.Day(35)));
    if (c == 1) {
      s.Progress(s.At(30, 10), "harbor.walsh", "goal-1", 55, "GAD-7 11");
      s.Progress(s.At(31, 10), "school.diaz", "goal-2", 100,
                 "Passed every class; two Bs");
    } else {
      s.Progress(s.At(30, 10), "school.diaz", "goal-1", 60,
                 "Attendance 91% this semester");
    }
    s.AppendCommands(out);
  }
}

}  // namespace caseline::tools::demo
