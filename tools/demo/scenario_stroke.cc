#include <string>
#include <vector>

#include "tools/demo/scenarios.h"
#include "tools/demo/script.h"

namespace caseline::tools::demo {

// 2. A stroke patient discharged home: referrals to physical therapy,
// occupational therapy, a survivors' support group and in-home care, each with
// its timeline.
void StrokeScenario(absl::Time cutoff, std::vector<PlannedCommand>* out) {
  Script s("scenario-stroke", cutoff, 95);  // day 0: admission
  const Person p{"Evelyn",
                 "Rose",
                 "Hart",
                 absl::CivilDay(1951, 2, 11),
                 v1::SEX_FEMALE,
                 "+1-541-555-0117",
                 "212 Birch Lane",
                 "Riverside",
                 "97302",
                 "en",
                 false};
  s.Add(s.At(0, 3, 40), "mercy.okoro",
        ClientRegisteredEvent(p, OrgById(kMercy), "M3310457"));
  s.Add(s.At(0, 4, 10), "mercy.okoro",
        AdmissionEvent("adm-1", kMercy, v1::LEVEL_OF_CARE_INPATIENT,
                       v1::SERVICE_CATEGORY_HEALTH_CARE));
  s.Add(s.At(1, 10), "mercy.rivera",
        CaseOpenedEvent(
            "Discharge planning after an ischaemic stroke; lives alone"));
  s.Lead(s.At(1, 10, 15), "mercy.rivera");
  s.Member(s.At(1, 10, 20), "mercy.rivera", "mercy.chen");
  s.Add(
      s.At(2, 11), "mercy.rivera",
      AssessmentEvent(
          "asm-1",
          {Domain(v1::SERVICE_CATEGORY_PHYSICAL_THERAPY, v1::NEED_LEVEL_HIGH,
                  "Motivated; walked daily before the stroke",
                  "Left-sided weakness; walks 10 m with a frame; fall risk"),
           Domain(v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY,
                  v1::NEED_LEVEL_HIGH, "Right hand unaffected",
                  "Needs help dressing and bathing"),
           Domain(v1::SERVICE_CATEGORY_IN_HOME_CARE, v1::NEED_LEVEL_MODERATE,
                  "Daughter visits at weekends",
                  "Lives alone in a two-storey house"),
           Domain(v1::SERVICE_CATEGORY_SUPPORT_GROUP, v1::NEED_LEVEL_LOW,
                  "Keen to meet other survivors", "Low mood since the stroke"),
           Domain(v1::SERVICE_CATEGORY_TRANSPORTATION, v1::NEED_LEVEL_MODERATE,
                  "", "Cannot drive for at least 3 months")}));
  s.Add(s.At(3, 10), "mercy.rivera",
        ConsentGivenEvent(ConsentFor(
            "cons-1", {kHomeCare, kCommunity, kEastside, kHealthPlan},
            {kGeneral}, {kCoordination, kTreatment})));
  s.Goal(s.At(4, 10), "mercy.rivera", "goal-1",
         v1::SERVICE_CATEGORY_PHYSICAL_THERAPY, "Walk 50 m indoors with a cane",
         "50 m with a cane without help; 10-metre walk under 15 s", 60);
  s.Goal(s.At(4, 10, 5), "mercy.rivera", "goal-2",
         v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY,
         "Dress and wash independently", "Barthel index 90 or more", 75);
  s.Goal(s.At(4, 10, 10), "mercy.rivera", "goal-3",
         v1::SERVICE_CATEGORY_SUPPORT_GROUP, "Join a stroke survivors' group",
         "Attend 3 group meetings", 45);
  s.Add(
      s.At(5, 9), "mercy.rivera",
      TransitionEvent("tr-1", "adm-1", v1::LEVEL_OF_CARE_INPATIENT, kMercy,
                      v1::LEVEL_OF_CARE_HOME, kHomeCare, s.Day(7), s.Day(14)));
  s.Add(s.At(5, 10), "mercy.rivera",
        ReferralSentEvent(
            "ref-1", kMercy, kHomeCare, v1::SERVICE_CATEGORY_PHYSICAL_THERAPY,
            v1::REFERRAL_KIND_WARM, v1::URGENCY_URGENT,
            "Home physical therapy after stroke: gait and balance, 2-3 visits "
            "a week from discharge",
            {kGeneral}, kTreatment));
  s.Add(
      s.At(5, 10, 10), "mercy.rivera",
      ReferralSentEvent(
          "ref-2", kMercy, kHomeCare, v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY,
          v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
          "Home occupational therapy: dressing, bathing, kitchen safety; "
          "start within 3 days of discharge",
          {kGeneral}, kTreatment));
  s.Add(s.At(5, 10, 20), "mercy.rivera",
        ReferralSentEvent(
            "ref-3", kMercy, kHomeCare, v1::SERVICE_CATEGORY_IN_HOME_CARE,
            v1::REFERRAL_KIND_WARM, v1::URGENCY_URGENT,
            "Home aide 3 mornings a week from the day of discharge", {kGeneral},
            kCoordination));
  s.Add(s.At(5, 10, 30), "mercy.rivera",
        ReferralSentEvent(
            "ref-4", kMercy, kCommunity, v1::SERVICE_CATEGORY_SUPPORT_GROUP,
            v1::REFERRAL_KIND_COLD, v1::URGENCY_ROUTINE,
            "Stroke survivors' group meets Thursdays at 2 pm; client given the "
            "coordinator's number, to call within 2 weeks",
            {}, kCoordination));
  s.Add(s.At(5, 10, 40), "mercy.rivera",
        ReferralSentEvent(
            "ref-5", kMercy, kHealthPlan, v1::SERVICE_CATEGORY_TRANSPORTATION,
            v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
            "Rides to outpatient neurology and rehabilitation appointments",
            {kGeneral}, kCoordination));
  s.Do(s.At(5, 16), "homecare.silva", Step::kAccept, "ref-1");
  s.Do(s.At(5, 16, 5), "homecare.silva", Step::kAccept, "ref-3");
  s.Do(s.At(6, 11), "homecare.osei", Step::kAccept, "ref-2");
  s.Do(s.At(6, 14), "plan.ali", Step::kAccept, "ref-5");
  s.Member(s.At(6, 15), "mercy.rivera", "homecare.silva");
  s.Member(s.At(6, 15, 5), "mercy.rivera", "homecare.berg");
  s.Member(s.At(6, 15, 10), "mercy.rivera", "homecare.osei");
  s.Add(s.At(7, 11), "mercy.okoro",
        DischargeEvent("adm-1", v1::DISCHARGE_DISPOSITION_HOME_WITH_SERVICES));
  s.Add(s.At(7, 16), "homecare.silva", TransitionCompletedEvent("tr-1"));
  s.Do(s.At(7, 16, 10), "homecare.silva", Step::kStart, "ref-3");
  s.Add(
      s.At(7, 16, 20), "homecare.silva",
      ServiceStartedEvent("svc-1", kHomeCare, v1::SERVICE_CATEGORY_IN_HOME_CARE,
                          v1::LEVEL_OF_CARE_HOME, "ref-3"));
  s.Add(s.At(8, 10), "homecare.silva",
        FollowUpEvent("fu-1", "tr-1", "adm-1", v1::CONTACT_KIND_HOME_VISIT,
                      StaffById("homecare.silva")));
  s.Do(s.At(9, 10), "homecare.berg", Step::kStart, "ref-1");
  s.Add(s.At(9, 10, 10), "homecare.berg",
        ServiceStartedEvent("svc-2", kHomeCare,
                            v1::SERVICE_CATEGORY_PHYSICAL_THERAPY,
                            v1::LEVEL_OF_CARE_HOME, "ref-1"));
  s.Do(s.At(10, 11), "homecare.osei", Step::kStart, "ref-2");
  s.Add(s.At(10, 11, 10), "homecare.osei",
        ServiceStartedEvent("svc-3", kHomeCare,
                            v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY,
                            v1::LEVEL_OF_CARE_HOME, "ref-2"));
  // Lead case management passes from the hospital to primary care: the
  // hospital's lead adds Eastside's, who adds her colleague.
  s.Lead(s.At(10, 13), "eastside.lopez", "mercy.rivera");
  s.Member(s.At(10, 13, 5), "eastside.lopez", "eastside.fischer");
  s.Add(s.At(10, 14), "eastside.fischer",
        FollowUpEvent("fu-2", "tr-1", "adm-1", v1::CONTACT_KIND_IN_PERSON,
                      StaffById("eastside.fischer")));
  // Transitions of care at the new lead: the discharge summary reached
  // Eastside only on day 10, three days after discharge (a TRC-RECEIPT
  // miss). Its physician reconciled her medications on day 12, first on the
  // wrong patient's record by mistake, which he marked entered in error.
  s.Add(s.At(10, 13, 20), "eastside.lopez",
        DischargeInformationEvent("dcinfo-1", "adm-1"));
  s.Add(s.At(12, 10), "eastside.fischer",
        MedicationReconciliationEvent("medrec-0", "adm-1",
                                      v1::DISCIPLINE_MEDICINE));
  s.Add(s.At(12, 10, 40), "eastside.fischer",
        EnteredInErrorEvent("medrec-0",
                            "Reconciled the wrong patient's list; this "
                            "belongs to another Eastside patient"));
  s.Add(s.At(12, 11), "eastside.fischer",
        MedicationReconciliationEvent("medrec-1", "adm-1",
                                      v1::DISCIPLINE_MEDICINE));
  s.Add(s.At(12, 9), "eastside.lopez",
        MemberRemovedEvent("mercy.rivera",
                           "Discharged home; lead case management handed "
                           "over to Eastside (Maria Lopez)"));
  s.Add(s.At(12, 9, 5), "eastside.lopez",
        MemberRemovedEvent("mercy.chen", "Inpatient episode over"));
  s.Do(s.At(13, 10), "plan.ali", Step::kComplete, "ref-5",
       "Non-emergency medical transport authorised for 6 months");
  const std::vector<std::string> team{"eastside.lopez", "eastside.fischer",
                                      "homecare.silva", "homecare.berg",
                                      "homecare.osei"};
  s.Add(s.At(21, 14), "eastside.lopez",
        MeetingEvent("mtg-1", team, true,
                     {"PT twice a week until the cane goal is met",
                      "OT to assess the bathroom for grab rails",
                      "Client has not yet called the survivors' group; Maria "
                      "to remind her",
                      "Next review in 4 weeks"},
                     s.Day(49)));
  s.Progress(s.At(30, 15), "homecare.berg", "goal-1", 50,
             "Walks 25 m with a cane; 10-metre walk 22 s");
  s.Progress(s.At(40, 11), "homecare.osei", "goal-2", 60,
             "Dresses independently except shoes; Barthel 75");
  s.Progress(s.At(45, 10), "eastside.lopez", "goal-3", 0,
             "Has not contacted the group yet; number given again");
  s.Add(s.At(49, 14), "eastside.lopez",
        MeetingEvent(
            "mtg-2", team, true,
            {"PT goal nearly met", "Grab rails fitted; OT continues weekly",
             "Survivors' group still not contacted: offer a warm referral"},
            s.Day(79)));
  s.Progress(s.At(60, 15), "homecare.berg", "goal-1", 100,
             "50 m with a cane without help; 10-metre walk 14 s");
  s.Do(s.At(65, 15), "homecare.berg", Step::kComplete, "ref-1",
       "24 home PT visits; walks 60 m with a cane");
  s.Add(s.At(65, 15, 10), "homecare.berg",
        ServiceEndedEvent("svc-2", "Course of physical therapy completed"));
  s.Progress(s.At(75, 11), "homecare.osei", "goal-2", 85,
             "Barthel 85; bathes with rails and supervision");
  s.AppendCommands(out);
}

}  // namespace caseline::tools::demo
