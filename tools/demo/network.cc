#include "tools/demo/network.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/demo/history.h"

namespace caseline::tools::demo {

namespace {

Staff S(const char* user_id, const char* given, const char* family,
        v1::Discipline discipline, bool leads) {
  return Staff{user_id, given, family, discipline, leads, ""};
}

}  // namespace

const std::vector<Org>& Orgs() {
  static const std::vector<Org>* const orgs = [] {
    auto* list = new std::vector<Org>{
        {kMercy,
         "Mercy General Hospital",
         v1::ORGANIZATION_TYPE_HOSPITAL,
         {v1::SERVICE_CATEGORY_HEALTH_CARE, v1::SERVICE_CATEGORY_MENTAL_HEALTH,
          v1::SERVICE_CATEGORY_SUBSTANCE_USE,
          v1::SERVICE_CATEGORY_PHYSICAL_THERAPY,
          v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY},
         "MRN",
         "M",
         {S("mercy.rivera", "Ana", "Rivera", v1::DISCIPLINE_SOCIAL_WORK, true),
          S("mercy.nguyen", "Thomas", "Nguyen", v1::DISCIPLINE_SOCIAL_WORK,
            true),
          S("mercy.chen", "David", "Chen", v1::DISCIPLINE_MEDICINE, false),
          S("mercy.okoro", "Grace", "Okoro", v1::DISCIPLINE_NURSING, false),
          S("mercy.patel", "Ravi", "Patel", v1::DISCIPLINE_PSYCHIATRY, false)}},
        {kEastside,
         "Eastside Community Health Center",
         v1::ORGANIZATION_TYPE_PRIMARY_CARE,
         {v1::SERVICE_CATEGORY_HEALTH_CARE, v1::SERVICE_CATEGORY_MENTAL_HEALTH},
         "MRN",
         "E",
         {S("eastside.lopez", "Maria", "Lopez", v1::DISCIPLINE_NURSING, true),
          S("eastside.fischer", "Paul", "Fischer", v1::DISCIPLINE_MEDICINE,
            false),
          S("eastside.kim", "Soo-jin", "Kim", v1::DISCIPLINE_PSYCHOLOGY,
            false)}},
        {kHarbor,
         "Harbor Behavioral Health",
         v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH,
         {v1::SERVICE_CATEGORY_MENTAL_HEALTH,
          v1::SERVICE_CATEGORY_SUPPORT_GROUP},
         "EHR",
         "H",
         {S("harbor.james", "Keisha", "James", v1::DISCIPLINE_SOCIAL_WORK,
            true),
          S("harbor.adams", "Carol", "Adams", v1::DISCIPLINE_CASE_MANAGEMENT,
            true),
          S("harbor.walsh", "Brendan", "Walsh", v1::DISCIPLINE_PSYCHOLOGY,
            false),
          S("harbor.singh", "Priya", "Singh", v1::DISCIPLINE_PSYCHIATRY, false),
          S("harbor.moreno", "Luis", "Moreno", v1::DISCIPLINE_PEER_SUPPORT,
            false)}},
        {kNewDawn,
         "New Dawn Recovery Center",
         v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT,
         {v1::SERVICE_CATEGORY_SUBSTANCE_USE,
          v1::SERVICE_CATEGORY_SUPPORT_GROUP},
         "EHR",
         "N",
         {S("newdawn.price", "Dana", "Price", v1::DISCIPLINE_CASE_MANAGEMENT,
            true),
          S("newdawn.hughes", "Sean", "Hughes",
            v1::DISCIPLINE_SUBSTANCE_USE_COUNSELLING, true),
          S("newdawn.baker", "Monique", "Baker",
            v1::DISCIPLINE_SUBSTANCE_USE_COUNSELLING, false),
          S("newdawn.ito", "Ken", "Ito", v1::DISCIPLINE_MEDICINE, false)}},
        {kCityHome,
         "CityHome Housing Alliance",
         v1::ORGANIZATION_TYPE_HOUSING,
         {v1::SERVICE_CATEGORY_HOUSING,
          v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
          v1::SERVICE_CATEGORY_SAFETY},
         "HMIS",
         "HM",
         {S("cityhome.ward", "Jamal", "Ward", v1::DISCIPLINE_CASE_MANAGEMENT,
            true),
          S("cityhome.ortiz", "Elena", "Ortiz", v1::DISCIPLINE_CASE_MANAGEMENT,
            true),
          S("cityhome.fox", "Rachel", "Fox", v1::DISCIPLINE_SOCIAL_WORK,
            false)}},
        {kLegalAid,
         "Metro Legal Aid Society",
         v1::ORGANIZATION_TYPE_LEGAL_AID,
         {v1::SERVICE_CATEGORY_LEGAL, v1::SERVICE_CATEGORY_IMMIGRATION,
          v1::SERVICE_CATEGORY_DOMESTIC_VIOLENCE},
         "CASE",
         "LA",
         {S("legalaid.shah", "Nadia", "Shah", v1::DISCIPLINE_SOCIAL_WORK, true),
          S("legalaid.grant", "Olivia", "Grant", v1::DISCIPLINE_CASE_MANAGEMENT,
            false)}},
        {kCourt,
         "County Court and Parole Services",
         v1::ORGANIZATION_TYPE_COURT_PAROLE,
         {v1::SERVICE_CATEGORY_PROBATION_PAROLE, v1::SERVICE_CATEGORY_LEGAL},
         "COURT",
         "CT",
         {S("parole.wilson", "Derek", "Wilson", v1::DISCIPLINE_PROBATION_PAROLE,
            false),
          S("parole.hayes", "Sandra", "Hayes", v1::DISCIPLINE_PROBATION_PAROLE,
            false),
          S("court.bell", "Judith", "Bell", v1::DISCIPLINE_CASE_MANAGEMENT,
            false)}},
        {kCorrections,
         "State Department of Corrections",
         v1::ORGANIZATION_TYPE_COURT_PAROLE,
         {v1::SERVICE_CATEGORY_PROBATION_PAROLE},
         "DOC",
         "D",
         {S("doc.morgan", "Angela", "Morgan", v1::DISCIPLINE_CASE_MANAGEMENT,
            true),
          S("doc.reyes", "Victor", "Reyes", v1::DISCIPLINE_SOCIAL_WORK, true),
          S("doc.stone", "Helen", "Stone", v1::DISCIPLINE_MEDICINE, false)}},
        {kSchools,
         "Riverside Unified School District",
         v1::ORGANIZATION_TYPE_SCHOOL,
         {v1::SERVICE_CATEGORY_EDUCATION,
          v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT},
         "SIS",
         "S",
         {S("school.diaz", "Carmen", "Diaz", v1::DISCIPLINE_SOCIAL_WORK, true),
          S("school.martin", "Laura", "Martin", v1::DISCIPLINE_EDUCATION,
            false),
          S("school.turner", "Eric", "Turner", v1::DISCIPLINE_EDUCATION,
            false)}},
        {kHealthPlan,
         "Statewide Health Plan",
         v1::ORGANIZATION_TYPE_PAYER,
         {v1::SERVICE_CATEGORY_TRANSPORTATION},
         "MEMBER",
         "SHP",
         {S("plan.cohen", "Rebecca", "Cohen", v1::DISCIPLINE_NURSING, true),
          S("plan.ali", "Omar", "Ali", v1::DISCIPLINE_CASE_MANAGEMENT, true)}},
        {kSocialServices,
         "County Department of Social Services",
         v1::ORGANIZATION_TYPE_SOCIAL_SERVICES,
         {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, v1::SERVICE_CATEGORY_FOOD,
          v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
          v1::SERVICE_CATEGORY_DISABILITY, v1::SERVICE_CATEGORY_EMPLOYMENT},
         "DSS",
         "DSS",
         {S("dss.whitfield", "Dana", "Whitfield", v1::DISCIPLINE_SOCIAL_WORK,
            true),
          S("dss.park", "Jenny", "Park", v1::DISCIPLINE_SOCIAL_WORK, true),
          S("dss.campbell", "Robert", "Campbell",
            v1::DISCIPLINE_CASE_MANAGEMENT, true),
          S("dss.obrien", "Siobhan", "O'Brien", v1::DISCIPLINE_SOCIAL_WORK,
            false)}},
        {kHomeCare,
         "HomeCare Partners",
         v1::ORGANIZATION_TYPE_HOME_CARE,
         {v1::SERVICE_CATEGORY_IN_HOME_CARE,
          v1::SERVICE_CATEGORY_PHYSICAL_THERAPY,
          v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY},
         "AGENCY",
         "HC",
         {S("homecare.silva", "Paula", "Silva", v1::DISCIPLINE_NURSING, true),
          S("homecare.berg", "Anders", "Berg", v1::DISCIPLINE_PHYSICAL_THERAPY,
            false),
          S("homecare.osei", "Ama", "Osei", v1::DISCIPLINE_OCCUPATIONAL_THERAPY,
            false)}},
        {kCommunity,
         "Community Action Network",
         v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY,
         {v1::SERVICE_CATEGORY_FOOD, v1::SERVICE_CATEGORY_EMPLOYMENT,
          v1::SERVICE_CATEGORY_TRANSPORTATION,
          v1::SERVICE_CATEGORY_SUPPORT_GROUP, v1::SERVICE_CATEGORY_SAFETY,
          v1::SERVICE_CATEGORY_DOMESTIC_VIOLENCE},
         "HMIS",
         "CA",
         {S("can.torres", "Miguel", "Torres", v1::DISCIPLINE_CASE_MANAGEMENT,
            true),
          S("can.young", "Brianna", "Young", v1::DISCIPLINE_CASE_MANAGEMENT,
            true),
          S("can.ng", "Vivian", "Ng", v1::DISCIPLINE_CASE_MANAGEMENT, false),
          S("can.hall", "Jerome", "Hall", v1::DISCIPLINE_PEER_SUPPORT, false)}},
    };
    for (Org& org : *list) {
      for (Staff& staff : org.staff) staff.organization_id = org.id;
    }
    return list;
  }();
  return *orgs;
}

const Org& OrgById(const std::string& id) {
  for (const Org& org : Orgs()) {
    if (org.id == id) return org;
  }
  std::abort();
}

const Staff& StaffById(const std::string& user_id) {
  for (const Org& org : Orgs()) {
    for (const Staff& staff : org.staff) {
      if (staff.user_id == user_id) return staff;
    }
  }
  std::abort();
}

std::vector<const Org*> Providers(v1::ServiceCategory category,
                                  const std::string& except) {
  std::vector<const Org*> out;
  for (const Org& org : Orgs()) {
    if (org.id != except && org.Offers(category)) out.push_back(&org);
  }
  return out;
}

std::vector<v1::Discipline> DisciplinesFor(v1::ServiceCategory category) {
  switch (category) {
    case v1::SERVICE_CATEGORY_MENTAL_HEALTH:
      return {v1::DISCIPLINE_PSYCHOLOGY, v1::DISCIPLINE_PSYCHIATRY,
              v1::DISCIPLINE_SOCIAL_WORK};
    case v1::SERVICE_CATEGORY_SUBSTANCE_USE:
      return {v1::DISCIPLINE_SUBSTANCE_USE_COUNSELLING,
              v1::DISCIPLINE_PSYCHIATRY};
    case v1::SERVICE_CATEGORY_PHYSICAL_THERAPY:
      return {v1::DISCIPLINE_PHYSICAL_THERAPY};
    case v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY:
      return {v1::DISCIPLINE_OCCUPATIONAL_THERAPY};
    case v1::SERVICE_CATEGORY_IN_HOME_CARE:
      return {v1::DISCIPLINE_NURSING};
    case v1::SERVICE_CATEGORY_HEALTH_CARE:
      return {v1::DISCIPLINE_MEDICINE, v1::DISCIPLINE_NURSING};
    case v1::SERVICE_CATEGORY_EDUCATION:
    case v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT:
      return {v1::DISCIPLINE_EDUCATION, v1::DISCIPLINE_SOCIAL_WORK};
    case v1::SERVICE_CATEGORY_PROBATION_PAROLE:
      return {v1::DISCIPLINE_PROBATION_PAROLE};
    case v1::SERVICE_CATEGORY_SUPPORT_GROUP:
      return {v1::DISCIPLINE_PEER_SUPPORT,
              v1::DISCIPLINE_SUBSTANCE_USE_COUNSELLING};
    default:
      return {v1::DISCIPLINE_CASE_MANAGEMENT, v1::DISCIPLINE_SOCIAL_WORK};
  }
}

const Staff& ProviderStaff(const Org& org, v1::ServiceCategory category,
                           Rng& rng) {
  for (v1::Discipline discipline : DisciplinesFor(category)) {
    std::vector<const Staff*> fit;
    for (const Staff& staff : org.staff) {
      if (staff.discipline == discipline) fit.push_back(&staff);
    }
    if (!fit.empty()) return *rng.Pick(fit);
  }
  return rng.Pick(org.staff);
}

const Staff& Coordinator(const Org& org, Rng& rng) {
  std::vector<const Staff*> fit;
  for (const Staff& staff : org.staff) {
    if (staff.leads) fit.push_back(&staff);
  }
  if (fit.empty()) return rng.Pick(org.staff);
  return *rng.Pick(fit);
}

std::vector<PlannedCommand> OrganizationCommands(absl::Time cutoff) {
  std::vector<PlannedCommand> out;
  const absl::Time at = StartOf(DayOf(cutoff) - 540) + absl::Hours(9);
  int i = 0;
  for (const Org& org : Orgs()) {
    v1::CareEvent event;
    v1::OrganizationRegistered* e = event.mutable_organization_registered();
    e->set_organization_id(org.id);
    e->set_name(org.name);
    e->set_type(org.type);
    for (v1::ServiceCategory c : org.categories) e->add_service_categories(c);
    out.push_back(PlannedCommand{
        absl::StrCat("demo-", org.id), "", org.id, org.staff.front().user_id,
        at + absl::Minutes(10 * i++), std::move(event)});
  }
  // Eastside opens a medication-assisted treatment clinic.
  const Org& eastside = OrgById(kEastside);
  v1::CareEvent update;
  v1::OrganizationUpdated* u = update.mutable_organization_updated();
  u->set_organization_id(eastside.id);
  for (v1::ServiceCategory c : eastside.categories)
    u->add_service_categories(c);
  u->add_service_categories(v1::SERVICE_CATEGORY_SUBSTANCE_USE);
  out.push_back(PlannedCommand{absl::StrCat("demo-", eastside.id, "-update-1"),
                               "", eastside.id, eastside.staff.front().user_id,
                               StartOf(DayOf(cutoff) - 240) + absl::Hours(9),
                               std::move(update)});
  return out;
}

}  // namespace caseline::tools::demo
