#include <string>
#include <vector>

#include "tools/demo/scenarios.h"
#include "tools/demo/script.h"

namespace caseline::tools::demo {

// 1. A man leaving prison: consent to share with parole, county social
// services, job placement and behavioural health, then a team conference
// with all of them and the client a month later.
void ReentryScenario(absl::Time cutoff, std::vector<PlannedCommand>* out) {
  Script s("scenario-reentry", cutoff, 120);  // day 0: release day
  const Person p{"Marcus",     "Anthony", "Reed", absl::CivilDay(1984, 7, 19),
                 v1::SEX_MALE, "",        "",     "",
                 "",           "en",      false};
  s.Add(s.At(-1100, 9), "doc.reyes",
        ClientRegisteredEvent(p, OrgById(kCorrections), "D0048213"));
  s.Add(s.At(-1100, 10), "doc.reyes",
        AdmissionEvent("adm-1", kCorrections, v1::LEVEL_OF_CARE_INCARCERATION,
                       v1::SERVICE_CATEGORY_PROBATION_PAROLE));
  s.Add(
      s.At(-60, 9), "doc.morgan",
      CaseOpenedEvent("Reentry planning: parole release expected in 60 days"));
  s.Lead(s.At(-60, 9, 30), "doc.morgan");
  s.Add(s.At(-58, 10), "doc.morgan",
        AssessmentEvent(
            "asm-1",
            {Domain(v1::SERVICE_CATEGORY_PROBATION_PAROLE, v1::NEED_LEVEL_HIGH,
                    "Good conduct record in custody",
                    "Parole supervision starts on release"),
             Domain(v1::SERVICE_CATEGORY_EMPLOYMENT, v1::NEED_LEVEL_HIGH,
                    "Forklift certificate earned in custody",
                    "No work history since 2019"),
             Domain(v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_MODERATE,
                    "Sister offers her spare room", "No lease of his own"),
             Domain(v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::NEED_LEVEL_MODERATE,
                    "Takes his medication",
                    "Depression treated in custody; needs a "
                    "community prescriber"),
             Domain(v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
                    v1::NEED_LEVEL_HIGH, "", "No income on release")}));
  s.Goal(s.At(-56, 11), "doc.morgan", "goal-1", v1::SERVICE_CATEGORY_EMPLOYMENT,
         "Obtain full-time work",
         "Hired for 30 or more hours a week; two pay stubs", 120);
  s.Goal(s.At(-56, 11, 5), "doc.morgan", "goal-2",
         v1::SERVICE_CATEGORY_PROBATION_PAROLE, "Keep every parole check-in",
         "All scheduled check-ins kept for 6 months", 180);
  s.Goal(s.At(-56, 11, 10), "doc.morgan", "goal-3",
         v1::SERVICE_CATEGORY_MENTAL_HEALTH,
         "Continue depression treatment in the community",
         "First appointment within 14 days of release; PHQ-9 below 10", 90);
  s.Add(s.At(-30, 14), "doc.morgan",
        TransitionEvent("tr-1", "adm-1", v1::LEVEL_OF_CARE_INCARCERATION,
                        kCorrections, v1::LEVEL_OF_CARE_COMMUNITY, kCourt,
                        s.Day(0), s.Day(3)));
  Consent consent =
      ConsentFor("cons-1", {kCourt, kSocialServices, kCommunity, kHarbor},
                 {kGeneral, v1::DATA_CLASS_LEGAL, v1::DATA_CLASS_MENTAL_HEALTH,
                  v1::DATA_CLASS_FINANCIAL, v1::DATA_CLASS_HOUSING},
                 {kCoordination, kTreatment});
  consent.end = s.At(363, 10);
  s.Add(s.At(-2, 10), "doc.morgan", ConsentGivenEvent(consent));
  s.Add(
      s.At(-2, 11), "doc.morgan",
      ReferralSentEvent(
          "ref-1", kCorrections, kCourt, v1::SERVICE_CATEGORY_PROBATION_PAROLE,
          v1::REFERRAL_KIND_WARM, v1::URGENCY_URGENT,
          "Parole supervision from release day; conditions attached",
          {kGeneral, v1::DATA_CLASS_LEGAL}, kCoordination));
  s.Add(s.At(-2, 11, 10), "doc.morgan",
        ReferralSentEvent("ref-2", kCorrections, kSocialServices,
                          v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
                          v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
                          "No income on release: general assistance and SNAP",
                          {kGeneral, v1::DATA_CLASS_FINANCIAL}, kCoordination));
  s.Add(s.At(-2, 11, 20), "doc.morgan",
        ReferralSentEvent(
            "ref-3", kCorrections, kCommunity, v1::SERVICE_CATEGORY_EMPLOYMENT,
            v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
            "Job placement: forklift certificate earned in custody", {kGeneral},
            kCoordination));
  s.Add(s.At(-2, 11, 30), "doc.morgan",
        ReferralSentEvent(
            "ref-4", kCorrections, kHarbor, v1::SERVICE_CATEGORY_MENTAL_HEALTH,
            v1::REFERRAL_KIND_WARM, v1::URGENCY_URGENT,
            "Continue depression treatment (sertraline) after release",
            {kGeneral, v1::DATA_CLASS_MENTAL_HEALTH}, kTreatment));
  s.Do(s.At(-1, 9), "parole.wilson", Step::kAccept, "ref-1");
  s.Member(s.At(-1, 9, 30), "doc.morgan", "parole.wilson");
  s.Do(s.At(-1, 10), "dss.campbell", Step::kAccept, "ref-2");
  s.Member(s.At(-1, 10, 30), "doc.morgan", "dss.campbell");
  s.Do(s.At(-1, 13), "harbor.walsh", Step::kAccept, "ref-4");
  s.Member(s.At(-1, 13, 30), "doc.morgan", "harbor.walsh");
  s.Add(s.At(0, 8), "doc.reyes",
        DischargeEvent("adm-1", v1::DISCHARGE_DISPOSITION_HOME));
  s.Add(s.At(0, 9), "doc.morgan", TransitionCompletedEvent("tr-1"));
  s.Add(s.At(0, 15), "doc.morgan",
        DetailsCorrectedEvent("+1-541-555-0178", "48 Alder St, Apt 2",
                              "Riverside", "97301",
                              "Released on parole; staying with his sister"));
  s.Do(s.At(2, 9), "parole.wilson", Step::kStart, "ref-1");
  s.Add(s.At(2, 9, 10), "parole.wilson",
        ServiceStartedEvent("svc-1", kCourt,
                            v1::SERVICE_CATEGORY_PROBATION_PAROLE,
                            v1::LEVEL_OF_CARE_COMMUNITY, "ref-1"));
  s.Add(s.At(2, 9, 30), "parole.wilson",
        FollowUpEvent("fu-1", "tr-1", "adm-1", v1::CONTACT_KIND_IN_PERSON,
                      StaffById("parole.wilson")));
  s.Do(s.At(2, 10), "can.ng", Step::kAccept, "ref-3");
  s.Member(s.At(2, 10, 30), "doc.morgan", "can.ng");
  s.Do(s.At(6, 10), "dss.campbell", Step::kStart, "ref-2");
  s.Add(s.At(6, 10, 10), "dss.campbell",
        ServiceStartedEvent("svc-2", kSocialServices,
                            v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
                            v1::LEVEL_OF_CARE_COMMUNITY, "ref-2"));
  s.Do(s.At(9, 15), "harbor.walsh", Step::kStart, "ref-4");
  s.Add(
      s.At(9, 15, 10), "harbor.walsh",
      ServiceStartedEvent("svc-3", kHarbor, v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                          v1::LEVEL_OF_CARE_OUTPATIENT, "ref-4"));
  s.Progress(s.At(9, 16), "harbor.walsh", "goal-3", 30,
             "First appointment at Harbor 9 days after release; PHQ-9 15");
  s.Do(s.At(14, 10), "can.ng", Step::kStart, "ref-3");
  s.Add(
      s.At(14, 10, 10), "can.ng",
      ServiceStartedEvent("svc-4", kCommunity, v1::SERVICE_CATEGORY_EMPLOYMENT,
                          v1::LEVEL_OF_CARE_COMMUNITY, "ref-3"));
  s.Do(s.At(20, 14), "dss.campbell", Step::kComplete, "ref-2",
       "General assistance approved; SNAP benefits issued");
  const std::vector<std::string> everyone{
      "doc.morgan", "parole.wilson", "dss.campbell", "can.ng", "harbor.walsh"};
  s.Add(s.At(28, 14), "doc.morgan",
        MeetingEvent("mtg-1", everyone, true,
                     {"Parole check-ins weekly for the first 90 days",
                      "Job placement: two interviews scheduled next week",
                      "Continue weekly therapy; prescriber appointment booked",
                      "General assistance and SNAP in place"},
                     s.Day(58)));
  s.Progress(s.At(30, 10), "parole.wilson", "goal-2", 17,
             "All 4 weekly check-ins kept");
  s.Progress(s.At(45, 11), "harbor.walsh", "goal-3", 60,
             "PHQ-9 11; attending weekly");
  s.Add(s.At(58, 14), "doc.morgan",
        MeetingEvent("mtg-2", everyone, true,
                     {"Check-ins kept; parole moves to every two weeks",
                      "Warehouse job offer expected this month"},
                     s.Day(100)));
  s.Progress(s.At(60, 10), "parole.wilson", "goal-2", 33,
             "Check-ins kept; drug tests negative");
  s.Do(s.At(75, 15), "can.ng", Step::kComplete, "ref-3",
       "Hired as a warehouse associate, 32 hours a week");
  s.Add(s.At(75, 15, 30), "can.ng",
        ServiceEndedEvent("svc-4", "Job placement completed"));
  s.Progress(s.At(76, 9), "doc.morgan", "goal-1", 70,
             "Started work, 32 hours a week");
  s.Progress(s.At(90, 10), "harbor.walsh", "goal-3", 100,
             "PHQ-9 8 at two consecutive visits");
  s.Progress(s.At(100, 10), "doc.morgan", "goal-1", 100,
             "Two pay stubs received");
  s.Progress(s.At(100, 11), "parole.wilson", "goal-2", 55,
             "Every check-in kept for 100 days");
  s.AppendCommands(out);
}

}  // namespace caseline::tools::demo
