#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/demo/demo.h"
#include "tools/demo/scenarios.h"
#include "tools/demo/script.h"

namespace caseline::tools::demo {

// Twin brothers registered by two agencies (not one of the six scenarios;
// named clients for the duplicate-client check): the same birth date, phone
// and address put the pair in the review band, and a case manager who knows
// the family dismisses the finding with a reason, so it does not come back.
void TwinsExample(absl::Time cutoff, std::vector<PlannedCommand>* out) {
  const Person caleb{"Caleb",
                     "",
                     "Whitaker",
                     absl::CivilDay(2008, 4, 17),
                     v1::SEX_MALE,
                     "+1-541-555-0149",
                     "63 Spruce Way",
                     "Riverside",
                     "97302",
                     "en",
                     false};
  Person noah = caleb;
  noah.given = "Noah";
  const v1::Representative mother =
      Rep("Tanya", "Whitaker", v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  {
    Script s(ExampleClientIds()[0], cutoff, 100);  // day 0: school intake
    s.Add(s.At(0, 10), "school.diaz",
          ClientRegisteredEvent(caleb, OrgById(kSchools), "S2208417"));
    s.Add(s.At(0, 10, 10), "school.diaz",
          CaseOpenedEvent("Chronic absence in 11th grade; his twin brother "
                          "attends the same school"));
    s.Lead(s.At(0, 10, 15), "school.diaz");
    Consent consent = ConsentFor(
        "cons-1", {kHarbor, kEastside},
        {kGeneral, v1::DATA_CLASS_EDUCATION, v1::DATA_CLASS_MENTAL_HEALTH},
        {kCoordination, kTreatment});
    consent.representative = mother;
    s.Add(s.At(0, 10, 30), "school.diaz", ConsentGivenEvent(consent));
    s.Add(s.At(1, 11), "school.diaz",
          AssessmentEvent(
              "asm-1",
              {Domain(v1::SERVICE_CATEGORY_EDUCATION, v1::NEED_LEVEL_HIGH,
                      "Strong in maths; plays in the school band",
                      "Missed 18 days this semester"),
               Domain(v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                      v1::NEED_LEVEL_MODERATE, "Close to his brother",
                      "Low mood and withdrawn since his father moved away")}));
    s.Goal(s.At(1, 12), "school.diaz", "goal-1", v1::SERVICE_CATEGORY_EDUCATION,
           "Attend school regularly", "90% attendance over 6 weeks", 90);
    s.Add(s.At(2, 10), "school.diaz",
          ReferralSentEvent(
              "ref-1", kSchools, kHarbor, v1::SERVICE_CATEGORY_MENTAL_HEALTH,
              v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
              "Counselling for the low mood behind his school absence",
              {kGeneral, v1::DATA_CLASS_MENTAL_HEALTH}, kTreatment));
    s.Do(s.At(5, 10), "harbor.james", Step::kAccept, "ref-1");
    s.Member(s.At(5, 11), "school.diaz", "harbor.walsh");
    s.Do(s.At(12, 15), "harbor.walsh", Step::kStart, "ref-1");
    s.Add(s.At(12, 15, 10), "harbor.walsh",
          ServiceStartedEvent("svc-1", kHarbor,
                              v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                              v1::LEVEL_OF_CARE_OUTPATIENT, "ref-1"));
    s.Add(s.At(30, 14), "school.diaz",
          MeetingEvent("mtg-1", {"school.diaz", "harbor.walsh"}, true,
                       {"Weekly counselling at Harbor after school",
                        "Attendance checked every Friday with his mother"},
                       s.Day(60)));
    s.Progress(s.At(45, 10), "school.diaz", "goal-1", 60,
               "Attendance 85% over the last month");
    s.Add(s.At(61, 14), "school.diaz",
          MeetingEvent("mtg-2", {"school.diaz", "harbor.walsh"}, true,
                       {"Attendance 91% for 4 weeks", "Counselling continues"},
                       s.Day(105)));
    s.AppendCommands(out);
  }
  {
    Script s(ExampleClientIds()[1], cutoff, 100);
    s.Add(s.At(20, 9), "eastside.lopez",
          ClientRegisteredEvent(noah, OrgById(kEastside), "E7730418"));
    s.Add(s.At(20, 9, 10), "eastside.lopez",
          CaseOpenedEvent("Asthma poorly controlled: two ED visits this "
                          "winter and missed school"));
    s.Lead(s.At(20, 9, 15), "eastside.lopez");
    Consent consent =
        ConsentFor("cons-1", {kSchools}, {kGeneral, v1::DATA_CLASS_EDUCATION},
                   {kCoordination, kTreatment});
    consent.representative = mother;
    s.Add(s.At(20, 9, 30), "eastside.lopez", ConsentGivenEvent(consent));
    s.Add(s.At(20, 10), "eastside.fischer",
          AssessmentEvent(
              "asm-1",
              {Domain(v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_MODERATE,
                      "Uses his inhaler when reminded",
                      "Two asthma attacks this winter"),
               Domain(v1::SERVICE_CATEGORY_EDUCATION, v1::NEED_LEVEL_LOW,
                      "Good grades", "Misses PE and school after attacks")}));
    s.Goal(s.At(20, 10, 30), "eastside.lopez", "goal-1",
           v1::SERVICE_CATEGORY_HEALTH_CARE, "Keep his asthma under control",
           "No ED visit and at most 2 school days missed for asthma in 3 "
           "months",
           110);
    s.Add(s.At(21, 10), "eastside.lopez",
          ReferralSentEvent(
              "ref-1", kEastside, kSchools, v1::SERVICE_CATEGORY_EDUCATION,
              v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
              "Asthma action plan at school: inhaler kept at the nurse's "
              "office; PE adjusted on bad days",
              {kGeneral, v1::DATA_CLASS_EDUCATION}, kCoordination));
    s.Do(s.At(23, 10), "school.diaz", Step::kAccept, "ref-1");
    s.Member(s.At(23, 11), "eastside.lopez", "school.diaz");
    s.Do(s.At(26, 10), "school.diaz", Step::kComplete, "ref-1",
         "Asthma action plan on file with the school nurse");
    s.Add(s.At(40, 15), "eastside.lopez",
          MeetingEvent("mtg-1", {"eastside.lopez", "school.diaz"}, true,
                       {"Action plan working: no attack at school this month",
                        "Review before the spring pollen season"},
                       s.Day(130)));
    // The duplicate-client check put the brothers in the review band; their
    // case manager, who knows the family, says they are two people.
    s.Add(s.At(41, 9), "eastside.lopez",
          DuplicateDismissedEvent(
              absl::StrCat("duplicate-clients:", ExampleClientIds()[0], ":",
                           ExampleClientIds()[1]),
              "Twins: Caleb and Noah Whitaker share a birth date, phone and "
              "address but are two people (confirmed with their mother)"));
    s.Progress(s.At(60, 10), "eastside.lopez", "goal-1", 50,
               "No ED visit for 6 weeks; one school day missed");
    s.AppendCommands(out);
  }
}

}  // namespace caseline::tools::demo
