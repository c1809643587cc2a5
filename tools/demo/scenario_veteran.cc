#include <string>
#include <vector>

#include "tools/demo/scenarios.h"
#include "tools/demo/script.h"

namespace caseline::tools::demo {

// 6. A veteran with PTSD: attendance and progress monitored, plan adjusted.
void VeteranScenario(absl::Time cutoff, std::vector<PlannedCommand>* out) {
  Script s("scenario-veteran", cutoff, 150);  // day 0: intake
  const Person p{"Daniel",      "Chukwuma",
                 "Okafor",      absl::CivilDay(1979, 10, 8),
                 v1::SEX_MALE,  "+1-541-555-0195",
                 "305 Pine St", "Riverside",
                 "97301",       "en",
                 false};
  s.Add(s.At(0, 10), "harbor.adams",
        ClientRegisteredEvent(p, OrgById(kHarbor), "H220918"));
  s.Add(s.At(0, 10, 10), "harbor.adams",
        CaseOpenedEvent("PTSD after two deployments; self-referred"));
  s.Lead(s.At(0, 10, 20), "harbor.adams");
  s.Member(s.At(0, 10, 25), "harbor.adams", "harbor.walsh");
  s.Member(s.At(0, 10, 30), "harbor.adams", "harbor.singh");
  s.Add(
      s.At(0, 11), "harbor.adams",
      ConsentGivenEvent(ConsentFor("cons-1", {kEastside, kCommunity, kNewDawn},
                                   {kGeneral, v1::DATA_CLASS_MENTAL_HEALTH},
                                   {kTreatment, kCoordination})));
  s.Add(s.At(1, 10), "harbor.walsh",
        AssessmentEvent(
            "asm-1",
            {Domain(v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::NEED_LEVEL_HIGH,
                    "Wants to get back to work; supportive partner",
                    "PCL-5 58; nightmares, avoidance, hypervigilance"),
             Domain(v1::SERVICE_CATEGORY_SUBSTANCE_USE, v1::NEED_LEVEL_MODERATE,
                    "", "Drinks 4-5 beers most nights to sleep; AUDIT-C 7"),
             Domain(v1::SERVICE_CATEGORY_EMPLOYMENT, v1::NEED_LEVEL_MODERATE,
                    "Skilled electrician", "On leave from work for 3 months"),
             Domain(v1::SERVICE_CATEGORY_SUPPORT_GROUP, v1::NEED_LEVEL_LOW,
                    "Interested in a veterans' peer group",
                    "Isolates at home")}));
  s.Goal(s.At(2, 10), "harbor.walsh", "goal-1",
         v1::SERVICE_CATEGORY_MENTAL_HEALTH, "Reduce PTSD symptoms",
         "PCL-5 below 33", 120);
  s.Goal(s.At(2, 10, 5), "harbor.walsh", "goal-2",
         v1::SERVICE_CATEGORY_MENTAL_HEALTH, "Attend weekly trauma therapy",
         "12 of 14 weekly sessions attended", 98);
  s.Goal(s.At(2, 10, 10), "harbor.walsh", "goal-3",
         v1::SERVICE_CATEGORY_SUBSTANCE_USE, "Cut down drinking",
         "AUDIT-C 3 or less", 90);
  s.Add(s.At(2, 14), "harbor.adams",
        ReferralSentEvent(
            "ref-1", kHarbor, kNewDawn, v1::SERVICE_CATEGORY_SUBSTANCE_USE,
            v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
            "Evening alcohol group: drinking to sleep",
            {kGeneral, v1::DATA_CLASS_MENTAL_HEALTH}, kTreatment));
  s.Add(
      s.At(3, 15), "harbor.walsh",
      ServiceStartedEvent("svc-1", kHarbor, v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                          v1::LEVEL_OF_CARE_OUTPATIENT, ""));
  s.Do(s.At(5, 10), "newdawn.hughes", Step::kAccept, "ref-1");
  s.Add(
      s.At(10, 11), "harbor.adams",
      ReferralSentEvent(
          "ref-2", kHarbor, kCommunity, v1::SERVICE_CATEGORY_SUPPORT_GROUP,
          v1::REFERRAL_KIND_COLD, v1::URGENCY_ROUTINE,
          "Veterans' peer support group; the client will call the coordinator",
          {}, kCoordination));
  s.Do(s.At(12, 18), "newdawn.hughes", Step::kStart, "ref-1");
  s.Add(
      s.At(12, 18, 10), "newdawn.hughes",
      ServiceStartedEvent("svc-2", kNewDawn, v1::SERVICE_CATEGORY_SUBSTANCE_USE,
                          v1::LEVEL_OF_CARE_OUTPATIENT, "ref-1"));
  s.Do(s.At(20, 10), "can.hall", Step::kAccept, "ref-2");
  s.Progress(s.At(21, 16), "harbor.walsh", "goal-2", 21,
             "3 of 3 sessions attended");
  s.Progress(s.At(21, 16, 5), "harbor.walsh", "goal-1", 10, "PCL-5 55");
  s.Do(s.At(30, 10), "can.hall", Step::kHold, "ref-2",
       "Group paused until a new facilitator starts");
  s.Do(s.At(40, 10), "newdawn.hughes", Step::kFail, "ref-1",
       "Stopped attending the evening group after 3 sessions (new work "
       "schedule)");
  s.Add(s.At(40, 10, 10), "newdawn.hughes",
        ServiceEndedEvent("svc-2", "Stopped attending"));
  s.Progress(s.At(42, 16), "harbor.walsh", "goal-2", 36,
             "5 of 6 sessions; missed one in the anniversary week");
  s.Progress(s.At(42, 16, 5), "harbor.walsh", "goal-1", 12, "PCL-5 56");
  s.Progress(s.At(42, 16, 10), "harbor.walsh", "goal-3", 20,
             "AUDIT-C 6; still drinking most nights");
  s.Progress(s.At(63, 16), "harbor.walsh", "goal-1", 15,
             "PCL-5 54: little change after 8 sessions of CPT");
  s.Add(s.At(64, 10), "harbor.walsh",
        AssessmentEvent(
            "asm-2",
            {Domain(v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::NEED_LEVEL_HIGH,
                    "Attends reliably", "PCL-5 54; nightmares unchanged"),
             Domain(v1::SERVICE_CATEGORY_SUBSTANCE_USE, v1::NEED_LEVEL_MODERATE,
                    "", "Alcohol group dropped; AUDIT-C 6")}));
  s.Add(s.At(65, 14), "harbor.adams",
        MeetingEvent("mtg-1", {"harbor.adams", "harbor.walsh", "harbor.singh"},
                     true,
                     {"Little change after 8 sessions of CPT: switch to "
                      "prolonged exposure "
                      "therapy",
                      "Start prazosin for nightmares (Dr Singh)",
                      "Alcohol: individual counselling at Harbor instead of "
                      "the evening group",
                      "Peer group on hold; Luis Moreno (peer support) to meet "
                      "him meanwhile"},
                     s.Day(95)));
  s.Add(s.At(65, 15), "harbor.adams",
        GoalStatusEvent(
            "goal-3", v1::GOAL_STATUS_CANCELLED,
            "Plan adjusted at the team meeting: alcohol use now addressed in "
            "individual counselling"));
  s.Goal(s.At(65, 15, 5), "harbor.adams", "goal-4",
         v1::SERVICE_CATEGORY_SUBSTANCE_USE,
         "Drink on no more than 2 nights a week",
         "Self-report and AUDIT-C 4 or less", 125);
  s.Goal(s.At(65, 15, 10), "harbor.adams", "goal-5",
         v1::SERVICE_CATEGORY_MENTAL_HEALTH,
         "Complete a course of prolonged exposure therapy",
         "10 PE sessions attended", 135);
  s.Member(s.At(65, 16), "harbor.adams", "harbor.moreno");
  // He calls Harbor's crisis line from Mercy's ED at night; the on-call lead
  // puts the ED's social worker on his team, so Mercy may record the visit.
  s.Member(s.At(80, 1, 50), "harbor.adams", "mercy.nguyen");
  s.Add(s.At(80, 2), "mercy.okoro",
        AdmissionEvent("adm-1", kMercy, v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT,
                       v1::SERVICE_CATEGORY_MENTAL_HEALTH));
  s.Add(s.At(80, 7), "mercy.okoro",
        DischargeEvent("adm-1", v1::DISCHARGE_DISPOSITION_HOME));
  // The ED's social worker, not knowing of Harbor's referral to Community
  // Action's group (on hold), refers him to another peer group: two open
  // referrals for one need at two organisations, and nobody at New Dawn
  // answers this one.
  s.Add(s.At(80, 6, 40), "mercy.nguyen",
        ReferralSentEvent(
            "ref-3", kMercy, kNewDawn, v1::SERVICE_CATEGORY_SUPPORT_GROUP,
            v1::REFERRAL_KIND_COLD, v1::URGENCY_ROUTINE,
            "Veterans' peer support group (alcohol involved in tonight's "
            "crisis); the client will call the group coordinator",
            {}, kCoordination));
  s.Add(s.At(83, 11), "harbor.walsh",
        FollowUpEvent("fu-1", "", "adm-1", v1::CONTACT_KIND_IN_PERSON,
                      StaffById("harbor.walsh")));
  s.Progress(s.At(84, 10), "harbor.walsh", "goal-2", 60,
             "10 of 12 sessions attended");
  s.Add(s.At(95, 14), "harbor.adams",
        MeetingEvent(
            "mtg-2",
            {"harbor.adams", "harbor.walsh", "harbor.singh", "harbor.moreno"},
            true,
            {"PE going well: PCL-5 down to 44", "Fewer nightmares on prazosin",
             "Back to work part-time in 4 weeks"},
            s.Day(125)));
  s.Progress(s.At(100, 16), "harbor.walsh", "goal-1", 45,
             "PCL-5 44 after 6 PE sessions");
  s.Progress(s.At(100, 16, 5), "harbor.walsh", "goal-5", 60,
             "6 of 10 PE sessions");
  s.Progress(s.At(110, 10), "harbor.adams", "goal-4", 50,
             "Drinking on 2 nights a week");
  s.Progress(s.At(120, 16), "harbor.walsh", "goal-2", 100,
             "13 of 14 sessions attended");
  s.Progress(s.At(130, 16), "harbor.walsh", "goal-1", 70, "PCL-5 36");
  s.AppendCommands(out);
}

}  // namespace caseline::tools::demo
