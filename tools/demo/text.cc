#include "tools/demo/text.h"

namespace caseline::tools::demo {

CategoryText TextFor(v1::ServiceCategory category) {
  using DC = std::vector<v1::DataClass>;
  const DC general{v1::DATA_CLASS_GENERAL};
  switch (category) {
    case v1::SERVICE_CATEGORY_HOUSING:
      return {
          "Homeless or at risk of eviction; needs housing search and support",
          "Move into stable housing",
          "Signed lease or permanent supportive housing placement",
          "Has a housing voucher application in progress",
          "Sleeping in a car or doubled up; eviction notice",
          "Housed: lease signed",
          v1::LEVEL_OF_CARE_COMMUNITY,
          DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING,
             v1::DATA_CLASS_FINANCIAL},
          {"Housing application submitted",
           "On the waiting list; viewed two units",
           "Unit offered; move-in date set"}};
    case v1::SERVICE_CATEGORY_FOOD:
      return {"Not enough food at home; needs SNAP and pantry access",
              "Secure reliable food",
              "SNAP approved and 2 pantry visits a month",
              "Cooks for the household",
              "Skips meals at the end of the month",
              "SNAP approved; pantry registration done",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_FINANCIAL},
              {"SNAP application filed", "Pantry visits twice this month",
               "SNAP benefits received"}};
    case v1::SERVICE_CATEGORY_HEALTH_CARE:
      return {"No regular doctor; chronic conditions not followed up",
              "Establish regular primary care",
              "Two primary care visits and labs done",
              "Takes medication when reminded",
              "Missed appointments; uncontrolled diabetes",
              "Established with a primary care provider",
              v1::LEVEL_OF_CARE_OUTPATIENT,
              general,
              {"First visit booked", "Seen by the PCP; labs drawn",
               "A1c improving; second visit done"}};
    case v1::SERVICE_CATEGORY_MENTAL_HEALTH:
      return {
          "Depression and anxiety; needs outpatient therapy and a prescriber",
          "Reduce depressive symptoms",
          "PHQ-9 below 10 at two consecutive visits",
          "Insight; wants help",
          "PHQ-9 19; past self-harm",
          "Engaged in outpatient therapy",
          v1::LEVEL_OF_CARE_OUTPATIENT,
          DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
          {"Attended intake; PHQ-9 17", "Attending weekly; PHQ-9 13",
           "PHQ-9 9 at the last visit"}};
    case v1::SERVICE_CATEGORY_SUBSTANCE_USE:
      return {"Opioid or alcohol use disorder; needs treatment",
              "Maintain recovery",
              "90 consecutive days abstinent, confirmed by tests",
              "Motivated after an overdose scare",
              "Daily use; two overdoses this year",
              "Completed the treatment programme",
              v1::LEVEL_OF_CARE_INTENSIVE_OUTPATIENT,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_SUBSTANCE_USE_PART2},
              {"Started medication-assisted treatment", "30 days without use",
               "60 days without use; attends group"}};
    case v1::SERVICE_CATEGORY_EMPLOYMENT:
      return {"Unemployed; wants help with job search",
              "Obtain paid work",
              "Hired and working 20 or more hours a week",
              "Work history in warehouses and kitchens",
              "No recent references; no transport",
              "Placed in a job",
              v1::LEVEL_OF_CARE_COMMUNITY,
              general,
              {"CV written; two applications", "Interview at a warehouse",
               "Job offer accepted"}};
    case v1::SERVICE_CATEGORY_LEGAL:
      return {"Eviction case and unpaid fines; needs a lawyer",
              "Resolve the pending legal case",
              "Case dismissed or settled",
              "Has kept every court date",
              "Hearing in 3 weeks",
              "Case resolved with legal representation",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_LEGAL},
              {"Met the attorney", "Hearing postponed; documents filed",
               "Settlement agreed"}};
    case v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE:
      return {"No income; eligible for benefits",
              "Obtain income support",
              "Benefits application approved",
              "Has ID and proof of address",
              "Rent arrears of two months",
              "Benefits approved",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_FINANCIAL},
              {"Application submitted",
               "Interview with the eligibility worker done",
               "Approved; first payment received"}};
    case v1::SERVICE_CATEGORY_DOMESTIC_VIOLENCE:
      return {"Domestic violence; needs advocacy",
              "Live free from abuse",
              "Protective order in place and safety plan reviewed monthly",
              "Supportive sister nearby",
              "Partner threatened to return",
              "Advocacy provided; protective order granted",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_LEGAL},
              {"Met the advocate", "Protective order filed",
               "Protective order granted"}};
    case v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT:
      return {"Needs child care and parenting support",
              "Arrange stable child care",
              "Child enrolled in subsidised care 5 days a week",
              "Loving parent; extended family helps",
              "No child care during work hours",
              "Child care subsidy and place arranged",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_EDUCATION},
              {"Subsidy application filed", "Place offered at a centre",
               "Child attending daily"}};
    case v1::SERVICE_CATEGORY_TRANSPORTATION:
      return {"Misses appointments for lack of transport",
              "Reliable transport to appointments",
              "No appointment missed for transport in 60 days",
              "Can use the bus with help",
              "Missed 3 appointments last month",
              "Rides to medical appointments arranged",
              v1::LEVEL_OF_CARE_COMMUNITY,
              general,
              {"Ride service enrolled", "All rides kept this month",
               "No missed appointments"}};
    case v1::SERVICE_CATEGORY_EDUCATION:
      return {
          "Poor school attendance; needs school support",
          "Improve school attendance",
          "90% attendance or better this term",
          "Likes art and sports",
          "Attendance 70%; falling behind in reading",
          "Attendance plan in place",
          v1::LEVEL_OF_CARE_COMMUNITY,
          DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_EDUCATION},
          {"Attendance plan agreed with the school",
           "Attendance 85% this month", "Attendance 92%; reading improving"}};
    case v1::SERVICE_CATEGORY_IMMIGRATION:
      return {"Needs immigration legal help",
              "Obtain work authorisation",
              "Work permit application filed and receipt received",
              "Has a passport and entry documents",
              "Status expires in 4 months",
              "Application filed with legal help",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_LEGAL},
              {"Documents gathered", "Application filed",
               "Receipt notice received"}};
    case v1::SERVICE_CATEGORY_DISABILITY:
      return {"Disability limits work; needs benefits and aids",
              "Obtain disability benefits",
              "SSDI application submitted with medical evidence",
              "Good family support",
              "Cannot stand for long; no income",
              "Disability benefits application filed",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_FINANCIAL},
              {"Medical records requested", "Application submitted",
               "Consultative exam attended"}};
    case v1::SERVICE_CATEGORY_PHYSICAL_THERAPY:
      return {"Mobility reduced after illness; needs physical therapy",
              "Walk safely with a cane",
              "50 m with a cane without help",
              "Motivated; practises daily",
              "Fall risk; walks with a frame",
              "Course of physical therapy completed",
              v1::LEVEL_OF_CARE_HOME,
              general,
              {"Walks 15 m with a frame", "Walks 30 m with a cane",
               "Walks 50 m with a cane"}};
    case v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY:
      return {"Needs help with daily living after illness",
              "Dress and wash independently",
              "Barthel index 90 or more",
              "Good use of the dominant hand",
              "Needs help bathing and dressing",
              "Course of occupational therapy completed",
              v1::LEVEL_OF_CARE_HOME,
              general,
              {"Grab rails fitted", "Dresses with minimal help",
               "Bathes with supervision only"}};
    case v1::SERVICE_CATEGORY_IN_HOME_CARE:
      return {"Frail; needs help at home",
              "Live safely at home",
              "No falls, and aide visits 3 times a week for 90 days",
              "Wants to stay at home; neighbours check in",
              "Lives alone; two falls this year",
              "Home care package in place",
              v1::LEVEL_OF_CARE_HOME,
              general,
              {"Aide visits started", "No falls this month",
               "Visits kept; no falls"}};
    case v1::SERVICE_CATEGORY_SUPPORT_GROUP:
      return {"Isolated; would benefit from peer support",
              "Join a peer support group",
              "Attend 4 group meetings",
              "Open to meeting peers",
              "Socially isolated",
              "Attending a peer group",
              v1::LEVEL_OF_CARE_COMMUNITY,
              general,
              {"Contacted the group coordinator", "Attended 2 meetings",
               "Attends weekly"}};
    case v1::SERVICE_CATEGORY_PROBATION_PAROLE:
      return {"Parole supervision after release",
              "Comply with parole conditions",
              "Every check-in kept for 6 months",
              "Wants to stay out of prison",
              "Two prior violations",
              "Supervision under way",
              v1::LEVEL_OF_CARE_COMMUNITY,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_LEGAL},
              {"All check-ins kept this month", "Drug tests negative",
               "Moved to monthly check-ins"}};
    case v1::SERVICE_CATEGORY_SAFETY:
      return {"Unsafe at home; needs a safety plan and possibly shelter",
              "Safety plan in place",
              "Safety plan signed and reviewed monthly",
              "Has a trusted friend to call",
              "Recent threats; children at home",
              "Safety plan completed; safe accommodation found",
              v1::LEVEL_OF_CARE_SHELTER,
              DC{v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING},
              {"Safety plan drafted", "Moved to a confidential shelter",
               "Safety plan reviewed; feels safe"}};
    default:
      return {"Needs support",
              "Improve wellbeing",
              "Goal reviewed monthly",
              "",
              "",
              "Service delivered",
              v1::LEVEL_OF_CARE_COMMUNITY,
              general,
              {"Reviewed", "Reviewed", "Reviewed"}};
  }
}

}  // namespace caseline::tools::demo
