#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/demo/scenarios.h"
#include "tools/demo/script.h"

namespace caseline::tools::demo {

// 4. A family displaced by a disaster: shelter, food, clothing and health care
// first, then benefits, job search, school enrolment, school counsellor and
// art therapy.
void DisplacedFamilyScenario(absl::Time cutoff,
                             std::vector<PlannedCommand>* out) {
  const std::string shelter_address =
      "Riverside Evacuation Center, 400 Fairgrounds Rd";
  {
    Script s("scenario-displaced-family-parent", cutoff,
             110);  // day 0: the flood
    const Person p{"Rosa",
                   "Elena",
                   "Delgado",
                   absl::CivilDay(1987, 11, 2),
                   v1::SEX_FEMALE,
                   "+1-541-555-0131",
                   shelter_address,
                   "Riverside",
                   "97305",
                   "es",
                   true};
    s.Add(s.At(0, 15), "can.torres",
          ClientRegisteredEvent(p, OrgById(kCommunity), "CA50231"));
    s.Add(s.At(0, 15, 10), "can.torres",
          CaseOpenedEvent(
              "Displaced by the river flood; home destroyed; two children"));
    s.Lead(s.At(0, 15, 15), "can.torres");
    s.Add(s.At(0, 15, 30), "can.torres",
          ConsentGivenEvent(ConsentFor(
              "cons-1",
              {kCityHome, kSocialServices, kEastside, kSchools, kHarbor},
              {kGeneral, v1::DATA_CLASS_HOUSING, v1::DATA_CLASS_FINANCIAL},
              {kCoordination, kTreatment})));
    s.Add(s.At(0, 16), "can.torres",
          AssessmentEvent(
              "asm-1",
              {Domain(v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_CRISIS, "",
                      "Home destroyed; family at the evacuation center"),
               Domain(v1::SERVICE_CATEGORY_FOOD, v1::NEED_LEVEL_HIGH, "",
                      "No food or clothes beyond what they wore"),
               Domain(v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_HIGH, "",
                      "Asthma inhaler lost in the flood"),
               Domain(v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
                      v1::NEED_LEVEL_HIGH, "Has ID and a bank card",
                      "Lost income: workplace closed by the flood"),
               Domain(v1::SERVICE_CATEGORY_EMPLOYMENT, v1::NEED_LEVEL_HIGH,
                      "8 years in food processing", "Workplace closed"),
               Domain(v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
                      v1::NEED_LEVEL_MODERATE, "Close family",
                      "Children out of school")}));
    s.Add(s.At(0, 16, 30), "can.torres",
          ReferralSentEvent("ref-1", kCommunity, kCityHome,
                            v1::SERVICE_CATEGORY_HOUSING,
                            v1::REFERRAL_KIND_WARM, v1::URGENCY_EMERGENT,
                            "Emergency shelter for a family of three tonight",
                            {kGeneral, v1::DATA_CLASS_HOUSING}, kCoordination));
    s.Do(s.At(0, 17), "cityhome.ward", Step::kAccept, "ref-1");
    s.Add(s.At(0, 17, 30), "can.torres",
          ServiceStartedEvent("svc-2", kCommunity, v1::SERVICE_CATEGORY_FOOD,
                              v1::LEVEL_OF_CARE_COMMUNITY, ""));
    // The county's disaster food distribution at the evacuation center
    // enrols her the same evening: two agencies feeding one family (same-day
    // and overlapping services) until it closes when SNAP comes through. Her
    // case manager records the county's enrolment (the county has no part in
    // her record until then: docs/access.md, no organisation involves
    // itself).
    s.Add(
        s.At(0, 18), "can.torres",
        ServiceStartedEvent("svc-5", kSocialServices, v1::SERVICE_CATEGORY_FOOD,
                            v1::LEVEL_OF_CARE_COMMUNITY, ""));
    s.Do(s.At(0, 19), "cityhome.ward", Step::kStart, "ref-1");
    s.Add(s.At(0, 19, 5), "cityhome.ward",
          AdmissionEvent("adm-1", kCityHome, v1::LEVEL_OF_CARE_SHELTER,
                         v1::SERVICE_CATEGORY_HOUSING));
    s.Add(s.At(0, 19, 10), "cityhome.ward",
          ServiceStartedEvent("svc-1", kCityHome, v1::SERVICE_CATEGORY_HOUSING,
                              v1::LEVEL_OF_CARE_SHELTER, "ref-1"));
    s.Do(s.At(1, 9), "cityhome.ward", Step::kComplete, "ref-1",
         "Family placed in the emergency family shelter");
    s.Add(s.At(1, 9, 30), "can.torres",
          ReferralSentEvent(
              "ref-2", kCommunity, kEastside, v1::SERVICE_CATEGORY_HEALTH_CARE,
              v1::REFERRAL_KIND_WARM, v1::URGENCY_URGENT,
              "Replace asthma medication lost in the flood; check the children",
              {kGeneral}, kTreatment));
    s.Member(s.At(1, 10), "can.torres", "cityhome.ward");
    s.Do(s.At(1, 11), "eastside.lopez", Step::kAccept, "ref-2");
    s.Do(s.At(2, 10), "eastside.fischer", Step::kStart, "ref-2");
    s.Do(s.At(2, 11), "eastside.fischer", Step::kComplete, "ref-2",
         "Seen at the clinic; inhaler and prescriptions replaced");
    s.Goal(s.At(3, 10), "can.torres", "goal-1", v1::SERVICE_CATEGORY_HOUSING,
           "Move into stable housing",
           "Signed lease or a transitional apartment", 90);
    s.Goal(s.At(3, 10, 5), "can.torres", "goal-2",
           v1::SERVICE_CATEGORY_EMPLOYMENT, "Return to paid work",
           "Working 20 or more hours a week", 120);
    s.Add(s.At(14, 10), "can.torres",
          ReferralSentEvent(
              "ref-3", kCommunity, kSocialServices,
              v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, v1::REFERRAL_KIND_WARM,
              v1::URGENCY_URGENT, "Disaster SNAP and emergency cash assistance",
              {kGeneral, v1::DATA_CLASS_FINANCIAL}, kCoordination));
    s.Add(s.At(14, 11), "can.torres",
          ReferralSentEvent("ref-4", kCommunity, kSocialServices,
                            v1::SERVICE_CATEGORY_EMPLOYMENT,
                            v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
                            "Job search support; 8 years in food processing",
                            {kGeneral}, kCoordination));
    s.Do(s.At(15, 9), "dss.campbell", Step::kAccept, "ref-3");
    s.Member(s.At(15, 9, 30), "can.torres", "dss.campbell");
    s.Do(s.At(16, 9), "dss.campbell", Step::kAccept, "ref-4");
    s.Do(s.At(16, 10), "dss.campbell", Step::kStart, "ref-3");
    s.Add(s.At(16, 10, 10), "dss.campbell",
          ServiceStartedEvent("svc-3", kSocialServices,
                              v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
                              v1::LEVEL_OF_CARE_COMMUNITY, "ref-3"));
    s.Add(s.At(21, 14), "can.torres",
          MeetingEvent("mtg-1", {"can.torres", "cityhome.ward", "dss.campbell"},
                       true,
                       {"Shelter stay until a transitional apartment is found",
                        "Disaster SNAP approved; cash assistance pending",
                        "Children enrolled at Riverside Elementary; counsellor "
                        "check-ins weekly",
                        "Job search to wait until the children are settled"},
                       s.Day(51)));
    s.Do(s.At(25, 10), "dss.campbell", Step::kHold, "ref-4",
         "Client cannot attend job-search workshops until the children are "
         "settled in school");
    s.Progress(s.At(30, 10), "can.torres", "goal-1", 30,
               "On the transitional housing list");
    s.Do(s.At(30, 14), "dss.campbell", Step::kComplete, "ref-3",
         "Disaster SNAP and 3 months of cash assistance approved");
    s.Add(s.At(30, 14, 30), "dss.obrien",
          ServiceEndedEvent(
              "svc-5", "Disaster food distribution closed; SNAP approved"));
    s.Do(s.At(50, 10), "dss.campbell", Step::kStart, "ref-4");
    s.Add(s.At(50, 10, 10), "dss.campbell",
          ServiceStartedEvent("svc-4", kSocialServices,
                              v1::SERVICE_CATEGORY_EMPLOYMENT,
                              v1::LEVEL_OF_CARE_COMMUNITY, "ref-4"));
    s.Progress(s.At(60, 10), "can.torres", "goal-1", 60,
               "Apartment offered; move date agreed");
    s.Add(s.At(70, 10), "cityhome.ward",
          TransitionEvent("tr-1", "adm-1", v1::LEVEL_OF_CARE_SHELTER, kCityHome,
                          v1::LEVEL_OF_CARE_COMMUNITY, kCityHome, s.Day(75),
                          s.Day(82)));
    s.Add(s.At(75, 11), "cityhome.ward",
          DischargeEvent("adm-1", v1::DISCHARGE_DISPOSITION_HOME));
    s.Add(s.At(75, 11, 30), "cityhome.ward",
          ServiceEndedEvent("svc-1", "Moved to a transitional apartment"));
    s.Add(s.At(75, 12), "cityhome.ward", TransitionCompletedEvent("tr-1"));
    s.Progress(s.At(75, 13), "can.torres", "goal-1", 100,
               "Moved into a transitional apartment");
    s.Add(s.At(75, 15), "can.torres",
          DetailsCorrectedEvent(
              "", "Apt 4, 220 Cedar St", "Riverside", "97303",
              "Moved from the shelter to a transitional apartment"));
    s.Add(s.At(82, 10), "cityhome.ward",
          FollowUpEvent("fu-1", "tr-1", "adm-1", v1::CONTACT_KIND_HOME_VISIT,
                        StaffById("cityhome.ward")));
    s.Progress(s.At(90, 10), "dss.campbell", "goal-2", 20,
               "Two applications; one interview");
    // Community Action's flood-relief food programme winds down; nothing
    // replaces it yet (a continuity gap on the demo's today).
    s.Add(s.At(105, 10), "can.ng",
          InterruptionEvent("svc-2", s.At(120, 17),
                            "Flood-relief food programme ends: funding runs "
                            "out"));
    s.AppendCommands(out);
  }
  struct Child {
    const char* id;
    const char* given;
    absl::CivilDay birth;
    v1::Sex sex;
    const char* identifier;
    const char* grade;
  };
  const Child children[] = {
      {"scenario-displaced-family-child-1", "Mateo",
       absl::CivilDay(2013, 4, 15), v1::SEX_MALE, "CA50232", "grade 6"},
      {"scenario-displaced-family-child-2", "Lucia",
       absl::CivilDay(2017, 8, 30), v1::SEX_FEMALE, "CA50233", "grade 3"}};
  for (int c = 0; c < 2; ++c) {
    const Child& child = children[c];
    Script s(child.id, cutoff, 110);
    const Person p{child.given,
                   "",
                   "Delgado",
                   child.birth,
                   child.sex,
                   "+1-541-555-0131",
                   shelter_address,
                   "Riverside",
                   "97305",
                   "es",
                   false};
    s.Add(s.At(0, 15, 40 + c), "can.torres",
          ClientRegisteredEvent(p, OrgById(kCommunity), child.identifier));
    s.Add(s.At(0, 15, 45 + c), "can.torres",
          CaseOpenedEvent(
              "Child displaced by the river flood with his or her mother"));
    s.Lead(s.At(0, 15, 50 + c), "can.torres");
    Consent consent = ConsentFor(
        "cons-1", {kSchools, kHarbor, kEastside, kCityHome},
        {kGeneral, v1::DATA_CLASS_EDUCATION, v1::DATA_CLASS_MENTAL_HEALTH},
        {kCoordination, kTreatment});
    consent.representative =
        Rep("Rosa", "Delgado", v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
    s.Add(s.At(0, 15, 55 + c), "can.torres", ConsentGivenEvent(consent));
    s.Add(s.At(1, 10, c), "can.torres",
          AssessmentEvent(
              "asm-1",
              {Domain(v1::SERVICE_CATEGORY_EDUCATION, v1::NEED_LEVEL_HIGH,
                      c == 0 ? "Enjoys drawing and football"
                             : "Reads well for her age",
                      "Out of school since the flood"),
               Domain(v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                      c == 0 ? v1::NEED_LEVEL_MODERATE : v1::NEED_LEVEL_LOW,
                      "Close to his or her mother",
                      c == 0 ? "Nightmares; withdrawn since the evacuation"
                             : "Sleeps with her mother; otherwise coping"),
               Domain(v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_LOW,
                      "Vaccinations "
                      "up to date",
                      "")}));
    s.Add(
        s.At(14, 9, 30 * c), "can.torres",
        ReferralSentEvent(
            "ref-1", kCommunity, kSchools, v1::SERVICE_CATEGORY_EDUCATION,
            v1::REFERRAL_KIND_WARM, v1::URGENCY_URGENT,
            "School enrolment under homeless education rights (McKinney-Vento)",
            {kGeneral, v1::DATA_CLASS_EDUCATION}, kCoordination));
    s.Do(s.At(15, 10, 30 * c), "school.diaz", Step::kAccept, "ref-1");
    s.Goal(s.At(15, 11, c), "can.torres", "goal-1",
           v1::SERVICE_CATEGORY_EDUCATION, "Attend school regularly",
           "90% attendance or better this term", 100);
    s.Do(s.At(17, 9, 30 * c), "school.diaz", Step::kComplete, "ref-1",
         absl::StrCat("Enrolled at Riverside Elementary, ", child.grade,
                      "; school bus from the shelter arranged"));
    s.Add(s.At(17, 10, c), "can.torres",
          ReferralSentEvent(
              "ref-2", kCommunity, kSchools,
              v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
              v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
              "Weekly check-ins with the school counsellor after the disaster",
              {kGeneral, v1::DATA_CLASS_EDUCATION}, kCoordination));
    s.Do(s.At(18, 10, c), "school.diaz", Step::kAccept, "ref-2");
    s.Member(s.At(18, 11, c), "can.torres", "school.diaz");
    s.Do(s.At(21, 10, c), "school.martin", Step::kStart, "ref-2");
    s.Add(s.At(21, 10, 10 + c), "school.martin",
          ServiceStartedEvent("svc-1", kSchools,
                              v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
                              v1::LEVEL_OF_CARE_COMMUNITY, "ref-2"));
    s.Add(s.At(21, 11, 30 * c), "can.torres",
          ReferralSentEvent(
              "ref-3", kCommunity, kHarbor, v1::SERVICE_CATEGORY_MENTAL_HEALTH,
              v1::REFERRAL_KIND_WARM, v1::URGENCY_ROUTINE,
              "Art therapy for a child after a disaster",
              {kGeneral, v1::DATA_CLASS_MENTAL_HEALTH}, kTreatment));
    if (c == 0) {
      s.Do(s.At(23, 10), "harbor.james", Step::kHold, "ref-3",
           "Waitlist: the children's art therapy group starts next month");
      s.Do(s.At(40, 10), "harbor.james", Step::kAccept, "ref-3");
      s.Member(s.At(40, 11), "can.torres", "harbor.walsh");
      s.Do(s.At(45, 15), "harbor.walsh", Step::kStart, "ref-3");
      s.Add(s.At(45, 15, 10), "harbor.walsh",
            ServiceStartedEvent("svc-2", kHarbor,
                                v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                                v1::LEVEL_OF_CARE_OUTPATIENT, "ref-3"));
      s.Add(s.At(50, 14), "can.torres",
            MeetingEvent(
                "mtg-1", {"can.torres", "school.diaz", "harbor.walsh"}, false,
                {"Art therapy started; the counsellor reports fewer nightmares",
                 "Mother to join the parent session at Harbor"},
                s.Day(80)));
    } else {
      s.Do(s.At(24, 10), "harbor.james", Step::kDecline, "ref-3",
           "The art therapy group is for ages 10 to 14; school counsellor "
           "support "
           "recommended for now");
      s.Add(s.At(50, 14, 30), "can.torres",
            MeetingEvent("mtg-1", {"can.torres", "school.diaz"}, false,
                         {"Art therapy declined (age); school counsellor "
                          "check-ins continue "
                          "weekly",
                          "Review if her sleep gets worse"},
                         s.Day(80)));
    }
    s.Progress(s.At(45, 10, c), "school.diaz", "goal-1", 50,
               "Attendance 88% since enrolment");
    s.Progress(s.At(90, 10, c), "school.diaz", "goal-1", 80,
               "Attendance 93%; settling in");
    s.AppendCommands(out);
  }
}

}  // namespace caseline::tools::demo
