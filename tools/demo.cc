#include "tools/demo.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "base/mutex.h"
#include "grpcpp/grpcpp.h"
#include "openssl/sha.h"

namespace caseline::tools {
namespace {

// ============================================================================
// Randomness and time
// ============================================================================

// std::mt19937_64 seeded through std::seed_seq (both fully specified by the
// standard), with our own range reductions, so that a seed yields the same
// demo with any standard library.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) {
    std::seed_seq seq{
        static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
        static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
    engine_.seed(seq);
  }

  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }
  // Uniform in [lo, hi]; lo <= hi.
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Chance(double p) {
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }
  // An index into `weights`, chosen in proportion to them.
  size_t Weighted(const std::vector<int>& weights) {
    int total = 0;
    for (int w : weights) total += w;
    int x = static_cast<int>(Below(static_cast<uint64_t>(total)));
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

absl::Duration Days(int64_t n) { return absl::Hours(24 * n); }

absl::CivilDay DayOf(absl::Time t) {
  return absl::ToCivilDay(t, absl::UTCTimeZone());
}

absl::Time StartOf(absl::CivilDay day) {
  return absl::FromCivil(day, absl::UTCTimeZone());
}

// A moment in office hours (08:00-17:59 UTC) of `day`.
absl::Time OfficeHours(absl::CivilDay day, Rng& rng) {
  return StartOf(day) + absl::Hours(8) + absl::Minutes(rng.Between(0, 599));
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
  out->set_nanos(0);
}

v1::Date ToDate(absl::CivilDay day) {
  v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

template <typename T>
bool Contains(const std::vector<T>& items, const T& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// ============================================================================
// The organisations and their staff
// ============================================================================

constexpr char kMercy[] = "org-mercy-general";
constexpr char kEastside[] = "org-eastside-health";
constexpr char kHarbor[] = "org-harbor-behavioral";
constexpr char kNewDawn[] = "org-new-dawn-recovery";
constexpr char kCityHome[] = "org-cityhome-housing";
constexpr char kLegalAid[] = "org-metro-legal-aid";
constexpr char kCourt[] = "org-county-court-parole";
constexpr char kCorrections[] = "org-state-corrections";
constexpr char kSchools[] = "org-riverside-schools";
constexpr char kHealthPlan[] = "org-statewide-health-plan";
constexpr char kSocialServices[] = "org-county-social-services";
constexpr char kHomeCare[] = "org-homecare-partners";
constexpr char kCommunity[] = "org-community-action";

// A person who works at an organisation: acts as x-caseline-user and joins
// care teams with their user id as member id.
struct Staff {
  std::string user_id;
  std::string given;
  std::string family;
  v1::Discipline discipline;
  bool leads;  // works as a lead case manager
  std::string organization_id;
};

struct Org {
  std::string id;
  std::string name;
  v1::OrganizationType type;
  std::vector<v1::ServiceCategory> categories;
  std::string id_system;  // the identifier system it gives its clients
  std::string id_prefix;
  std::vector<Staff> staff;

  bool Offers(v1::ServiceCategory category) const {
    return Contains(categories, category);
  }
};

Staff S(const char* user_id, const char* given, const char* family,
        v1::Discipline discipline, bool leads) {
  return Staff{user_id, given, family, discipline, leads, ""};
}

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

// The organisation `id` of Orgs(); the demo's own tables only name those, so
// an unknown id is a bug in this file.
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

// Organisations other than `except` that offer `category`.
std::vector<const Org*> Providers(v1::ServiceCategory category,
                                  const std::string& except) {
  std::vector<const Org*> out;
  for (const Org& org : Orgs()) {
    if (org.id != except && org.Offers(category)) out.push_back(&org);
  }
  return out;
}

// Disciplines that deliver `category`, best first.
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

// A staff member of `org` who would deliver `category` (any if none fits).
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

// A staff member of `org` who plans and coordinates (a social worker or case
// manager if there is one).
const Staff& Coordinator(const Org& org, Rng& rng) {
  std::vector<const Staff*> fit;
  for (const Staff& staff : org.staff) {
    if (staff.leads) fit.push_back(&staff);
  }
  if (fit.empty()) return rng.Pick(org.staff);
  return *rng.Pick(fit);
}

// ============================================================================
// Commands and per-client histories
// ============================================================================

// One command the demo sends: a care event proposed by a staff member.
struct PlannedCommand {
  std::string command_id;
  std::string client_id;  // empty for organisation commands
  std::string organization_id;
  std::string user_id;
  absl::Time occurred_at;
  v1::CareEvent event;
};

// Before each command of one client's time-ordered commands whose
// organisation is not involved in the client's care at that moment
// (docs/access.md: registering organisation, active team member's, referral
// sender or receiver, active service provider, transition receiver), inserts
// the invitation a real network would make first: the lead case manager (or,
// with no lead, the registering organisation's first worker) adds the author
// to the care team a minute earlier. No organisation involves itself.
void InviteAuthors(std::vector<PlannedCommand>* commands);

// A client's events as they happen, in any order of generation. Commands()
// puts them in time order (ties keep the order of Add) and leaves out those
// at or after the cutoff, which have not happened yet on the demo's "today".
// Generators add an event only after every event it depends on, at a time no
// earlier, so that time order is also an order the server accepts.
class History {
 public:
  History(std::string client_id, absl::Time cutoff)
      : client_id_(std::move(client_id)), cutoff_(cutoff) {}

  const std::string& client_id() const { return client_id_; }
  absl::Time cutoff() const { return cutoff_; }
  // The latest time added so far.
  absl::Time latest() const { return latest_; }

  void Add(absl::Time at, const Staff& by, v1::CareEvent event) {
    items_.push_back(Item{at, &by, std::move(event)});
    latest_ = std::max(latest_, at);
  }

  // A new id of `kind` for this client: "ref-1", "ref-2", ...
  std::string NewId(const std::string& kind) {
    return absl::StrCat(kind, "-", ++counters_[kind]);
  }

  // Appends the commands, numbered "demo-<client_id>-<n>" from 0 in time
  // order, with the invitations the write rule needs (InviteAuthors).
  void AppendCommands(std::vector<PlannedCommand>* out) {
    std::stable_sort(items_.begin(), items_.end(),
                     [](const Item& a, const Item& b) { return a.at < b.at; });
    std::vector<PlannedCommand> commands;
    for (Item& item : items_) {
      if (item.at >= cutoff_) break;
      commands.push_back(PlannedCommand{"", client_id_,
                                        item.by->organization_id,
                                        item.by->user_id, item.at,
                                        std::move(item.event)});
    }
    InviteAuthors(&commands);
    int n = 0;
    for (PlannedCommand& command : commands) {
      command.command_id = absl::StrCat("demo-", client_id_, "-", n++);
      out->push_back(std::move(command));
    }
  }

 private:
  struct Item {
    absl::Time at;
    const Staff* by;
    v1::CareEvent event;
  };
  std::string client_id_;
  absl::Time cutoff_;
  absl::Time latest_ = absl::InfinitePast();
  std::vector<Item> items_;
  std::map<std::string, int> counters_;
};

// ============================================================================
// Care events
// ============================================================================

struct Person {
  std::string given;
  std::string middle;
  std::string family;
  absl::CivilDay birth;
  v1::Sex sex = v1::SEX_UNSPECIFIED;
  std::string phone;
  std::string line1;
  std::string city;
  std::string postal_code;
  std::string language = "en";
  bool interpreter = false;
};

v1::PersonName Name(const std::string& given, const std::string& family,
                    const std::string& middle = "") {
  v1::PersonName name;
  name.set_given(given);
  name.set_middle(middle);
  name.set_family(family);
  return name;
}

v1::CareEvent ClientRegisteredEvent(const Person& p, const Org& org,
                                    const std::string& identifier) {
  v1::CareEvent event;
  v1::ClientRegistered* e = event.mutable_client_registered();
  *e->mutable_name() = Name(p.given, p.family, p.middle);
  *e->mutable_birth_date() = ToDate(p.birth);
  e->set_sex(p.sex);
  e->set_phone(p.phone);
  if (!p.line1.empty()) {
    v1::PostalAddress* address = e->mutable_address();
    address->set_line1(p.line1);
    address->set_city(p.city);
    address->set_region("OR");
    address->set_postal_code(p.postal_code);
    address->set_country("US");
  }
  e->set_preferred_language(p.language);
  e->set_interpreter_needed(p.interpreter);
  v1::ClientIdentifier* id = e->add_identifiers();
  id->set_organization_id(org.id);
  id->set_system(org.id_system);
  id->set_value(identifier);
  return event;
}

v1::CareEvent CaseOpenedEvent(const std::string& reason) {
  v1::CareEvent event;
  event.mutable_case_opened()->set_reason(reason);
  return event;
}

v1::CareEvent CaseClosedEvent(v1::CaseClosureReason reason,
                              const std::string& note) {
  v1::CareEvent event;
  event.mutable_case_closed()->set_reason(reason);
  event.mutable_case_closed()->set_note(note);
  return event;
}

v1::CareEvent CaseReopenedEvent(const std::string& reason) {
  v1::CareEvent event;
  event.mutable_case_reopened()->set_reason(reason);
  return event;
}

v1::CareEvent DuplicateDismissedEvent(const std::string& finding_id,
                                      const std::string& reason) {
  v1::CareEvent event;
  event.mutable_duplicate_dismissed()->set_finding_id(finding_id);
  event.mutable_duplicate_dismissed()->set_reason(reason);
  return event;
}

v1::CareEvent RecordsLinkedEvent(const std::string& other,
                                 const std::string& reason) {
  v1::CareEvent event;
  event.mutable_client_records_linked()->set_other_client_id(other);
  event.mutable_client_records_linked()->set_reason(reason);
  return event;
}

v1::CareEvent PhoneCorrectedEvent(const std::string& phone,
                                  const std::string& reason) {
  v1::CareEvent event;
  event.mutable_client_details_corrected()->set_phone(phone);
  event.mutable_client_details_corrected()->set_reason(reason);
  return event;
}

v1::Representative Rep(const std::string& given, const std::string& family,
                       v1::RepresentativeAuthority authority) {
  v1::Representative rep;
  *rep.mutable_name() = Name(given, family);
  rep.set_authority(authority);
  return rep;
}

// A consent as the generators track it, to share only what it covers; the
// same rule as the server's ConsentState::Covers (in force, the data class,
// the purpose if it lists any, the recipient by name or, except for Part 2
// data, by type).
struct Consent {
  std::string id;
  std::vector<std::string> organizations;
  std::vector<v1::OrganizationType> types;
  std::vector<v1::DataClass> classes;
  std::vector<v1::PurposeOfUse> purposes;
  absl::Time start;
  absl::Time end = absl::InfiniteFuture();
  absl::Time revoked_effective = absl::InfiniteFuture();
  std::optional<v1::Representative> representative;

  bool Covers(const Org& org, v1::DataClass data_class,
              v1::PurposeOfUse purpose, absl::Time at) const {
    if (at < start || at >= end || at >= revoked_effective) return false;
    if (!purposes.empty() && !Contains(purposes, purpose)) return false;
    if (!Contains(classes, data_class)) return false;
    if (Contains(organizations, org.id)) return true;
    if (data_class == v1::DATA_CLASS_SUBSTANCE_USE_PART2) return false;
    return Contains(types, org.type);
  }
};

v1::CareEvent ConsentGivenEvent(const Consent& c) {
  v1::CareEvent event;
  v1::ConsentGiven* e = event.mutable_consent_given();
  e->set_consent_id(c.id);
  if (c.representative.has_value())
    *e->mutable_representative() = *c.representative;
  for (const std::string& org : c.organizations)
    e->add_recipient_organization_ids(org);
  for (v1::OrganizationType type : c.types)
    e->add_recipient_organization_types(type);
  for (v1::DataClass data_class : c.classes) e->add_data_classes(data_class);
  for (v1::PurposeOfUse purpose : c.purposes) e->add_purposes(purpose);
  if (c.end != absl::InfiniteFuture())
    SetTime(c.end, e->mutable_period()->mutable_end());
  // Provenance: the demo's forms are signed on paper, scanned as
  // consent-<id>.pdf; the digest is of the synthetic form's text.
  e->set_method(v1::CONSENT_METHOD_SIGNED_FORM);
  e->mutable_document()->set_document_id(
      absl::StrCat("consent-", c.id, ".pdf"));
  const std::string form = absl::StrCat("Caseline demo consent form ", c.id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(form.data()), form.size(),
         digest);
  e->mutable_document()->set_sha256(absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest), sizeof(digest))));
  return event;
}

// A release of data outside a referral, relying on `legal_basis` (e.g. a
// court order) when `consent_id` is empty.
v1::CareEvent InformationDisclosedEvent(
    const std::string& id, const std::string& recipient,
    const std::vector<v1::DataClass>& classes, v1::PurposeOfUse purpose,
    const std::string& description, const std::string& consent_id,
    const std::string& legal_basis) {
  v1::CareEvent event;
  v1::InformationDisclosed* e = event.mutable_information_disclosed();
  e->set_disclosure_id(id);
  e->set_recipient_organization_id(recipient);
  for (v1::DataClass data_class : classes) e->add_data_classes(data_class);
  e->set_purpose(purpose);
  e->set_description(description);
  e->set_consent_id(consent_id);
  e->set_legal_basis(legal_basis);
  return event;
}

v1::CareEvent ConsentRevokedEvent(const std::string& id, absl::Time received,
                                  absl::Time effective,
                                  const std::string& reason) {
  v1::CareEvent event;
  v1::ConsentRevoked* e = event.mutable_consent_revoked();
  e->set_consent_id(id);
  SetTime(received, e->mutable_received_at());
  SetTime(effective, e->mutable_effective_at());
  e->set_reason(reason);
  return event;
}

v1::DomainAssessment Domain(v1::ServiceCategory domain, v1::NeedLevel level,
                            const std::string& strengths,
                            const std::string& risks) {
  v1::DomainAssessment d;
  d.set_domain(domain);
  d.set_need_level(level);
  d.set_strengths(strengths);
  d.set_risks(risks);
  return d;
}

v1::CareEvent AssessmentEvent(
    const std::string& id, const std::vector<v1::DomainAssessment>& domains) {
  v1::CareEvent event;
  event.mutable_assessment_recorded()->set_assessment_id(id);
  for (const auto& d : domains)
    *event.mutable_assessment_recorded()->add_domains() = d;
  return event;
}

v1::CareEvent GoalSetEvent(const std::string& id, v1::ServiceCategory domain,
                           const std::string& description,
                           const std::string& measure, absl::CivilDay target) {
  v1::CareEvent event;
  v1::GoalSet* e = event.mutable_goal_set();
  e->set_goal_id(id);
  e->set_domain(domain);
  e->set_description(description);
  e->set_measure(measure);
  *e->mutable_target_date() = ToDate(target);
  return event;
}

v1::CareEvent GoalProgressEvent(const std::string& id, const std::string& note,
                                int percent) {
  v1::CareEvent event;
  event.mutable_goal_progress_recorded()->set_goal_id(id);
  event.mutable_goal_progress_recorded()->set_note(note);
  event.mutable_goal_progress_recorded()->set_percent_achieved(percent);
  return event;
}

v1::CareEvent GoalStatusEvent(const std::string& id, v1::GoalStatus status,
                              const std::string& reason) {
  v1::CareEvent event;
  event.mutable_goal_status_changed()->set_goal_id(id);
  event.mutable_goal_status_changed()->set_status(status);
  event.mutable_goal_status_changed()->set_reason(reason);
  return event;
}

v1::CareEvent ReferralSentEvent(const std::string& id, const std::string& from,
                                const std::string& to,
                                v1::ServiceCategory category,
                                v1::ReferralKind kind, v1::Urgency urgency,
                                const std::string& reason,
                                const std::vector<v1::DataClass>& shared,
                                v1::PurposeOfUse purpose) {
  v1::CareEvent event;
  v1::ReferralSent* e = event.mutable_referral_sent();
  e->set_referral_id(id);
  e->set_from_organization_id(from);
  e->set_to_organization_id(to);
  e->set_service_category(category);
  e->set_kind(kind);
  e->set_urgency(urgency);
  e->set_reason(reason);
  for (v1::DataClass data_class : shared)
    e->add_shared_data_classes(data_class);
  e->set_purpose(purpose);
  return event;
}

// Referral steps after sending.
enum class Step { kAccept, kDecline, kHold, kStart, kComplete, kFail, kCancel };

// `text` is the reason (decline, hold, fail, cancel) or what was delivered
// (complete); accept and start carry none.
v1::CareEvent ReferralStepEvent(Step step, const std::string& id,
                                const std::string& text) {
  v1::CareEvent event;
  switch (step) {
    case Step::kAccept:
      event.mutable_referral_accepted()->set_referral_id(id);
      break;
    case Step::kDecline:
      event.mutable_referral_declined()->set_referral_id(id);
      event.mutable_referral_declined()->set_reason(text);
      break;
    case Step::kHold:
      event.mutable_referral_on_hold()->set_referral_id(id);
      event.mutable_referral_on_hold()->set_reason(text);
      break;
    case Step::kStart:
      event.mutable_referral_started()->set_referral_id(id);
      break;
    case Step::kComplete:
      event.mutable_referral_completed()->set_referral_id(id);
      event.mutable_referral_completed()->set_delivered(text);
      break;
    case Step::kFail:
      event.mutable_referral_failed()->set_referral_id(id);
      event.mutable_referral_failed()->set_reason(text);
      break;
    case Step::kCancel:
      event.mutable_referral_cancelled()->set_referral_id(id);
      event.mutable_referral_cancelled()->set_reason(text);
      break;
  }
  return event;
}

v1::CareEvent ServiceStartedEvent(const std::string& id,
                                  const std::string& provider,
                                  v1::ServiceCategory category,
                                  v1::LevelOfCare level,
                                  const std::string& referral_id) {
  v1::CareEvent event;
  v1::ServiceStarted* e = event.mutable_service_started();
  e->set_service_id(id);
  e->set_provider_organization_id(provider);
  e->set_category(category);
  e->set_level_of_care(level);
  e->set_referral_id(referral_id);
  return event;
}

v1::CareEvent ServiceEndedEvent(const std::string& id,
                                const std::string& reason) {
  v1::CareEvent event;
  event.mutable_service_ended()->set_service_id(id);
  event.mutable_service_ended()->set_reason(reason);
  return event;
}

v1::CareEvent InterruptionEvent(const std::string& id, absl::Time expected_end,
                                const std::string& reason) {
  v1::CareEvent event;
  v1::ServiceInterruptionNotified* e =
      event.mutable_service_interruption_notified();
  e->set_service_id(id);
  SetTime(expected_end, e->mutable_expected_end());
  e->set_reason(reason);
  return event;
}

v1::CareEvent MemberAddedEvent(const Staff& staff, v1::CareTeamRole role) {
  v1::CareEvent event;
  v1::CareTeamMemberAdded* e = event.mutable_care_team_member_added();
  e->set_member_id(staff.user_id);
  *e->mutable_name() = Name(staff.given, staff.family);
  e->set_organization_id(staff.organization_id);
  e->set_discipline(staff.discipline);
  e->set_role(role);
  return event;
}

void InviteAuthors(std::vector<PlannedCommand>* commands) {
  struct MemberState {
    std::string organization_id;
    std::string user_id;
    bool lead = false;
    bool active = true;
  };
  std::string registered_by, registered_user;
  std::map<std::string, MemberState> team;
  std::set<std::string> parties;  // referral ends, transition receivers
  std::map<std::string, std::pair<std::string, bool>> services;
  std::set<std::string> invited;  // members added by an invitation
  auto involved = [&](const std::string& org) {
    if (org == registered_by || parties.count(org) > 0) return true;
    for (const auto& [id, m] : team) {
      if (m.active && m.organization_id == org) return true;
    }
    for (const auto& [id, service] : services) {
      if (service.second && service.first == org) return true;
    }
    return false;
  };
  std::vector<PlannedCommand> out;
  for (PlannedCommand& c : *commands) {
    const v1::CareEvent& e = c.event;
    if (!e.has_client_registered() && !registered_by.empty() &&
        !involved(c.organization_id)) {
      std::string by_org = registered_by, by_user = registered_user;
      for (const auto& [id, m] : team) {
        if (m.active && m.lead) {
          by_org = m.organization_id;
          by_user = m.user_id;
          break;
        }
      }
      const Staff& staff = StaffById(c.user_id);
      out.push_back(PlannedCommand{"", c.client_id, by_org, by_user,
                                   c.occurred_at - absl::Minutes(1),
                                   MemberAddedEvent(
                                       staff, v1::CARE_TEAM_ROLE_MEMBER)});
      team[staff.user_id] = {staff.organization_id, staff.user_id, false, true};
      invited.insert(staff.user_id);
    }
    if (e.has_care_team_member_added() &&
        invited.count(e.care_team_member_added().member_id()) > 0 &&
        team[e.care_team_member_added().member_id()].active) {
      continue;  // the invitation already added them
    }
    switch (e.event_case()) {
      case v1::CareEvent::kClientRegistered:
        registered_by = c.organization_id;
        registered_user = c.user_id;
        break;
      case v1::CareEvent::kCareTeamMemberAdded: {
        const auto& m = e.care_team_member_added();
        team[m.member_id()] = {
            m.organization_id(), m.member_id(),
            m.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER, true};
        break;
      }
      case v1::CareEvent::kCareTeamMemberRemoved:
        team[e.care_team_member_removed().member_id()].active = false;
        break;
      case v1::CareEvent::kReferralSent:
        parties.insert(c.organization_id);
        parties.insert(e.referral_sent().to_organization_id());
        break;
      case v1::CareEvent::kServiceStarted:
        services[e.service_started().service_id()] = {
            e.service_started().provider_organization_id(), true};
        break;
      case v1::CareEvent::kServiceEnded:
        services[e.service_ended().service_id()].second = false;
        break;
      case v1::CareEvent::kTransitionPlanned:
        parties.insert(e.transition_planned().to_organization_id());
        break;
      default:
        break;
    }
    out.push_back(std::move(c));
  }
  *commands = std::move(out);
}

v1::CareEvent MemberRemovedEvent(const std::string& member_id,
                                 const std::string& reason) {
  v1::CareEvent event;
  event.mutable_care_team_member_removed()->set_member_id(member_id);
  event.mutable_care_team_member_removed()->set_reason(reason);
  return event;
}

v1::CareEvent MeetingEvent(const std::string& id,
                           const std::vector<std::string>& attendees,
                           bool client_attended,
                           const std::vector<std::string>& decisions,
                           absl::CivilDay next_review) {
  v1::CareEvent event;
  v1::TeamMeetingHeld* e = event.mutable_team_meeting_held();
  e->set_meeting_id(id);
  for (const std::string& a : attendees) e->add_attendee_member_ids(a);
  e->set_client_attended(client_attended);
  for (const std::string& d : decisions) e->add_decisions(d);
  *e->mutable_next_review_date() = ToDate(next_review);
  return event;
}

// `need` is what the stay is for: MENTAL_HEALTH makes an inpatient stay count
// for FUH and an ED visit for FUM (continuity measures).
v1::CareEvent AdmissionEvent(const std::string& id, const std::string& facility,
                             v1::LevelOfCare level, v1::ServiceCategory need) {
  v1::CareEvent event;
  v1::AdmissionRecorded* e = event.mutable_admission_recorded();
  e->set_admission_id(id);
  e->set_facility_organization_id(facility);
  e->set_level_of_care(level);
  e->set_primary_need(need);
  return event;
}

v1::CareEvent TransitionEvent(const std::string& id,
                              const std::string& admission_id,
                              v1::LevelOfCare from_level,
                              const std::string& from_org,
                              v1::LevelOfCare to_level,
                              const std::string& to_org, absl::CivilDay planned,
                              absl::CivilDay follow_up_due) {
  v1::CareEvent event;
  v1::TransitionPlanned* e = event.mutable_transition_planned();
  e->set_transition_id(id);
  e->set_admission_id(admission_id);
  e->set_from_level_of_care(from_level);
  e->set_from_organization_id(from_org);
  e->set_to_level_of_care(to_level);
  e->set_to_organization_id(to_org);
  *e->mutable_planned_date() = ToDate(planned);
  *e->mutable_follow_up_due() = ToDate(follow_up_due);
  return event;
}

v1::CareEvent DischargeEvent(const std::string& admission_id,
                             v1::DischargeDisposition disposition) {
  v1::CareEvent event;
  event.mutable_discharge_recorded()->set_admission_id(admission_id);
  event.mutable_discharge_recorded()->set_disposition(disposition);
  return event;
}

v1::CareEvent TransitionCompletedEvent(const std::string& id) {
  v1::CareEvent event;
  event.mutable_transition_completed()->set_transition_id(id);
  return event;
}

v1::CareEvent FollowUpEvent(const std::string& id,
                            const std::string& transition_id,
                            const std::string& admission_id,
                            v1::ContactKind kind, const Staff& provider) {
  v1::CareEvent event;
  v1::FollowUpCompleted* e = event.mutable_follow_up_completed();
  e->set_follow_up_id(id);
  e->set_transition_id(transition_id);
  e->set_admission_id(admission_id);
  e->set_contact_kind(kind);
  e->set_provider_organization_id(provider.organization_id);
  e->set_provider_discipline(provider.discipline);
  return event;
}

v1::CareEvent DetailsCorrectedEvent(const std::string& phone,
                                    const std::string& line1,
                                    const std::string& city,
                                    const std::string& postal_code,
                                    const std::string& reason) {
  v1::CareEvent event;
  v1::ClientDetailsCorrected* e = event.mutable_client_details_corrected();
  if (!phone.empty()) e->set_phone(phone);
  if (!line1.empty()) {
    e->mutable_address()->set_line1(line1);
    e->mutable_address()->set_city(city);
    e->mutable_address()->set_region("OR");
    e->mutable_address()->set_postal_code(postal_code);
    e->mutable_address()->set_country("US");
  }
  e->set_reason(reason);
  return event;
}

// ============================================================================
// What each service category means in a plan
// ============================================================================

struct CategoryText {
  std::string need;       // why a client is referred
  std::string goal;       // a SMART goal: description ...
  std::string measure;    // ... and how it is measured
  std::string strengths;  // assessment
  std::string risks;
  std::string delivered;  // what a completed referral delivered
  v1::LevelOfCare level;  // where the service is delivered
  // What a referral for it would share, given consent.
  std::vector<v1::DataClass> data;
  std::vector<std::string> notes;  // goal progress notes
};

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

// ============================================================================
// The organisation directory
// ============================================================================

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

// ============================================================================
// The six scenarios of shared/domain/README.md
// ============================================================================

// A hand-written history: times are days from an anchor day, plus a time of
// day; events are added by staff user id.
class Script {
 public:
  Script(const std::string& client_id, absl::Time cutoff,
         int anchor_days_before_cutoff)
      : history_(client_id, cutoff),
        anchor_(StartOf(DayOf(cutoff) - anchor_days_before_cutoff)) {}

  absl::Time At(int day, int hour, int minute = 0) const {
    return anchor_ + Days(day) + absl::Hours(hour) + absl::Minutes(minute);
  }
  absl::CivilDay Day(int day) const { return DayOf(anchor_) + day; }

  void Add(absl::Time at, const std::string& user, v1::CareEvent event) {
    history_.Add(at, StaffById(user), std::move(event));
  }
  void Do(absl::Time at, const std::string& user, Step step,
          const std::string& referral, const std::string& text = "") {
    Add(at, user, ReferralStepEvent(step, referral, text));
  }
  // `user` becomes a lead case manager, added by `by` (by default `user`
  // itself: the first lead, recorded by the registering organisation).
  void Lead(absl::Time at, const std::string& user, std::string by = "") {
    Add(at, by.empty() ? user : by,
        MemberAddedEvent(StaffById(user),
                         v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
  }
  void Member(absl::Time at, const std::string& by, const std::string& user) {
    Add(at, by, MemberAddedEvent(StaffById(user), v1::CARE_TEAM_ROLE_MEMBER));
  }
  void Goal(absl::Time at, const std::string& by, const std::string& id,
            v1::ServiceCategory domain, const std::string& description,
            const std::string& measure, int target_day) {
    Add(at, by,
        GoalSetEvent(id, domain, description, measure, Day(target_day)));
    Add(at + absl::Minutes(1), by,
        GoalStatusEvent(id, v1::GOAL_STATUS_ACTIVE, "Agreed with the client"));
  }
  void Progress(absl::Time at, const std::string& by, const std::string& id,
                int percent, const std::string& note) {
    Add(at, by, GoalProgressEvent(id, note, percent));
    if (percent == 100) {
      Add(at + absl::Minutes(1), by,
          GoalStatusEvent(id, v1::GOAL_STATUS_COMPLETED, note));
    }
  }

  void AppendCommands(std::vector<PlannedCommand>* out) {
    history_.AppendCommands(out);
  }

 private:
  History history_;
  absl::Time anchor_;
};

Consent ConsentFor(const std::string& id,
                   std::vector<std::string> organizations,
                   std::vector<v1::DataClass> classes,
                   std::vector<v1::PurposeOfUse> purposes) {
  Consent c;
  c.id = id;
  c.organizations = std::move(organizations);
  c.classes = std::move(classes);
  c.purposes = std::move(purposes);
  return c;
}

constexpr v1::PurposeOfUse kCoordination = v1::PURPOSE_OF_USE_CARE_COORDINATION;
constexpr v1::PurposeOfUse kTreatment = v1::PURPOSE_OF_USE_TREATMENT;
constexpr v1::DataClass kGeneral = v1::DATA_CLASS_GENERAL;

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
    }
    s.AppendCommands(out);
  }
}

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

// ============================================================================
// Synthetic clients
// ============================================================================

const std::vector<std::string>& MaleNames() {
  static const auto* const names = new std::vector<std::string>{
      "James",   "Robert",  "Michael",     "William", "David",   "Richard",
      "Joseph",  "Thomas",  "Christopher", "Daniel",  "Anthony", "Jose",
      "Luis",    "Carlos",  "Juan",        "Miguel",  "Ahmed",   "Omar",
      "Wei",     "Minh",    "Tuan",        "Dmitri",  "Ivan",    "Kwame",
      "Tyrone",  "DeShawn", "Marcus",      "Kevin",   "Brian",   "Jason",
      "Eric",    "Samuel",  "Patrick",     "Sean",    "Raj",     "Arjun",
      "Hiroshi", "Kenji",   "Abdi",        "Mohamed"};
  return *names;
}

const std::vector<std::string>& FemaleNames() {
  static const auto* const names = new std::vector<std::string>{
      "Mary",      "Patricia",  "Jennifer", "Linda",  "Elizabeth", "Barbara",
      "Susan",     "Jessica",   "Sarah",    "Karen",  "Maria",     "Ana",
      "Carmen",    "Guadalupe", "Sofia",    "Fatima", "Aisha",     "Amina",
      "Mei",       "Linh",      "Thu",      "Olga",   "Natalia",   "Keisha",
      "Latoya",    "Jasmine",   "Ashley",   "Emily",  "Megan",     "Rachel",
      "Katherine", "Margaret",  "Dorothy",  "Helen",  "Priya",     "Sunita",
      "Yuki",      "Hana",      "Hodan",    "Ayaan"};
  return *names;
}

const std::vector<std::string>& FamilyNames() {
  static const auto* const names = new std::vector<std::string>{
      "Smith",    "Johnson", "Williams",  "Brown",    "Jones",     "Garcia",
      "Miller",   "Davis",   "Rodriguez", "Martinez", "Hernandez", "Lopez",
      "Gonzalez", "Wilson",  "Anderson",  "Thomas",   "Taylor",    "Moore",
      "Jackson",  "Martin",  "Lee",       "Perez",    "Thompson",  "White",
      "Harris",   "Sanchez", "Clark",     "Ramirez",  "Lewis",     "Robinson",
      "Walker",   "Young",   "Allen",     "King",     "Wright",    "Scott",
      "Torres",   "Nguyen",  "Hill",      "Flores",   "Green",     "Adams",
      "Nelson",   "Baker",   "Hall",      "Rivera",   "Campbell",  "Mitchell",
      "Carter",   "Roberts", "Kowalski",  "Novak",    "Haddad",    "Mohamed",
      "Ali",      "Tran",    "Pham",      "Kim",      "Okonkwo",   "Mensah"};
  return *names;
}

const std::vector<std::string>& Streets() {
  static const auto* const streets = new std::vector<std::string>{
      "Maple St",     "Oak Ave",      "Cedar St", "Pine St",
      "Elm St",       "Birch Lane",   "River Rd", "Main St",
      "Lincoln Ave",  "Jefferson St", "Alder St", "Spruce Way",
      "Hillcrest Dr", "Park Ave",     "Mill St",  "Willow Court"};
  return *streets;
}

struct City {
  const char* name;
  const char* postal_prefix;
};

const std::vector<City>& Cities() {
  static const auto* const cities =
      new std::vector<City>{{"Riverside", "973"},
                            {"Eastport", "974"},
                            {"Millbrook", "975"},
                            {"Harbor City", "976"},
                            {"Fairview", "977"}};
  return *cities;
}

// The usual short form of a given name, or "" if it has none.
std::string Nickname(const std::string& given) {
  static const auto* const nicknames = new std::map<std::string, std::string>{
      {"William", "Bill"}, {"Robert", "Bob"},        {"Michael", "Mike"},
      {"James", "Jim"},    {"Richard", "Rick"},      {"Joseph", "Joe"},
      {"Thomas", "Tom"},   {"Christopher", "Chris"}, {"Daniel", "Dan"},
      {"Anthony", "Tony"}, {"Elizabeth", "Liz"},     {"Patricia", "Pat"},
      {"Jennifer", "Jen"}, {"Katherine", "Kathy"},   {"Margaret", "Peggy"},
      {"Jessica", "Jess"}, {"Susan", "Sue"},         {"Samuel", "Sam"},
      {"Dorothy", "Dot"},  {"Natalia", "Natasha"}};
  auto it = nicknames->find(given);
  return it == nicknames->end() ? "" : it->second;
}

enum class Kind {
  kMentalIllness,
  kSubstanceUse,
  kHomeless,
  kFrailElder,
  kReentry,
  kChild,
  kDomesticViolence,
  kImmigrant,
  kChronicIllness,
};

// A kind of client: who they are, where they are first seen, what they need.
struct Persona {
  Kind kind;
  int weight;
  int min_age;
  int max_age;
  std::vector<std::string> intake;  // organisations that register them
  // Needs: the first always, the others with the given percent chance.
  std::vector<std::pair<v1::ServiceCategory, int>> needs;
  std::vector<v1::DataClass> classes;  // what they consent to share
  std::string reason;                  // why the case is opened
};

const std::vector<Persona>& Personas() {
  using v1::DATA_CLASS_EDUCATION;
  using v1::DATA_CLASS_FINANCIAL;
  using v1::DATA_CLASS_GENERAL;
  using v1::DATA_CLASS_HOUSING;
  using v1::DATA_CLASS_LEGAL;
  using v1::DATA_CLASS_MENTAL_HEALTH;
  static const auto* const personas = new std::vector<Persona>{
      {Kind::kMentalIllness,
       14,
       19,
       64,
       {kHarbor, kMercy, kEastside},
       {{v1::SERVICE_CATEGORY_MENTAL_HEALTH, 100},
        {v1::SERVICE_CATEGORY_HOUSING, 40},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 40},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 30},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 30},
        {v1::SERVICE_CATEGORY_SUPPORT_GROUP, 25}},
       {DATA_CLASS_GENERAL, DATA_CLASS_MENTAL_HEALTH, DATA_CLASS_HOUSING,
        DATA_CLASS_FINANCIAL},
       "Serious mental illness after a crisis; needs coordinated outpatient "
       "care"},
      {Kind::kSubstanceUse,
       12,
       19,
       60,
       {kNewDawn, kMercy, kCommunity},
       {{v1::SERVICE_CATEGORY_SUBSTANCE_USE, 100},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 50},
        {v1::SERVICE_CATEGORY_HOUSING, 40},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 30},
        {v1::SERVICE_CATEGORY_LEGAL, 20},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_MENTAL_HEALTH, DATA_CLASS_HOUSING},
       "Substance use disorder; wants treatment after an overdose"},
      {Kind::kHomeless,
       13,
       19,
       70,
       {kCityHome, kCommunity},
       {{v1::SERVICE_CATEGORY_HOUSING, 100},
        {v1::SERVICE_CATEGORY_FOOD, 60},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 50},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 50},
        {v1::SERVICE_CATEGORY_TRANSPORTATION, 25},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 30},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 25}},
       {DATA_CLASS_GENERAL, DATA_CLASS_HOUSING, DATA_CLASS_FINANCIAL},
       "Homeless; sleeping in a car since an eviction"},
      {Kind::kFrailElder,
       14,
       70,
       94,
       {kEastside, kMercy, kSocialServices, kHealthPlan},
       {{v1::SERVICE_CATEGORY_IN_HOME_CARE, 100},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 70},
        {v1::SERVICE_CATEGORY_PHYSICAL_THERAPY, 40},
        {v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY, 30},
        {v1::SERVICE_CATEGORY_TRANSPORTATION, 40},
        {v1::SERVICE_CATEGORY_FOOD, 30},
        {v1::SERVICE_CATEGORY_DISABILITY, 20},
        {v1::SERVICE_CATEGORY_SUPPORT_GROUP, 15}},
       {DATA_CLASS_GENERAL, DATA_CLASS_FINANCIAL},
       "Frail older adult living alone; falls and missed appointments"},
      {Kind::kReentry,
       7,
       20,
       55,
       {kCorrections},
       {{v1::SERVICE_CATEGORY_PROBATION_PAROLE, 100},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 80},
        {v1::SERVICE_CATEGORY_HOUSING, 60},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 40},
        {v1::SERVICE_CATEGORY_SUBSTANCE_USE, 35},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 50},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_LEGAL, DATA_CLASS_MENTAL_HEALTH,
        DATA_CLASS_HOUSING, DATA_CLASS_FINANCIAL},
       "Reentry planning before release on parole"},
      {Kind::kChild,
       10,
       5,
       17,
       {kSchools, kSocialServices},
       {{v1::SERVICE_CATEGORY_EDUCATION, 100},
        {v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT, 60},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 50},
        {v1::SERVICE_CATEGORY_FOOD, 30},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_EDUCATION, DATA_CLASS_MENTAL_HEALTH},
       "Child missing school; family under strain"},
      {Kind::kDomesticViolence,
       8,
       19,
       55,
       {kCommunity, kLegalAid},
       {{v1::SERVICE_CATEGORY_SAFETY, 100},
        {v1::SERVICE_CATEGORY_DOMESTIC_VIOLENCE, 80},
        {v1::SERVICE_CATEGORY_LEGAL, 70},
        {v1::SERVICE_CATEGORY_HOUSING, 60},
        {v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT, 30},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 40},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_LEGAL, DATA_CLASS_HOUSING,
        DATA_CLASS_MENTAL_HEALTH},
       "Fled domestic violence; needs safety and legal help"},
      {Kind::kImmigrant,
       8,
       19,
       60,
       {kCommunity, kSocialServices},
       {{v1::SERVICE_CATEGORY_IMMIGRATION, 100},
        {v1::SERVICE_CATEGORY_LEGAL, 50},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 60},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 50},
        {v1::SERVICE_CATEGORY_EDUCATION, 30},
        {v1::SERVICE_CATEGORY_FOOD, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_LEGAL, DATA_CLASS_FINANCIAL},
       "Newly arrived; needs legal status, work and health care"},
      {Kind::kChronicIllness,
       14,
       35,
       80,
       {kHealthPlan, kEastside},
       {{v1::SERVICE_CATEGORY_HEALTH_CARE, 100},
        {v1::SERVICE_CATEGORY_TRANSPORTATION, 50},
        {v1::SERVICE_CATEGORY_FOOD, 40},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 30},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 25},
        {v1::SERVICE_CATEGORY_IN_HOME_CARE, 15},
        {v1::SERVICE_CATEGORY_DISABILITY, 20}},
       {DATA_CLASS_GENERAL, DATA_CLASS_MENTAL_HEALTH, DATA_CLASS_FINANCIAL},
       "Uncontrolled diabetes and heart failure; frequent ED visits"},
  };
  return *personas;
}

// Where a referral ends up (before the demo's cutoff cuts it short).
enum class Outcome {
  kRequested,
  kAccepted,
  kDeclined,
  kOnHold,
  kInProgress,
  kCompleted,
  kFailed,
  kCancelled,
};

bool IsHealthCategory(v1::ServiceCategory c) {
  return c == v1::SERVICE_CATEGORY_HEALTH_CARE ||
         c == v1::SERVICE_CATEGORY_MENTAL_HEALTH ||
         c == v1::SERVICE_CATEGORY_SUBSTANCE_USE ||
         c == v1::SERVICE_CATEGORY_PHYSICAL_THERAPY ||
         c == v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY ||
         c == v1::SERVICE_CATEGORY_IN_HOME_CARE;
}

std::string SyntheticClientId(uint64_t seed, int index) {
  return absl::StrFormat("s%d-c%05d", seed, index);
}

std::string TwinClientId(uint64_t seed, int index) {
  return absl::StrFormat("s%d-d%05d", seed, index);
}

// Every 40th synthetic client (5, 45, 85, ...) is registered a second time,
// by another agency, under another client id.
bool HasTwin(int index) { return index % 40 == 5; }

// Every 40th synthetic client (7, 47, ...), and a few others, get two
// services of one category from two providers at once.
bool ForcedOverlap(int index) { return index % 40 == 7; }

// The cases of the follow-up and readmission measures (FUH, FUM,
// READMISSION-30), each given to one client in every 40 so that a small demo
// has them all. These clients have a mental illness, their case opens at
// least 120 days before base_date (so the stays and their 30-day windows fall
// before it) and stays open. The other clients' stays are random.
enum class MeasureCase {
  kNone,
  // A psychiatric inpatient stay at Mercy, discharged to Harbor with a
  // follow-up at Harbor on day 1..7 (FUH-7 and FUH-30).
  kFollowUpWithin7Days,
  // The same, with a follow-up by Mercy's social worker on the discharge day
  // (which FUH does not count) and one at Harbor on day 8..30 (FUH-30 only).
  kDischargeDayThenLate,
  // The same with no follow-up, and the transition to Harbor never
  // completed: in FUH's denominator only, and on Mercy's worklist.
  kNoFollowUp,
  // Readmitted on day 3..25 (READMISSION-30; the first discharge is excluded
  // from FUH), the second stay followed up on day 1..7.
  kReadmitted,
  // A mental-health ED visit followed up the same day (FUM-7 and FUM-30).
  kEdFollowedUpSameDay,
  // A mental-health ED visit followed up on day 8..28 (FUM-30 only).
  kEdFollowedUpLate,
};

MeasureCase MeasureCaseOf(int index) {
  switch (index % 40) {
    case 3:
      return MeasureCase::kFollowUpWithin7Days;
    case 13:
      return MeasureCase::kDischargeDayThenLate;
    case 17:
      return MeasureCase::kEdFollowedUpSameDay;
    case 23:
      return MeasureCase::kNoFollowUp;
    case 33:
      return MeasureCase::kReadmitted;
    case 37:
      return MeasureCase::kEdFollowedUpLate;
    default:
      return MeasureCase::kNone;
  }
}

// One synthetic client's history, from (seed, index) alone.
class SyntheticClient {
 public:
  SyntheticClient(uint64_t seed, int index, absl::Time cutoff)
      : seed_(seed),
        index_(index),
        cutoff_(cutoff),
        rng_(seed, static_cast<uint64_t>(index)),
        history_(SyntheticClientId(seed, index), cutoff),
        measure_case_(MeasureCaseOf(index)) {}

  // Appends the client's commands, then its twin's if it has one; returns
  // the number of client records registered.
  int Plan(std::vector<PlannedCommand>* out) {
    Intake();
    Consents();
    Assess();
    Goals();
    Referrals();
    ParallelReferral();
    Stays();
    OverlappingServices();
    Interruption();
    Correction();
    TeamChanges();
    Meetings();
    Closure();
    history_.AppendCommands(out);
    if (!HasTwin(index_)) return 1;
    Twin(out);
    return 2;
  }

 private:
  struct Need {
    v1::ServiceCategory category;
    v1::NeedLevel level;
    const Org* provider;  // nullptr: the intake organisation serves it itself
  };
  struct Member {
    const Staff* staff;
    absl::Time added;
    absl::Time removed;
    bool lead;
  };
  struct Service {
    std::string id;
    const Org* provider;
    v1::ServiceCategory category;
    absl::Time start;
    absl::Time end;
  };
  struct Referral {
    std::string id;
    Outcome outcome;
    absl::Time last;  // time of its last step
  };
  struct StaySpec {
    const Org* facility;
    v1::LevelOfCare level;
    int days;  // 0: hours (an ED visit)
    const Org* to;
    v1::LevelOfCare to_level;
    v1::DischargeDisposition disposition;
    double plan_chance;
    double follow_up_chance;
    const Org* follow_up_by;
    v1::ServiceCategory follow_up_category;
    v1::ServiceCategory need;  // the admission's primary need
  };
  // Overrides of a stay's chances (MeasureCase).
  struct StayOptions {
    // The follow-up's day after the discharge's (0: the discharge day; -1:
    // none); unset: follow_up_chance decides.
    std::optional<int> follow_up_day;
    // Whether a planned transition is completed; unset: 85% are.
    std::optional<bool> complete_transition;
  };
  struct StayResult {
    std::string admission_id;
    std::string transition_id;  // empty: none planned
    absl::Time discharge;
  };

  // A moment on a day min_days..max_days after t's day (office hours), or
  // minutes after t when that day is t's own; always after t.
  absl::Time Later(absl::Time t, int min_days, int max_days) {
    const int d = rng_.Between(min_days, max_days);
    if (d <= 0) return t + absl::Minutes(rng_.Between(10, 180));
    return OfficeHours(DayOf(t) + d, rng_);
  }

  void Intake() {
    std::vector<int> weights;
    for (const Persona& p : Personas()) weights.push_back(p.weight);
    persona_ = &Personas()[rng_.Weighted(weights)];
    if (measure_case_ != MeasureCase::kNone) persona_ = &Personas().front();
    const Kind kind = persona_->kind;

    double female = 0.5;
    if (kind == Kind::kFrailElder) female = 0.6;
    if (kind == Kind::kDomesticViolence) female = 0.9;
    if (kind == Kind::kReentry) female = 0.12;
    person_.sex = rng_.Chance(female) ? v1::SEX_FEMALE : v1::SEX_MALE;
    if (rng_.Chance(0.01)) person_.sex = v1::SEX_OTHER;
    const auto& given =
        person_.sex == v1::SEX_FEMALE ? FemaleNames() : MaleNames();
    person_.given = rng_.Pick(given);
    if (rng_.Chance(0.4)) person_.middle = rng_.Pick(given);
    person_.family = rng_.Pick(FamilyNames());
    const int age = rng_.Between(persona_->min_age, persona_->max_age);
    const int year = static_cast<int>(DayOf(cutoff_).year()) - age;
    person_.birth =
        absl::CivilDay(year, rng_.Between(1, 12), rng_.Between(1, 28));
    if (kind != Kind::kHomeless || rng_.Chance(0.6)) {
      person_.phone = absl::StrFormat("+1-541-555-%04d", rng_.Below(10000));
    }
    const City& city = rng_.Pick(Cities());
    if (kind != Kind::kHomeless) {
      person_.line1 =
          absl::StrCat(rng_.Between(1, 2999), " ", rng_.Pick(Streets()));
      if (rng_.Chance(0.3))
        absl::StrAppend(&person_.line1, ", Apt ", rng_.Between(1, 40));
      person_.city = city.name;
      person_.postal_code =
          absl::StrFormat("%s%02d", city.postal_prefix, rng_.Below(100));
    }
    if (kind == Kind::kImmigrant) {
      static const auto* const languages = new std::vector<std::string>{
          "es", "es", "es", "vi", "ar", "so", "uk", "zh"};
      person_.language = rng_.Pick(*languages);
      person_.interpreter = rng_.Chance(0.75);
    } else if (rng_.Chance(0.08)) {
      person_.language = "es";
      person_.interpreter = rng_.Chance(0.3);
    }

    intake_ = &OrgById(rng_.Pick(persona_->intake));
    lead_ = &Coordinator(*intake_, rng_);
    t0_ = OfficeHours(
        DayOf(cutoff_) -
            rng_.Between(measure_case_ == MeasureCase::kNone ? 10 : 120, 420),
        rng_);
    const std::string identifier =
        absl::StrFormat("%s%07d", intake_->id_prefix, rng_.Below(10000000));
    if (kind == Kind::kReentry) {
      // Registered at booking, years before the reentry case opens.
      const absl::Time booked =
          OfficeHours(DayOf(t0_) - rng_.Between(300, 1800), rng_);
      history_.Add(booked, *lead_,
                   ClientRegisteredEvent(person_, *intake_, identifier));
      incarceration_ = history_.NewId("adm");
      history_.Add(booked + absl::Minutes(rng_.Between(20, 90)), *lead_,
                   AdmissionEvent(incarceration_, intake_->id,
                                  v1::LEVEL_OF_CARE_INCARCERATION,
                                  v1::SERVICE_CATEGORY_PROBATION_PAROLE));
    } else {
      history_.Add(t0_, *lead_,
                   ClientRegisteredEvent(person_, *intake_, identifier));
    }
    history_.Add(t0_ + absl::Minutes(rng_.Between(5, 20)), *lead_,
                 CaseOpenedEvent(persona_->reason));
    const absl::Time lead_at = t0_ + absl::Minutes(rng_.Between(25, 40));
    history_.Add(
        lead_at, *lead_,
        MemberAddedEvent(*lead_, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
    team_.push_back(Member{lead_, lead_at, absl::InfiniteFuture(), true});

    for (size_t i = 0; i < persona_->needs.size(); ++i) {
      const auto& [category, percent] = persona_->needs[i];
      if (i > 0 && !rng_.Chance(percent / 100.0)) continue;
      v1::NeedLevel level;
      if (i == 0) {
        level = rng_.Chance(0.2) ? v1::NEED_LEVEL_CRISIS : v1::NEED_LEVEL_HIGH;
      } else {
        level = static_cast<v1::NeedLevel>(
            rng_.Between(v1::NEED_LEVEL_LOW, v1::NEED_LEVEL_HIGH));
      }
      const std::vector<const Org*> providers =
          Providers(category, intake_->id);
      needs_.push_back(Need{
          category, level, providers.empty() ? nullptr : rng_.Pick(providers)});
    }
  }

  void Consents() {
    Consent c;
    c.id = history_.NewId("cons");
    c.start = t0_ + absl::Minutes(rng_.Between(45, 60));
    for (const Need& need : needs_) {
      if (need.provider == nullptr) continue;
      const double r = static_cast<double>(rng_.Below(100)) / 100.0;
      if (r < 0.78) {
        if (!Contains(c.organizations, need.provider->id)) {
          c.organizations.push_back(need.provider->id);
        }
      } else if (r < 0.9) {
        if (!Contains(c.types, need.provider->type))
          c.types.push_back(need.provider->type);
      }  // else: the client would not name it
    }
    if (c.organizations.empty() && c.types.empty())
      c.organizations.push_back(kEastside);
    c.classes = persona_->classes;
    c.purposes = {kCoordination, kTreatment};
    if (rng_.Chance(0.6)) c.end = c.start + Days(365);
    if (persona_->kind == Kind::kChild) {
      const auto& parent = rng_.Chance(0.7) ? FemaleNames() : MaleNames();
      c.representative = Rep(rng_.Pick(parent), person_.family,
                             v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
    } else if (persona_->kind == Kind::kFrailElder && rng_.Chance(0.4)) {
      const size_t which = rng_.Weighted({50, 40, 10});
      const v1::RepresentativeAuthority authority =
          which == 0   ? v1::REPRESENTATIVE_AUTHORITY_POWER_OF_ATTORNEY
          : which == 1 ? v1::REPRESENTATIVE_AUTHORITY_HEALTH_CARE_AGENT
                       : v1::REPRESENTATIVE_AUTHORITY_GUARDIAN;
      const auto& child = rng_.Chance(0.5) ? FemaleNames() : MaleNames();
      c.representative = Rep(rng_.Pick(child), person_.family, authority);
    }
    history_.Add(c.start, *lead_, ConsentGivenEvent(c));
    consents_.push_back(c);

    bool substance_use = false;
    for (const Need& need : needs_) {
      substance_use |= need.category == v1::SERVICE_CATEGORY_SUBSTANCE_USE;
    }
    if (substance_use && rng_.Chance(0.85)) {
      // 42 CFR Part 2: the recipients by name.
      Consent part2;
      part2.id = history_.NewId("cons");
      part2.start = c.start + absl::Minutes(5);
      part2.organizations = {kNewDawn, kMercy};
      if (rng_.Chance(0.6)) part2.organizations.push_back(kHarbor);
      if (rng_.Chance(0.3)) part2.organizations.push_back(kEastside);
      part2.classes = {v1::DATA_CLASS_SUBSTANCE_USE_PART2};
      part2.purposes = {kTreatment};
      part2.representative = c.representative;
      history_.Add(part2.start, *lead_, ConsentGivenEvent(part2));
      consents_.push_back(part2);
    }

    if (rng_.Chance(0.10)) {
      const absl::Time received =
          OfficeHours(DayOf(c.start) + rng_.Between(20, 240), rng_);
      if (received < consents_[0].end) {
        const absl::Time effective = received + Days(rng_.Between(0, 2));
        static const auto* const reasons = new std::vector<std::string>{
            "Client withdrew consent in writing",
            "Client no longer wants records shared with other agencies",
            "Representative withdrew consent after a family meeting",
            "Client upset that the shelter knew about a hospital stay"};
        history_.Add(received, *lead_,
                     ConsentRevokedEvent(consents_[0].id, received, effective,
                                         rng_.Pick(*reasons)));
        consents_[0].revoked_effective = effective;
        if (rng_.Chance(0.5) && !consents_[0].organizations.empty()) {
          // A narrower consent replaces it.
          Consent narrower;
          narrower.id = history_.NewId("cons");
          narrower.start = Later(received, 1, 10);
          narrower.organizations = consents_[0].organizations;
          if (narrower.organizations.size() > 1) {
            narrower.organizations.erase(
                narrower.organizations.begin() +
                static_cast<int>(rng_.Below(narrower.organizations.size())));
          }
          narrower.classes = {v1::DATA_CLASS_GENERAL};
          narrower.purposes = {kCoordination};
          narrower.representative = consents_[0].representative;
          history_.Add(narrower.start, *lead_, ConsentGivenEvent(narrower));
          consents_.push_back(narrower);
        }
      }
    }
  }

  void Assess() {
    assessed_ = Later(t0_, 0, 3);
    std::vector<v1::DomainAssessment> domains;
    for (const Need& need : needs_) {
      const CategoryText text = TextFor(need.category);
      domains.push_back(
          Domain(need.category, need.level, text.strengths, text.risks));
    }
    history_.Add(assessed_, *lead_,
                 AssessmentEvent(history_.NewId("asm"), domains));
    if (rng_.Chance(0.4)) {
      // Reassessment: needs are lower where services took hold.
      std::vector<v1::DomainAssessment> again;
      for (const Need& need : needs_) {
        const int level =
            std::max<int>(v1::NEED_LEVEL_NONE, need.level - rng_.Between(0, 2));
        const CategoryText text = TextFor(need.category);
        again.push_back(Domain(need.category, static_cast<v1::NeedLevel>(level),
                               text.strengths, text.risks));
      }
      history_.Add(Later(assessed_, 90, 150), *lead_,
                   AssessmentEvent(history_.NewId("asm"), again));
    }
  }

  void Goals() {
    const int count =
        std::min<int>(static_cast<int>(needs_.size()), rng_.Between(1, 3));
    for (int i = 0; i < count; ++i) {
      const Need& need = needs_[i];
      const CategoryText text = TextFor(need.category);
      const std::string id = history_.NewId("goal");
      const absl::Time set = Later(assessed_, 0, 4);
      const absl::CivilDay target = DayOf(set) + rng_.Between(60, 180);
      history_.Add(
          set, *lead_,
          GoalSetEvent(id, need.category, text.goal, text.measure, target));
      absl::Time t = Later(set, 0, 1);
      history_.Add(t, *lead_,
                   GoalStatusEvent(id, v1::GOAL_STATUS_ACTIVE,
                                   "Agreed with the client"));
      int percent = 0;
      for (int check = 0; check < 6; ++check) {
        t = Later(t, 20, 45);
        if (rng_.Chance(0.05)) {
          history_.Add(t, *lead_,
                       GoalStatusEvent(
                           id, v1::GOAL_STATUS_ON_HOLD,
                           "Paused: client in hospital; revisit on discharge"));
          break;
        }
        if (rng_.Chance(0.05)) {
          history_.Add(
              t, *lead_,
              GoalStatusEvent(id, v1::GOAL_STATUS_CANCELLED,
                              "Plan adjusted at review: goal replaced"));
          break;
        }
        percent = std::min(100, percent + rng_.Between(5, 35));
        const std::string& note = text.notes[percent < 34   ? 0
                                             : percent < 67 ? 1
                                                            : 2];
        history_.Add(t, *lead_, GoalProgressEvent(id, note, percent));
        if (percent == 100) {
          history_.Add(
              t + absl::Minutes(2), *lead_,
              GoalStatusEvent(id, v1::GOAL_STATUS_COMPLETED, "Target met"));
          break;
        }
        if (DayOf(t) > target + 30) break;
      }
    }
  }

  // What a referral to `to` for `category` may share at `at`: the classes the
  // category calls for that some consent covers.
  std::vector<v1::DataClass> Shareable(const Org& to,
                                       v1::ServiceCategory category,
                                       v1::PurposeOfUse purpose,
                                       absl::Time at) const {
    std::vector<v1::DataClass> out;
    for (v1::DataClass data_class : TextFor(category).data) {
      for (const Consent& c : consents_) {
        if (c.Covers(to, data_class, purpose, at)) {
          out.push_back(data_class);
          break;
        }
      }
    }
    return out;
  }

  void AddMember(const Staff& staff, absl::Time at) {
    for (const Member& m : team_) {
      if (m.staff == &staff) return;
    }
    history_.Add(at, *lead_,
                 MemberAddedEvent(staff, v1::CARE_TEAM_ROLE_MEMBER));
    team_.push_back(Member{&staff, at, absl::InfiniteFuture(), false});
  }

  // Returns the index of the service in services_.
  size_t StartService(const Org& provider, const Staff& by,
                      v1::ServiceCategory category, absl::Time at,
                      const std::string& referral_id) {
    const std::string id = history_.NewId("svc");
    history_.Add(at, by,
                 ServiceStartedEvent(id, provider.id, category,
                                     TextFor(category).level, referral_id));
    services_.push_back(
        Service{id, &provider, category, at, absl::InfiniteFuture()});
    return services_.size() - 1;
  }

  void EndService(size_t index, absl::Time at, const std::string& reason) {
    Service& service = services_[index];
    if (service.end != absl::InfiniteFuture() || at <= service.start) return;
    history_.Add(at, ProviderStaff(*service.provider, service.category, rng_),
                 ServiceEndedEvent(service.id, reason));
    service.end = at;
  }

  // Sends a referral at `at` and plays its lifecycle to an outcome.
  const Referral& MakeReferral(const Need& need, const Org& to, absl::Time at) {
    static const auto* const declines = new std::vector<std::string>{
        "No capacity: waiting list closed",
        "Client does not meet eligibility criteria", "Outside our service area",
        "Service not offered for this age group"};
    static const auto* const holds = new std::vector<std::string>{
        "Waiting list", "Waiting for documents from the client",
        "Client in hospital; resume on discharge",
        "Awaiting insurance authorisation"};
    static const auto* const failures = new std::vector<std::string>{
        "Client did not attend intake after 3 attempts to contact",
        "Lost contact: phone disconnected", "Client moved out of the area",
        "Client stopped attending"};
    static const auto* const cancels = new std::vector<std::string>{
        "Need met elsewhere", "Client declined the service",
        "Duplicate referral; the other one is active",
        "Client's circumstances changed"};
    const v1::ServiceCategory category = need.category;
    const std::string id = history_.NewId("ref");
    const Outcome outcome =
        static_cast<Outcome>(rng_.Weighted({8, 8, 10, 8, 16, 28, 10, 12}));
    const v1::PurposeOfUse purpose =
        IsHealthCategory(category) ? kTreatment : kCoordination;
    std::vector<v1::DataClass> shared = Shareable(to, category, purpose, at);
    v1::ReferralKind kind = v1::REFERRAL_KIND_COLD;
    if (!shared.empty() && rng_.Chance(0.75)) {
      kind = v1::REFERRAL_KIND_WARM;
    } else if (rng_.Chance(0.8)) {
      shared.clear();  // a cold referral: the client makes contact
    }
    v1::Urgency urgency = v1::URGENCY_ROUTINE;
    if (need.level == v1::NEED_LEVEL_CRISIS) {
      urgency = rng_.Chance(0.5) ? v1::URGENCY_EMERGENT : v1::URGENCY_URGENT;
    } else if (need.level == v1::NEED_LEVEL_HIGH && rng_.Chance(0.4)) {
      urgency = v1::URGENCY_URGENT;
    }
    const CategoryText text = TextFor(category);
    history_.Add(at, *lead_,
                 ReferralSentEvent(id, intake_->id, to.id, category, kind,
                                   urgency, text.need, shared, purpose));
    const Staff& receiver = ProviderStaff(to, category, rng_);
    absl::Time t = at;
    std::optional<absl::Time> accepted;
    std::optional<size_t> service;
    auto step = [&](Step s, int min_days, int max_days,
                    const std::string& text_or_reason, const Staff& by) {
      t = Later(t, min_days, max_days);
      history_.Add(t, by, ReferralStepEvent(s, id, text_or_reason));
      if (s == Step::kAccept) accepted = t;
      if (s == Step::kStart)
        service = StartService(to, by, category, t + absl::Minutes(10), id);
    };
    switch (outcome) {
      case Outcome::kRequested:
        break;
      case Outcome::kDeclined:
        step(Step::kDecline, 1, 7, rng_.Pick(*declines), receiver);
        break;
      case Outcome::kAccepted:
        step(Step::kAccept, 0, 5, "", receiver);
        break;
      case Outcome::kOnHold:
        if (rng_.Chance(0.5)) step(Step::kAccept, 0, 5, "", receiver);
        step(Step::kHold, 2, 14, rng_.Pick(*holds), receiver);
        break;
      case Outcome::kInProgress:
        step(Step::kAccept, 0, 5, "", receiver);
        if (rng_.Chance(0.2))
          step(Step::kHold, 2, 10, rng_.Pick(*holds), receiver);
        step(Step::kStart, 2, 14, "", receiver);
        break;
      case Outcome::kCompleted:
        step(Step::kAccept, 0, 5, "", receiver);
        if (rng_.Chance(0.8)) step(Step::kStart, 2, 14, "", receiver);
        step(Step::kComplete, 14, 90, text.delivered, receiver);
        if (service.has_value() && rng_.Chance(0.5)) {
          EndService(*service, t + absl::Minutes(30), "Service completed");
        }
        break;
      case Outcome::kFailed:
        step(Step::kAccept, 0, 5, "", receiver);
        if (rng_.Chance(0.6)) {
          step(Step::kStart, 2, 14, "", receiver);
        } else if (rng_.Chance(0.5)) {
          step(Step::kHold, 2, 10, rng_.Pick(*holds), receiver);
        }
        step(Step::kFail, 7, 60, rng_.Pick(*failures), receiver);
        if (service.has_value())
          EndService(*service, t + absl::Minutes(30),
                     "Client stopped attending");
        break;
      case Outcome::kCancelled:
        if (rng_.Chance(0.5)) step(Step::kAccept, 0, 5, "", receiver);
        step(Step::kCancel, 1, 30, rng_.Pick(*cancels),
             rng_.Chance(0.7) ? *lead_ : receiver);
        break;
    }
    if (accepted.has_value() && rng_.Chance(0.7))
      AddMember(receiver, Later(*accepted, 0, 3));
    referrals_.push_back(Referral{id, outcome, t});
    return referrals_.back();
  }

  void Referrals() {
    for (const Need& need : needs_) {
      if (need.provider == nullptr) {
        // The intake organisation serves this need itself.
        StartService(*intake_, ProviderStaff(*intake_, need.category, rng_),
                     need.category, Later(assessed_, 1, 10), "");
        continue;
      }
      if (rng_.Chance(0.08)) continue;  // an unmet need: nobody referred
      const Referral first =
          MakeReferral(need, *need.provider, Later(assessed_, 1, 25));
      const bool closed_unserved = first.outcome == Outcome::kDeclined ||
                                   first.outcome == Outcome::kFailed ||
                                   first.outcome == Outcome::kCancelled;
      if (closed_unserved && rng_.Chance(0.5)) {
        std::vector<const Org*> others;
        for (const Org* org : Providers(need.category, intake_->id)) {
          if (org != need.provider) others.push_back(org);
        }
        if (!others.empty()) {
          MakeReferral(need, *rng_.Pick(others), Later(first.last, 1, 10));
        }
      }
    }
  }

  // Now and then a client is referred to a second provider for a need while
  // the first referral is still pending, to shorten the wait: duplicate
  // referrals, open until either closes.
  void ParallelReferral() {
    if (!rng_.Chance(0.05)) return;
    for (const Need& need : needs_) {
      if (need.provider == nullptr) continue;
      std::vector<const Org*> others;
      for (const Org* org : Providers(need.category, intake_->id)) {
        if (org != need.provider) others.push_back(org);
      }
      if (others.empty()) continue;
      MakeReferral(need, *rng_.Pick(others), Later(assessed_, 1, 25));
      return;
    }
  }

  // Admits at `admit` (unless `admission_id` is already recorded) and
  // discharges, with or without a transition plan and a follow-up; `options`
  // may decide the follow-up and the transition's completion instead of
  // chance.
  StayResult Stay(absl::Time admit, const StaySpec& s,
                  std::string admission_id = "",
                  const StayOptions& options = {}) {
    const Staff& nurse =
        ProviderStaff(*s.facility, v1::SERVICE_CATEGORY_HEALTH_CARE, rng_);
    if (admission_id.empty()) {
      admission_id = history_.NewId("adm");
      history_.Add(
          admit, nurse,
          AdmissionEvent(admission_id, s.facility->id, s.level, s.need));
    }
    const absl::Time discharge =
        s.days == 0 ? admit + absl::Minutes(rng_.Between(180, 600))
                    : OfficeHours(DayOf(admit) + s.days, rng_);
    std::string transition;
    if (rng_.Chance(s.plan_chance)) {
      transition = history_.NewId("tr");
      absl::Time planned =
          s.days >= 2 ? discharge - absl::Hours(rng_.Between(20, 44))
                      : discharge - absl::Minutes(rng_.Between(20, 60));
      planned = std::max(planned, admit + absl::Minutes(15));
      history_.Add(planned, Coordinator(*s.facility, rng_),
                   TransitionEvent(transition, admission_id, s.level,
                                   s.facility->id, s.to_level, s.to->id,
                                   DayOf(discharge), DayOf(discharge) + 7));
    }
    history_.Add(discharge, nurse, DischargeEvent(admission_id, s.disposition));
    if (!transition.empty() &&
        (options.complete_transition.has_value() ? *options.complete_transition
                                                 : rng_.Chance(0.85))) {
      history_.Add(discharge + absl::Minutes(rng_.Between(30, 600)),
                   ProviderStaff(*s.to, s.follow_up_category, rng_),
                   TransitionCompletedEvent(transition));
    }
    int day = -1;
    if (options.follow_up_day.has_value()) {
      day = *options.follow_up_day;
    } else if (s.follow_up_by != nullptr && rng_.Chance(s.follow_up_chance)) {
      // The discharge day (which FUH does not count), within a week, within
      // a month, or later.
      const size_t window = rng_.Weighted({10, 40, 32, 18});
      day = window == 0   ? 0
            : window == 1 ? rng_.Between(1, 7)
            : window == 2 ? rng_.Between(8, 30)
                          : rng_.Between(31, 45);
    }
    if (day >= 0 && s.follow_up_by != nullptr) {
      const absl::Time at =
          day == 0 ? discharge + absl::Minutes(rng_.Between(60, 300))
                   : OfficeHours(DayOf(discharge) + day, rng_);
      const Staff& provider =
          ProviderStaff(*s.follow_up_by, s.follow_up_category, rng_);
      const size_t contact = rng_.Weighted({55, 20, 15, 10});
      const v1::ContactKind kind = contact == 0   ? v1::CONTACT_KIND_IN_PERSON
                                   : contact == 1 ? v1::CONTACT_KIND_TELEHEALTH
                                   : contact == 2 ? v1::CONTACT_KIND_PHONE
                                                  : v1::CONTACT_KIND_HOME_VISIT;
      history_.Add(at, provider,
                   FollowUpEvent(history_.NewId("fu"), transition, admission_id,
                                 kind, provider));
    }
    return StayResult{admission_id, transition, discharge};
  }

  // Any hour of a day (admissions happen at night too).
  absl::Time AnyHour(absl::CivilDay day) {
    return StartOf(day) + absl::Hours(rng_.Between(0, 23)) +
           absl::Minutes(rng_.Between(0, 59));
  }

  // The stays of a client with a MeasureCase, at Mercy, followed up by
  // Harbor (a behavioural-health organisation: FUH's mental-health provider).
  void MeasureCaseStays() {
    const Org* mercy = &OrgById(kMercy);
    const Org* harbor = &OrgById(kHarbor);
    const absl::CivilDay first = DayOf(t0_) + rng_.Between(3, 30);
    const StaySpec psych{mercy,
                         v1::LEVEL_OF_CARE_INPATIENT,
                         rng_.Between(4, 14),
                         harbor,
                         v1::LEVEL_OF_CARE_OUTPATIENT,
                         v1::DISCHARGE_DISPOSITION_HOME,
                         1.0,
                         0.0,
                         harbor,
                         v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                         v1::SERVICE_CATEGORY_MENTAL_HEALTH};
    StaySpec ed = psych;
    ed.level = v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT;
    ed.days = 0;
    ed.plan_chance = 0.0;
    switch (measure_case_) {
      case MeasureCase::kNone:
        break;
      case MeasureCase::kFollowUpWithin7Days:
        Stay(AnyHour(first), psych, "", StayOptions{rng_.Between(1, 7), true});
        break;
      case MeasureCase::kDischargeDayThenLate: {
        const StayResult stay = Stay(AnyHour(first), psych, "",
                                     StayOptions{rng_.Between(8, 30), true});
        // The hospital's social worker phones the client that evening.
        const Staff& social_worker = StaffById("mercy.nguyen");
        history_.Add(stay.discharge + absl::Minutes(rng_.Between(30, 120)),
                     social_worker,
                     FollowUpEvent(history_.NewId("fu"), stay.transition_id,
                                   stay.admission_id, v1::CONTACT_KIND_PHONE,
                                   social_worker));
        break;
      }
      case MeasureCase::kNoFollowUp:
        Stay(AnyHour(first), psych, "", StayOptions{-1, false});
        break;
      case MeasureCase::kReadmitted: {
        const StayResult stay =
            Stay(AnyHour(first), psych, "", StayOptions{-1, true});
        StaySpec again = psych;
        again.days = rng_.Between(3, 10);
        const absl::Time readmitted =
            AnyHour(DayOf(stay.discharge) + rng_.Between(3, 25));
        Stay(readmitted, again, "", StayOptions{rng_.Between(1, 7), true});
        break;
      }
      case MeasureCase::kEdFollowedUpSameDay:
        Stay(AnyHour(first), ed, "", StayOptions{0, std::nullopt});
        break;
      case MeasureCase::kEdFollowedUpLate:
        Stay(AnyHour(first), ed, "",
             StayOptions{rng_.Between(8, 28), std::nullopt});
        break;
    }
  }

  void Stays() {
    if (measure_case_ != MeasureCase::kNone) {
      MeasureCaseStays();
      return;
    }
    const Org* mercy = &OrgById(kMercy);
    const Org* eastside = &OrgById(kEastside);
    const Org* harbor = &OrgById(kHarbor);
    const Org* newdawn = &OrgById(kNewDawn);
    const Org* cityhome = &OrgById(kCityHome);
    const Org* homecare = &OrgById(kHomeCare);
    const absl::CivilDay first = DayOf(t0_) + rng_.Between(3, 150);
    // `category`: the visit's primary need, and the follow-up's.
    const auto ed_visit = [&](absl::CivilDay day, const Org* follow_up,
                              v1::ServiceCategory category) {
      return Stay(
          AnyHour(day),
          StaySpec{mercy, v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT, 0, follow_up,
                   v1::LEVEL_OF_CARE_OUTPATIENT, v1::DISCHARGE_DISPOSITION_HOME,
                   0.2, 0.5, follow_up, category, category});
    };
    switch (persona_->kind) {
      case Kind::kMentalIllness:
        if (rng_.Chance(0.4)) {
          const StaySpec psych{mercy,
                               v1::LEVEL_OF_CARE_INPATIENT,
                               rng_.Between(4, 14),
                               harbor,
                               v1::LEVEL_OF_CARE_OUTPATIENT,
                               v1::DISCHARGE_DISPOSITION_HOME,
                               0.85,
                               0.65,
                               harbor,
                               v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                               v1::SERVICE_CATEGORY_MENTAL_HEALTH};
          const absl::Time out = Stay(AnyHour(first), psych).discharge;
          if (rng_.Chance(0.1)) {  // readmitted within 30 days
            StaySpec again = psych;
            again.days = rng_.Between(3, 10);
            again.plan_chance = 0.5;
            Stay(AnyHour(DayOf(out) + rng_.Between(3, 28)), again);
          }
        } else if (rng_.Chance(0.5)) {
          ed_visit(first, harbor, v1::SERVICE_CATEGORY_MENTAL_HEALTH);
        }
        break;
      case Kind::kSubstanceUse:
        if (rng_.Chance(0.45)) {
          const bool against_advice = rng_.Chance(0.15);
          const StaySpec detox{
              newdawn,
              v1::LEVEL_OF_CARE_DETOX,
              rng_.Between(4, 7),
              newdawn,
              v1::LEVEL_OF_CARE_RESIDENTIAL,
              against_advice ? v1::DISCHARGE_DISPOSITION_AGAINST_MEDICAL_ADVICE
                             : v1::DISCHARGE_DISPOSITION_TRANSFER,
              against_advice ? 0.3 : 0.9,
              against_advice ? 0.3 : 0.0,
              newdawn,
              v1::SERVICE_CATEGORY_SUBSTANCE_USE,
              v1::SERVICE_CATEGORY_SUBSTANCE_USE};
          const absl::Time out = Stay(AnyHour(first), detox).discharge;
          if (!against_advice) {
            const bool to_harbor = rng_.Chance(0.4);
            const StaySpec residential{
                newdawn,
                v1::LEVEL_OF_CARE_RESIDENTIAL,
                rng_.Between(21, 30),
                to_harbor ? harbor : newdawn,
                to_harbor ? v1::LEVEL_OF_CARE_OUTPATIENT
                          : v1::LEVEL_OF_CARE_INTENSIVE_OUTPATIENT,
                v1::DISCHARGE_DISPOSITION_HOME,
                0.85,
                0.7,
                to_harbor ? harbor : newdawn,
                to_harbor ? v1::SERVICE_CATEGORY_MENTAL_HEALTH
                          : v1::SERVICE_CATEGORY_SUBSTANCE_USE,
                v1::SERVICE_CATEGORY_SUBSTANCE_USE};
            Stay(out + absl::Minutes(rng_.Between(60, 240)), residential);
          }
        } else if (rng_.Chance(0.55)) {
          ed_visit(first, newdawn, v1::SERVICE_CATEGORY_SUBSTANCE_USE);
        }
        break;
      case Kind::kHomeless:
      case Kind::kDomesticViolence: {
        if (rng_.Chance(0.5)) {
          const bool homeless = persona_->kind == Kind::kHomeless;
          const StaySpec shelter{
              cityhome,
              v1::LEVEL_OF_CARE_SHELTER,
              homeless ? rng_.Between(20, 90) : rng_.Between(14, 60),
              cityhome,
              v1::LEVEL_OF_CARE_COMMUNITY,
              rng_.Chance(0.6) ? v1::DISCHARGE_DISPOSITION_HOME
                               : v1::DISCHARGE_DISPOSITION_OTHER,
              0.7,
              0.5,
              cityhome,
              v1::SERVICE_CATEGORY_HOUSING,
              homeless ? v1::SERVICE_CATEGORY_HOUSING
                       : v1::SERVICE_CATEGORY_SAFETY};
          Stay(OfficeHours(first, rng_), shelter);
        }
        if (rng_.Chance(0.3))
          ed_visit(first + rng_.Between(95, 200), eastside,
                   v1::SERVICE_CATEGORY_HEALTH_CARE);
        break;
      }
      case Kind::kFrailElder:
        if (rng_.Chance(0.55)) {
          const StaySpec medical{mercy,
                                 v1::LEVEL_OF_CARE_INPATIENT,
                                 rng_.Between(3, 10),
                                 homecare,
                                 v1::LEVEL_OF_CARE_HOME,
                                 v1::DISCHARGE_DISPOSITION_HOME_WITH_SERVICES,
                                 0.85,
                                 0.7,
                                 eastside,
                                 v1::SERVICE_CATEGORY_HEALTH_CARE,
                                 v1::SERVICE_CATEGORY_HEALTH_CARE};
          const absl::Time out = Stay(AnyHour(first), medical).discharge;
          if (rng_.Chance(0.15)) {  // unplanned readmission within 30 days
            StaySpec again = medical;
            again.days = rng_.Between(2, 8);
            Stay(AnyHour(DayOf(out) + rng_.Between(2, 29)), again);
          }
        }
        break;
      case Kind::kReentry: {
        const Org* court = &OrgById(kCourt);
        const StaySpec release{&OrgById(kCorrections),
                               v1::LEVEL_OF_CARE_INCARCERATION,
                               rng_.Between(14, 60),
                               court,
                               v1::LEVEL_OF_CARE_COMMUNITY,
                               v1::DISCHARGE_DISPOSITION_HOME,
                               0.9,
                               0.85,
                               court,
                               v1::SERVICE_CATEGORY_PROBATION_PAROLE,
                               v1::SERVICE_CATEGORY_PROBATION_PAROLE};
        // The stay's length counts from the reentry case opening.
        Stay(t0_, release, incarceration_);
        break;
      }
      case Kind::kChild:
        if (rng_.Chance(0.1))
          ed_visit(first, eastside, v1::SERVICE_CATEGORY_HEALTH_CARE);
        break;
      case Kind::kImmigrant:
        if (rng_.Chance(0.1))
          ed_visit(first, eastside, v1::SERVICE_CATEGORY_HEALTH_CARE);
        break;
      case Kind::kChronicIllness:
        if (rng_.Chance(0.35)) {
          Stay(AnyHour(first),
               StaySpec{mercy, v1::LEVEL_OF_CARE_INPATIENT, rng_.Between(2, 8),
                        eastside, v1::LEVEL_OF_CARE_OUTPATIENT,
                        v1::DISCHARGE_DISPOSITION_HOME, 0.75, 0.65, eastside,
                        v1::SERVICE_CATEGORY_HEALTH_CARE,
                        v1::SERVICE_CATEGORY_HEALTH_CARE});
        } else if (rng_.Chance(0.4)) {
          ed_visit(first, eastside, v1::SERVICE_CATEGORY_HEALTH_CARE);
        }
        break;
    }
  }

  // The same client enrolled in one kind of service at two providers at once.
  void OverlappingServices() {
    if (!ForcedOverlap(index_) && !rng_.Chance(0.06)) return;
    std::vector<v1::ServiceCategory> candidates;
    for (const Need& need : needs_) {
      if (Providers(need.category, "").size() >= 2)
        candidates.push_back(need.category);
    }
    if (candidates.empty()) candidates.push_back(v1::SERVICE_CATEGORY_FOOD);
    const v1::ServiceCategory category = rng_.Pick(candidates);
    std::vector<const Org*> providers = Providers(category, "");
    const size_t a = rng_.Below(providers.size());
    size_t b = rng_.Below(providers.size() - 1);
    if (b >= a) ++b;
    const absl::Time first_start = Later(t0_, 5, 60);
    const size_t first = StartService(
        *providers[a], ProviderStaff(*providers[a], category, rng_), category,
        first_start, "");
    // Sometimes the second provider starts the same day (NCCI-style
    // same-day services), usually days later.
    const absl::Time second_start =
        rng_.Chance(0.3) ? Later(first_start, 0, 0) : Later(first_start, 3, 20);
    StartService(*providers[b], ProviderStaff(*providers[b], category, rng_),
                 category, second_start, "");
    if (rng_.Chance(0.6)) {
      EndService(first, Later(second_start, 20, 90),
                 "Client now served by another provider");
    }
  }

  // A provider announces that a service will stop; a successor or a gap.
  void Interruption() {
    if (!rng_.Chance(0.06)) return;
    for (size_t i = 0; i < services_.size(); ++i) {
      if (services_[i].end != absl::InfiniteFuture()) continue;
      static const auto* const reasons = new std::vector<std::string>{
          "Programme funding ends",
          "Clinician leaving; caseload being reassigned",
          "Provider closing this site"};
      const Org& provider = *services_[i].provider;
      const v1::ServiceCategory category = services_[i].category;
      const absl::Time at = Later(services_[i].start, 20, 60);
      const absl::Time expected =
          OfficeHours(DayOf(at) + rng_.Between(14, 30), rng_);
      history_.Add(
          at, ProviderStaff(provider, category, rng_),
          InterruptionEvent(services_[i].id, expected, rng_.Pick(*reasons)));
      EndService(i, expected, "Service ended as notified");
      std::vector<const Org*> others = Providers(category, provider.id);
      if (!others.empty() && rng_.Chance(0.6)) {
        const Org& next = *rng_.Pick(others);
        StartService(
            next, ProviderStaff(next, category, rng_), category,
            std::max(at + absl::Hours(1), expected - Days(rng_.Between(0, 3))),
            "");
      }
      return;
    }
  }

  void Correction() {
    if (!rng_.Chance(0.08)) return;
    history_.Add(Later(t0_, 20, 200), *lead_,
                 PhoneCorrectedEvent(
                     absl::StrFormat("+1-541-555-%04d", rng_.Below(10000)),
                     "Client reported a new phone number"));
  }

  void TeamChanges() {
    if (!rng_.Chance(0.12)) return;
    for (Member& member : team_) {
      if (member.lead) continue;
      member.removed = Later(member.added, 30, 150);
      static const auto* const reasons = new std::vector<std::string>{
          "Service completed; no longer on the team",
          "Staff member changed roles", "Client asked for another worker"};
      history_.Add(
          member.removed, *lead_,
          MemberRemovedEvent(member.staff->user_id, rng_.Pick(*reasons)));
      return;
    }
  }

  void Meetings() {
    static const auto* const decisions = new std::vector<std::string>{
        "Continue the current plan; review in 30 days",
        "Lead case manager to chase the unanswered referral",
        "Client to bring ID documents to the next appointment",
        "Increase check-ins to weekly",
        "Coordinate transport for medical appointments",
        "Share the discharge summary with the outpatient provider (consent on "
        "file)",
        "Two agencies offer the same service: agree who leads",
        "Client asked to slow down; fewer appointments this month"};
    const int count = rng_.Between(0, 3);
    absl::Time at = Later(t0_, 21, 45);
    for (int i = 0; i < count; ++i) {
      if (i > 0) at = Later(at, 28, 56);
      std::vector<std::string> attendees;
      for (const Member& m : team_) {
        if (m.added < at && at < m.removed)
          attendees.push_back(m.staff->user_id);
      }
      const size_t first = rng_.Below(decisions->size());
      const size_t second =
          (first + 1 + rng_.Below(decisions->size() - 1)) % decisions->size();
      history_.Add(
          at, *lead_,
          MeetingEvent(history_.NewId("mtg"), attendees, rng_.Chance(0.6),
                       {(*decisions)[first], (*decisions)[second]},
                       DayOf(at) + 30));
    }
  }

  void Closure() {
    if (!rng_.Chance(0.25) || measure_case_ != MeasureCase::kNone) return;
    const absl::Time at = Later(history_.latest(), 5, 40);
    for (size_t i = 0; i < services_.size(); ++i) {
      EndService(i, at - absl::Minutes(30), "Case closed");
    }
    for (const Referral& referral : referrals_) {
      if (referral.outcome == Outcome::kRequested ||
          referral.outcome == Outcome::kAccepted ||
          referral.outcome == Outcome::kOnHold ||
          referral.outcome == Outcome::kInProgress) {
        history_.Add(
            at - absl::Minutes(20), *lead_,
            ReferralStepEvent(Step::kCancel, referral.id, "Case closed"));
      }
    }
    const size_t which = rng_.Weighted({40, 15, 20, 10, 15});
    static const auto* const notes = new std::vector<std::string>{
        "Goals met; client agrees to close", "Client moved out of the county",
        "No contact for 60 days despite 3 attempts",
        "Client declined further services",
        "Transferred to another agency's case management"};
    const v1::CaseClosureReason reasons[] = {
        v1::CASE_CLOSURE_REASON_GOALS_MET, v1::CASE_CLOSURE_REASON_MOVED,
        v1::CASE_CLOSURE_REASON_LOST_CONTACT, v1::CASE_CLOSURE_REASON_DECLINED,
        v1::CASE_CLOSURE_REASON_TRANSFERRED};
    history_.Add(at, *lead_, CaseClosedEvent(reasons[which], (*notes)[which]));
    if (rng_.Chance(0.15)) {
      const absl::Time reopened = Later(at, 15, 120);
      history_.Add(reopened, *lead_,
                   CaseReopenedEvent("Client returned asking for help again"));
      const Need& need = needs_.front();
      const CategoryText text = TextFor(need.category);
      history_.Add(Later(reopened, 0, 3), *lead_,
                   AssessmentEvent(history_.NewId("asm"),
                                   {Domain(need.category, need.level,
                                           text.strengths, text.risks)}));
    }
  }

  // A near-duplicate of `p`, as another agency would type it.
  Person Variant(const Person& p) {
    Person v = p;
    int changes = 0;
    const std::string nickname = Nickname(p.given);
    if (!nickname.empty() && rng_.Chance(0.5)) {
      v.given = nickname;
      ++changes;
    }
    if (rng_.Chance(0.4)) {
      v.family = Typo(v.family);
      ++changes;
    }
    if (rng_.Chance(0.4)) {
      if (p.birth.day() <= 12 && p.birth.day() != p.birth.month() &&
          rng_.Chance(0.5)) {
        v.birth =
            absl::CivilDay(p.birth.year(), p.birth.day(), p.birth.month());
      } else {
        v.birth = p.birth + 1;
      }
      ++changes;
    }
    if (!p.phone.empty() && rng_.Chance(0.3)) {
      v.phone.back() = static_cast<char>('0' + (v.phone.back() - '0' + 1) % 10);
      ++changes;
    }
    if (changes == 0) v.family = Typo(v.family);
    if (!v.middle.empty())
      v.middle = rng_.Chance(0.5) ? "" : v.middle.substr(0, 1);
    return v;
  }

  std::string Typo(std::string name) {
    if (name.size() < 4) return name + name.back();
    const size_t i = 1 + rng_.Below(name.size() - 2);
    switch (rng_.Below(3)) {
      case 0:
        std::swap(name[i], name[i + 1]);
        break;
      case 1:
        name.erase(i, 1);
        break;
      default:
        name.insert(i, 1, name[i]);
        break;
    }
    return name;
  }

  // The same person registered again by another agency, and sometimes linked.
  void Twin(std::vector<PlannedCommand>* out) {
    std::vector<std::string> candidates;
    for (const char* id : {kMercy, kCityHome, kEastside, kCommunity}) {
      if (id != intake_->id) candidates.push_back(id);
    }
    const Org& org = OrgById(rng_.Pick(candidates));
    const Staff& by = Coordinator(org, rng_);
    const std::string primary = SyntheticClientId(seed_, index_);
    History twin(TwinClientId(seed_, index_), cutoff_);
    absl::CivilDay day = DayOf(t0_) + rng_.Between(-60, 120);
    if (day > DayOf(cutoff_) - 3) day = DayOf(cutoff_) - rng_.Between(3, 10);
    const absl::Time at = OfficeHours(day, rng_);
    twin.Add(at, by,
             ClientRegisteredEvent(Variant(person_), org,
                                   absl::StrFormat("%s%07d", org.id_prefix,
                                                   rng_.Below(10000000))));
    if (org.id == kCityHome || org.id == kCommunity) {
      // An agency intake opens a case with its own lead case manager (or
      // leaves the lead to the next allocation meeting: an open case without
      // a lead); a hospital or clinic registration does not.
      twin.Add(at + absl::Minutes(10), by,
               CaseOpenedEvent(
                   absl::StrCat("Registered at ", org.name,
                                "; no existing record found at intake")));
      if (rng_.Chance(0.6)) {
        twin.Add(at + absl::Minutes(15), by,
                 MemberAddedEvent(by, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
      }
    }
    if (org.id == kMercy) {
      const Staff& nurse =
          ProviderStaff(org, v1::SERVICE_CATEGORY_HEALTH_CARE, rng_);
      twin.Add(at + absl::Minutes(20), nurse,
               AdmissionEvent("adm-1", org.id,
                              v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT,
                              v1::SERVICE_CATEGORY_HEALTH_CARE));
      twin.Add(at + absl::Hours(rng_.Between(3, 8)), nurse,
               DischargeEvent("adm-1", v1::DISCHARGE_DISPOSITION_HOME));
    } else if (org.id == kEastside) {
      twin.Add(
          at + absl::Hours(1), by,
          AssessmentEvent(
              "asm-1",
              {Domain(v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_MODERATE,
                      "", "New patient; no records from other providers")}));
    } else {
      const v1::ServiceCategory category = org.id == kCityHome
                                               ? v1::SERVICE_CATEGORY_HOUSING
                                               : v1::SERVICE_CATEGORY_FOOD;
      twin.Add(at + absl::Hours(1), ProviderStaff(org, category, rng_),
               ServiceStartedEvent("svc-1", org.id, category,
                                   TextFor(category).level, ""));
    }
    if (rng_.Chance(0.5)) {
      // The primary record's lead case manager links them: linking needs a
      // part in both records (docs/access.md), and the twin's agency brings
      // them onto the twin's team first (InviteAuthors).
      twin.Add(Later(at, 3, 60), *lead_,
               RecordsLinkedEvent(
                   primary,
                   absl::StrCat("Same person as client ", primary,
                                ": name, birth date and phone match closely; "
                                "confirmed with the client")));
    }
    twin.AppendCommands(out);
  }

  const uint64_t seed_;
  const int index_;
  const absl::Time cutoff_;
  Rng rng_;
  History history_;
  const MeasureCase measure_case_;
  const Persona* persona_ = nullptr;
  Person person_;
  const Org* intake_ = nullptr;
  const Staff* lead_ = nullptr;
  absl::Time t0_;              // the case opens
  absl::Time assessed_;        // the first assessment
  std::string incarceration_;  // reentry: the admission to release from
  std::vector<Need> needs_;
  std::vector<Consent> consents_;
  std::vector<Member> team_;
  std::vector<Service> services_;
  std::vector<Referral> referrals_;
};

// ============================================================================
// Jobs: one scenario, or one synthetic client and its twin
// ============================================================================

// Jobs 0..5 are the six scenarios, job 6 the twins example.
constexpr int kNamedJobs = 7;

struct Job {
  std::vector<PlannedCommand> commands;
  int64_t scenario_clients = 0;
  int64_t example_clients = 0;
  int64_t duplicates = 0;
};

Job PlanJob(int job, uint64_t seed, absl::Time cutoff) {
  Job out;
  switch (job) {
    case 0:
      ReentryScenario(cutoff, &out.commands);
      out.scenario_clients = 1;
      return out;
    case 1:
      StrokeScenario(cutoff, &out.commands);
      out.scenario_clients = 1;
      return out;
    case 2:
      OlderCoupleScenario(cutoff, &out.commands);
      out.scenario_clients = 2;
      return out;
    case 3:
      DisplacedFamilyScenario(cutoff, &out.commands);
      out.scenario_clients = 3;
      return out;
    case 4:
      FosterScenario(cutoff, &out.commands);
      out.scenario_clients = 2;
      return out;
    case 5:
      VeteranScenario(cutoff, &out.commands);
      out.scenario_clients = 1;
      return out;
    case 6:
      TwinsExample(cutoff, &out.commands);
      out.example_clients = 2;
      return out;
    default:
      break;
  }
  SyntheticClient client(seed, job - kNamedJobs + 1, cutoff);
  out.duplicates = client.Plan(&out.commands) - 1;
  return out;
}

// ============================================================================
// Sending commands
// ============================================================================

const google::protobuf::Message& EventPayload(const v1::CareEvent& event) {
  const google::protobuf::OneofDescriptor* oneof =
      v1::CareEvent::descriptor()->FindOneofByName("event");
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return event.GetReflection()->GetMessage(event, field);
}

// Sends PlannedCommands through the caseline.v1 command services. One per
// thread: the stubs share the channel.
class Sender {
 public:
  Sender(const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout)
      : timeout_(timeout),
        organizations_(v1::Organizations::NewStub(channel)),
        clients_(v1::Clients::NewStub(channel)),
        consents_(v1::Consents::NewStub(channel)),
        plans_(v1::Plans::NewStub(channel)),
        referrals_(v1::Referrals::NewStub(channel)),
        services_(v1::Services::NewStub(channel)),
        care_teams_(v1::CareTeams::NewStub(channel)),
        transitions_(v1::Transitions::NewStub(channel)) {}

  // The server's result, or its refusal with a message naming the command.
  absl::StatusOr<v1::CommandResult> Send(const PlannedCommand& c) {
    using E = v1::CareEvent;
    switch (c.event.event_case()) {
      case E::kOrganizationRegistered:
        return Call(*organizations_,
                    &v1::Organizations::Stub::RegisterOrganization,
                    "Organizations.RegisterOrganization", c);
      case E::kOrganizationUpdated:
        return Call(*organizations_,
                    &v1::Organizations::Stub::UpdateOrganization,
                    "Organizations.UpdateOrganization", c);
      case E::kClientRegistered:
        return Call(*clients_, &v1::Clients::Stub::RegisterClient,
                    "Clients.RegisterClient", c);
      case E::kClientDetailsCorrected:
        return Call(*clients_, &v1::Clients::Stub::CorrectClientDetails,
                    "Clients.CorrectClientDetails", c);
      case E::kClientRecordsLinked:
        return Call(*clients_, &v1::Clients::Stub::LinkClientRecords,
                    "Clients.LinkClientRecords", c);
      case E::kClientRecordsUnlinked:
        return Call(*clients_, &v1::Clients::Stub::UnlinkClientRecords,
                    "Clients.UnlinkClientRecords", c);
      case E::kCaseOpened:
        return Call(*clients_, &v1::Clients::Stub::OpenCase, "Clients.OpenCase",
                    c);
      case E::kCaseClosed:
        return Call(*clients_, &v1::Clients::Stub::CloseCase,
                    "Clients.CloseCase", c);
      case E::kCaseReopened:
        return Call(*clients_, &v1::Clients::Stub::ReopenCase,
                    "Clients.ReopenCase", c);
      case E::kDuplicateDismissed:
        return Call(*clients_, &v1::Clients::Stub::DismissDuplicate,
                    "Clients.DismissDuplicate", c);
      case E::kInformationDisclosed:
        return Call(*consents_, &v1::Consents::Stub::RecordDisclosure,
                    "Consents.RecordDisclosure", c);
      case E::kConsentGiven:
        return Call(*consents_, &v1::Consents::Stub::GiveConsent,
                    "Consents.GiveConsent", c);
      case E::kConsentRevoked:
        return Call(*consents_, &v1::Consents::Stub::RevokeConsent,
                    "Consents.RevokeConsent", c);
      case E::kAssessmentRecorded:
        return Call(*plans_, &v1::Plans::Stub::RecordAssessment,
                    "Plans.RecordAssessment", c);
      case E::kGoalSet:
        return Call(*plans_, &v1::Plans::Stub::SetGoal, "Plans.SetGoal", c);
      case E::kGoalProgressRecorded:
        return Call(*plans_, &v1::Plans::Stub::RecordGoalProgress,
                    "Plans.RecordGoalProgress", c);
      case E::kGoalStatusChanged:
        return Call(*plans_, &v1::Plans::Stub::ChangeGoalStatus,
                    "Plans.ChangeGoalStatus", c);
      case E::kReferralSent:
        return Call(*referrals_, &v1::Referrals::Stub::SendReferral,
                    "Referrals.SendReferral", c);
      case E::kReferralAccepted:
        return Call(*referrals_, &v1::Referrals::Stub::AcceptReferral,
                    "Referrals.AcceptReferral", c);
      case E::kReferralDeclined:
        return Call(*referrals_, &v1::Referrals::Stub::DeclineReferral,
                    "Referrals.DeclineReferral", c);
      case E::kReferralOnHold:
        return Call(*referrals_, &v1::Referrals::Stub::PutReferralOnHold,
                    "Referrals.PutReferralOnHold", c);
      case E::kReferralStarted:
        return Call(*referrals_, &v1::Referrals::Stub::StartReferral,
                    "Referrals.StartReferral", c);
      case E::kReferralCompleted:
        return Call(*referrals_, &v1::Referrals::Stub::CompleteReferral,
                    "Referrals.CompleteReferral", c);
      case E::kReferralFailed:
        return Call(*referrals_, &v1::Referrals::Stub::FailReferral,
                    "Referrals.FailReferral", c);
      case E::kReferralCancelled:
        return Call(*referrals_, &v1::Referrals::Stub::CancelReferral,
                    "Referrals.CancelReferral", c);
      case E::kServiceStarted:
        return Call(*services_, &v1::Services::Stub::StartService,
                    "Services.StartService", c);
      case E::kServiceEnded:
        return Call(*services_, &v1::Services::Stub::EndService,
                    "Services.EndService", c);
      case E::kServiceInterruptionNotified:
        return Call(*services_, &v1::Services::Stub::NotifyServiceInterruption,
                    "Services.NotifyServiceInterruption", c);
      case E::kCareTeamMemberAdded:
        return Call(*care_teams_, &v1::CareTeams::Stub::AddCareTeamMember,
                    "CareTeams.AddCareTeamMember", c);
      case E::kCareTeamMemberRemoved:
        return Call(*care_teams_, &v1::CareTeams::Stub::RemoveCareTeamMember,
                    "CareTeams.RemoveCareTeamMember", c);
      case E::kTeamMeetingHeld:
        return Call(*care_teams_, &v1::CareTeams::Stub::RecordTeamMeeting,
                    "CareTeams.RecordTeamMeeting", c);
      case E::kAdmissionRecorded:
        return Call(*transitions_, &v1::Transitions::Stub::RecordAdmission,
                    "Transitions.RecordAdmission", c);
      case E::kTransitionPlanned:
        return Call(*transitions_, &v1::Transitions::Stub::PlanTransition,
                    "Transitions.PlanTransition", c);
      case E::kDischargeRecorded:
        return Call(*transitions_, &v1::Transitions::Stub::RecordDischarge,
                    "Transitions.RecordDischarge", c);
      case E::kTransitionCompleted:
        return Call(*transitions_, &v1::Transitions::Stub::CompleteTransition,
                    "Transitions.CompleteTransition", c);
      case E::kFollowUpCompleted:
        return Call(*transitions_, &v1::Transitions::Stub::RecordFollowUp,
                    "Transitions.RecordFollowUp", c);
      case E::kRecordAccessed:  // written by the server, never planned
      case E::kBreakGlassReviewed:
      case E::EVENT_NOT_SET:
        break;
    }
    return absl::InternalError(
        absl::StrCat("demo command ", c.command_id, " carries no event"));
  }

 private:
  // Fields 1 (command_id), 2 (client_id, absent for organisation commands),
  // 3 (occurred_at) and 4 (the event) are the same in every command request.
  template <typename Stub, typename Request>
  absl::StatusOr<v1::CommandResult> Call(
      Stub& stub,
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   v1::CommandResult*),
      const char* rpc, const PlannedCommand& c) {
    Request request;
    request.set_command_id(c.command_id);
    if constexpr (requires(Request & r) { r.set_client_id(std::string()); }) {
      request.set_client_id(c.client_id);
    }
    SetTime(c.occurred_at, request.mutable_occurred_at());
    request.GetReflection()
        ->MutableMessage(&request, Request::descriptor()->FindFieldByNumber(4))
        ->CopyFrom(EventPayload(c.event));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    context.AddMetadata("x-caseline-org", c.organization_id);
    context.AddMetadata("x-caseline-user", c.user_id);
    v1::CommandResult result;
    const grpc::Status status = (stub.*method)(&context, request, &result);
    if (status.ok()) return result;
    return absl::Status(
        static_cast<absl::StatusCode>(status.error_code()),
        absl::StrCat(c.client_id.empty() ? "the organisation directory"
                                         : absl::StrCat("client ", c.client_id),
                     ": command ", c.command_id, " (", rpc, ", ",
                     EventPayload(c.event).GetDescriptor()->name(),
                     ", acting as ", c.organization_id, " / ", c.user_id,
                     ", occurred_at ",
                     absl::FormatTime(absl::RFC3339_sec, c.occurred_at,
                                      absl::UTCTimeZone()),
                     ") failed: ", status.error_message()));
  }

  const absl::Duration timeout_;
  std::unique_ptr<v1::Organizations::Stub> organizations_;
  std::unique_ptr<v1::Clients::Stub> clients_;
  std::unique_ptr<v1::Consents::Stub> consents_;
  std::unique_ptr<v1::Plans::Stub> plans_;
  std::unique_ptr<v1::Referrals::Stub> referrals_;
  std::unique_ptr<v1::Services::Stub> services_;
  std::unique_ptr<v1::CareTeams::Stub> care_teams_;
  std::unique_ptr<v1::Transitions::Stub> transitions_;
};

void Count(const PlannedCommand& command, const v1::CommandResult& result,
           DemoSummary* summary) {
  ++summary->commands;
  if (result.already_applied()) {
    ++summary->already_applied;
  } else {
    summary->events_written += result.event_types_size();
  }
  for (const std::string& type : result.event_types())
    ++summary->events_by_type[type];
  if (command.event.has_client_registered()) ++summary->clients;
  if (command.event.has_organization_registered()) ++summary->organizations;
}

void Merge(const DemoSummary& from, DemoSummary* into) {
  into->organizations += from.organizations;
  into->clients += from.clients;
  into->scenario_clients += from.scenario_clients;
  into->example_clients += from.example_clients;
  into->duplicate_registrations += from.duplicate_registrations;
  into->commands += from.commands;
  into->events_written += from.events_written;
  into->already_applied += from.already_applied;
  for (const auto& [type, count] : from.events_by_type)
    into->events_by_type[type] += count;
}

}  // namespace

std::vector<std::string> ScenarioClientIds() {
  return {"scenario-reentry",
          "scenario-stroke",
          "scenario-older-couple-1",
          "scenario-older-couple-2",
          "scenario-displaced-family-parent",
          "scenario-displaced-family-child-1",
          "scenario-displaced-family-child-2",
          "scenario-foster-teen-1",
          "scenario-foster-teen-2",
          "scenario-veteran"};
}

std::vector<std::string> ExampleClientIds() {
  return {"example-twins-1", "example-twins-2"};
}

absl::Status ValidateDemoOptions(const DemoOptions& options, absl::Time now) {
  if (options.clients < 0 || options.clients > 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--clients ", options.clients, " is out of range; use 0 to 1000000"));
  }
  if (options.concurrency < 1 || options.concurrency > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--concurrency ", options.concurrency,
                     " is out of range; use 1 to 256"));
  }
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive");
  }
  if (options.base_date.year() < 2000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--base-date ", absl::FormatCivilTime(options.base_date),
                     " is too early; use a date in 2000 or later"));
  }
  if (StartOf(options.base_date) > now) {
    return absl::InvalidArgumentError(
        absl::StrCat("--base-date ", absl::FormatCivilTime(options.base_date),
                     " is in the future; every business time of the demo falls "
                     "before it, and the "
                     "server refuses times ahead of its clock. Use today or an "
                     "earlier date"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DemoSummary> RunDemo(std::shared_ptr<grpc::Channel> channel,
                                    const DemoOptions& options) {
  if (absl::Status valid = ValidateDemoOptions(options, absl::Now());
      !valid.ok())
    return valid;
  const absl::Time cutoff = StartOf(options.base_date);
  const absl::Time started = absl::Now();

  DemoSummary total;
  {
    Sender sender(channel, options.call_timeout);
    for (const PlannedCommand& command : OrganizationCommands(cutoff)) {
      absl::StatusOr<v1::CommandResult> result = sender.Send(command);
      if (!result.ok()) return result.status();
      Count(command, *result, &total);
    }
  }

  const int jobs = kNamedJobs + options.clients;
  int64_t expected_clients = static_cast<int64_t>(ScenarioClientIds().size() +
                                                  ExampleClientIds().size()) +
                             options.clients;
  for (int i = 1; i <= options.clients; ++i)
    expected_clients += HasTwin(i) ? 1 : 0;

  std::atomic<int> next_job{0};
  std::atomic<bool> stop{false};
  caseline::Mutex mu;
  absl::Status first_error;          // guarded by mu
  absl::Time last_report = started;  // guarded by mu
  auto report = [&](const DemoSummary& s, bool final) {
    if (!options.progress) return;
    const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
    options.progress(
        absl::StrFormat("demo: %s%d/%d clients, %d commands (%d events "
                        "written, %d already applied), "
                        "%.1f s, %.0f commands/s",
                        final ? "done: " : "", s.clients, expected_clients,
                        s.commands, s.events_written, s.already_applied,
                        seconds, seconds > 0 ? s.commands / seconds : 0.0));
  };

  auto worker = [&] {
    Sender sender(channel, options.call_timeout);
    while (!stop.load()) {
      const int job_index = next_job.fetch_add(1);
      if (job_index >= jobs) return;
      const Job job = PlanJob(job_index, options.seed, cutoff);
      DemoSummary done;
      done.scenario_clients = job.scenario_clients;
      done.example_clients = job.example_clients;
      done.duplicate_registrations = job.duplicates;
      for (const PlannedCommand& command : job.commands) {
        if (stop.load()) break;
        absl::StatusOr<v1::CommandResult> result = sender.Send(command);
        if (!result.ok()) {
          caseline::MutexLock lock(&mu);
          if (first_error.ok()) first_error = result.status();
          stop.store(true);
          break;
        }
        Count(command, *result, &done);
      }
      caseline::MutexLock lock(&mu);
      Merge(done, &total);
      if (absl::Now() - last_report >= absl::Seconds(1)) {
        last_report = absl::Now();
        report(total, false);
      }
    }
  };
  std::vector<std::thread> threads;
  const int thread_count = std::min(options.concurrency, jobs);
  threads.reserve(static_cast<size_t>(thread_count));
  for (int i = 0; i < thread_count; ++i) threads.emplace_back(worker);
  for (std::thread& thread : threads) thread.join();

  caseline::MutexLock lock(&mu);
  if (!first_error.ok()) return first_error;
  report(total, true);
  return total;
}

std::string DemoSummaryToJson(const DemoSummary& s) {
  std::string out = absl::StrCat(
      "{\"organizations\":", s.organizations, ",\"clients\":", s.clients,
      ",\"scenario_clients\":", s.scenario_clients,
      ",\"example_clients\":", s.example_clients,
      ",\"duplicate_registrations\":", s.duplicate_registrations,
      ",\"commands\":", s.commands, ",\"events_written\":", s.events_written,
      ",\"already_applied\":", s.already_applied, ",\"events_by_type\":{");
  bool first = true;
  for (const auto& [type, count] : s.events_by_type) {
    // Event types are protobuf message names: no character needs escaping.
    absl::StrAppend(&out, first ? "" : ",", "\"", type, "\":", count);
    first = false;
  }
  out.append("}}");
  return out;
}

}  // namespace caseline::tools
