#include "tests/fuzz/care_world.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "care/care_decision.h"
#include "care/command_catalog.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/event_log.pb.h"
#include "google/protobuf/text_format.h"

namespace caseline::fuzz {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;

// 2026-01-05, and the consent k1's start. The world's "now" is a month later.
constexpr int64_t kT0Seconds = 1'767'600'000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "care_world: %s\n", what.c_str());
  std::abort();
}

template <typename M>
M ParseText(const std::string& text) {
  M message;
  if (!google::protobuf::TextFormat::ParseFromString(text, &message)) {
    Die(absl::StrCat("bad text proto: ", text));
  }
  return message;
}

struct Step {
  const char* organization;
  const char* client;  // empty for organisation commands
  std::string event;   // v1::CareEvent in text format
};

std::vector<Step> Scenario() {
  const std::string t0 = absl::StrCat("{ seconds: ", kT0Seconds, " }");
  return {
      {"org-hospital", "",
       R"(organization_registered { organization_id: "org-hospital" name: "General Hospital" type: ORGANIZATION_TYPE_HOSPITAL })"},
      {"org-housing", "",
       R"(organization_registered { organization_id: "org-housing" name: "Housing First" type: ORGANIZATION_TYPE_HOUSING service_categories: SERVICE_CATEGORY_HOUSING })"},
      {"org-bh", "",
       R"(organization_registered { organization_id: "org-bh" name: "Riverside BH" type: ORGANIZATION_TYPE_BEHAVIORAL_HEALTH service_categories: SERVICE_CATEGORY_MENTAL_HEALTH })"},
      {"org-sud", "",
       R"(organization_registered { organization_id: "org-sud" name: "Harbor SUD" type: ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT })"},
      {"org-hospital", "c1",
       R"(client_registered { name { given: "Ada" family: "Okafor" } birth_date { year: 1958 month: 3 day: 14 } sex: SEX_FEMALE phone: "555-0100" })"},
      {"org-hospital", "c1", R"(case_opened { reason: "intake" })"},
      {"org-hospital", "c1",
       absl::StrCat(
           R"(consent_given { consent_id: "k1" recipient_organization_ids: "org-housing" recipient_organization_ids: "org-bh" data_classes: DATA_CLASS_GENERAL data_classes: DATA_CLASS_HOUSING data_classes: DATA_CLASS_MENTAL_HEALTH purposes: PURPOSE_OF_USE_CARE_COORDINATION method: CONSENT_METHOD_SIGNED_FORM document { document_id: "form-k1" sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" } period { start )",
           t0, " } }")},
      {"org-hospital", "c1",
       R"(referral_sent { referral_id: "r1" from_organization_id: "org-hospital" to_organization_id: "org-housing" service_category: SERVICE_CATEGORY_HOUSING kind: REFERRAL_KIND_WARM urgency: URGENCY_ROUTINE shared_data_classes: DATA_CLASS_GENERAL })"},
      {"org-hospital", "c1",
       R"(referral_sent { referral_id: "r2" from_organization_id: "org-hospital" to_organization_id: "org-bh" service_category: SERVICE_CATEGORY_MENTAL_HEALTH kind: REFERRAL_KIND_WARM shared_data_classes: DATA_CLASS_MENTAL_HEALTH })"},
      {"org-bh", "c1", R"(referral_accepted { referral_id: "r2" })"},
      {"org-hospital", "c1",
       R"(goal_set { goal_id: "g1" domain: SERVICE_CATEGORY_HOUSING description: "stable housing" measure: "lease signed" target_date { year: 2026 month: 6 day: 1 } })"},
      {"org-hospital", "c1",
       R"(care_team_member_added { member_id: "m1" name { given: "Sam" family: "Lee" } organization_id: "org-hospital" discipline: DISCIPLINE_SOCIAL_WORK role: CARE_TEAM_ROLE_LEAD_CASE_MANAGER })"},
      {"org-hospital", "c1",
       R"(admission_recorded { admission_id: "a1" facility_organization_id: "org-hospital" level_of_care: LEVEL_OF_CARE_INPATIENT primary_need: SERVICE_CATEGORY_HEALTH_CARE })"},
      {"org-hospital", "c1",
       R"(transition_planned { transition_id: "t1" admission_id: "a1" from_level_of_care: LEVEL_OF_CARE_INPATIENT from_organization_id: "org-hospital" to_level_of_care: LEVEL_OF_CARE_OUTPATIENT to_organization_id: "org-bh" })"},
      {"org-bh", "c1",
       R"(service_started { service_id: "s1" provider_organization_id: "org-bh" category: SERVICE_CATEGORY_MENTAL_HEALTH level_of_care: LEVEL_OF_CARE_OUTPATIENT referral_id: "r2" })"},
      {"org-hospital", "c1",
       R"(assessment_recorded { assessment_id: "as1" domains { domain: SERVICE_CATEGORY_HOUSING need_level: NEED_LEVEL_HIGH risks: "eviction" } })"},
      {"org-hospital", "c2",
       R"(client_registered { name { given: "Ben" family: "Okafor" } birth_date { year: 1960 month: 7 day: 1 } })"},
      {"org-hospital", "c2", R"(case_opened { reason: "intake" })"},
      {"org-hospital", "c2", R"(case_closed { reason: CASE_CLOSURE_REASON_MOVED })"},
  };
}

CareWorld BuildWorld() {
  CareWorld world;
  const absl::Time t0 = absl::FromUnixSeconds(kT0Seconds);
  world.now = t0 + absl::Hours(24 * 30);
  uint64_t position = 0;
  uint64_t organizations_version = 0;
  int index = 0;
  for (const Step& step : Scenario()) {
    care::CareCommand command;
    command.command_id = absl::StrCat("setup-", index);
    command.client_id = step.client;
    command.organization_id = step.organization;
    command.user_id = "setup";
    command.occurred_at = t0 + absl::Minutes(index);
    command.event = ParseText<v1::CareEvent>(step.event);
    ++index;
    absl::Status valid = care::ValidateCareCommand(command, world.now);
    if (!valid.ok()) Die(absl::StrCat(step.event, ": ", valid.ToString()));
    care::CareEventContext context;
    context.occurred_at = command.occurred_at;
    context.recorded_at = command.occurred_at;
    context.organization_id = command.organization_id;
    context.user_id = command.user_id;
    if (command.client_id.empty()) {
      auto events =
          care::DecideOrganizationCommand(world.directory, command);
      if (!events.ok()) Die(absl::StrCat(step.event, ": ", events.status().ToString()));
      for (const v1::CareEvent& e : *events) {
        context.global_position = ++position;
        context.stream_version = organizations_version++;
        world.directory.Apply(e, context);
      }
      continue;
    }
    auto [it, inserted] = world.clients.try_emplace(
        command.client_id, care::ClientRecord(command.client_id));
    care::ClientRecord& record = it->second;
    auto events = care::DecideClientCommand(
        record, world.directory,
        [&world](absl::string_view id) {
          auto found = world.clients.find(std::string(id));
          return found != world.clients.end() && found->second.registered;
        },
        command);
    if (!events.ok()) Die(absl::StrCat(step.event, ": ", events.status().ToString()));
    for (const v1::CareEvent& e : *events) {
      context.global_position = ++position;
      context.stream_version =
          record.version.has_value() ? *record.version + 1 : 0;
      record.Apply(e, context);
    }
  }
  return world;
}

// One command of the seed corpus: a care event proposed about a client by a
// caller (CallerFor: 0 org-hospital, 1 org-housing, 2 org-bh, 3 admin). The
// request that carries it comes from care::NewCommandRequest.
struct CommandExample {
  int caller;
  const char* client_id;  // empty for organisation commands
  const char* event;      // v1::CareEvent in text format
};

constexpr CommandExample kCommandExamples[] = {
    {0, "c3",
     R"(client_registered { name { given: "Cy" family: "Diaz" } birth_date { year: 1990 month: 2 day: 28 } identifiers { organization_id: "org-hospital" system: "MRN" value: "123" } })"},
    {0, "c1",
     R"(client_details_corrected { phone: "555-0199" reason: "typo" })"},
    {0, "c1",
     R"(client_records_linked { other_client_id: "c2" reason: "same household" })"},
    {0, "c1",
     R"(client_records_unlinked { other_client_id: "c2" reason: "not linked" })"},
    {0, "c1", R"(case_opened { reason: "again" })"},
    {0, "c1",
     R"(case_closed { reason: CASE_CLOSURE_REASON_GOALS_MET note: "done" })"},
    {0, "c2", R"(case_reopened { reason: "returned" })"},
    {0, "c1",
     R"(duplicate_dismissed { finding_id: "duplicate-clients:c1:c2" reason: "different people" })"},
    {0, "c1",
     R"(consent_given { consent_id: "k2" recipient_organization_ids: "org-sud" data_classes: DATA_CLASS_SUBSTANCE_USE_PART2 purposes: PURPOSE_OF_USE_TREATMENT representative { name { given: "Eve" } authority: REPRESENTATIVE_AUTHORITY_GUARDIAN } method: CONSENT_METHOD_VERBAL_WITH_WITNESS witness { given: "Wes" family: "Tan" } document { document_id: "attestation-k2" sha256: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210" } })"},
    {0, "c1", R"(consent_revoked { consent_id: "k1" reason: "client asked" })"},
    {0, "c1",
     R"(information_disclosed { disclosure_id: "d1" recipient_organization_id: "org-housing" data_classes: DATA_CLASS_HOUSING purpose: PURPOSE_OF_USE_CARE_COORDINATION description: "housing history" consent_id: "k1" })"},
    {0, "c1",
     R"(assessment_recorded { assessment_id: "as2" domains { domain: SERVICE_CATEGORY_FOOD need_level: NEED_LEVEL_MODERATE strengths: "cooks" } })"},
    {0, "c1",
     R"(goal_set { goal_id: "g2" domain: SERVICE_CATEGORY_EMPLOYMENT description: "a job" measure: "hired" target_date { year: 2026 month: 6 day: 30 } })"},
    {0, "c1",
     R"(goal_progress_recorded { goal_id: "g1" note: "viewing" percent_achieved: 40 })"},
    {0, "c1",
     R"(goal_status_changed { goal_id: "g1" status: GOAL_STATUS_ACTIVE reason: "agreed" })"},
    {0, "c1",
     R"(referral_sent { referral_id: "r3" from_organization_id: "org-hospital" to_organization_id: "org-sud" service_category: SERVICE_CATEGORY_SUBSTANCE_USE kind: REFERRAL_KIND_COLD urgency: URGENCY_URGENT reason: "detox" purpose: PURPOSE_OF_USE_TREATMENT })"},
    {1, "c1", R"(referral_accepted { referral_id: "r1" })"},
    {1, "c1",
     R"(referral_declined { referral_id: "r1" reason: "no capacity" })"},
    {1, "c1", R"(referral_on_hold { referral_id: "r1" reason: "waitlist" })"},
    {2, "c1", R"(referral_started { referral_id: "r2" })"},
    {2, "c1",
     R"(referral_completed { referral_id: "r2" delivered: "counselling" })"},
    {2, "c1", R"(referral_failed { referral_id: "r2" reason: "no show" })"},
    {0, "c1", R"(referral_cancelled { referral_id: "r1" reason: "housed" })"},
    {1, "c1",
     R"(service_started { service_id: "s2" provider_organization_id: "org-housing" category: SERVICE_CATEGORY_HOUSING level_of_care: LEVEL_OF_CARE_COMMUNITY })"},
    {2, "c1", R"(service_ended { service_id: "s1" reason: "completed" })"},
    {2, "c1",
     R"(service_interruption_notified { service_id: "s1" expected_end { seconds: 1770000000 } reason: "funding" })"},
    {0, "c1",
     R"(care_team_member_added { member_id: "m2" name { given: "Kim" } organization_id: "org-bh" discipline: DISCIPLINE_PSYCHIATRY role: CARE_TEAM_ROLE_MEMBER })"},
    {0, "c1", R"(care_team_member_removed { member_id: "m1" reason: "left" })"},
    {0, "c1",
     R"(team_meeting_held { meeting_id: "mt1" attendee_member_ids: "m1" client_attended: true decisions: "apply for housing" next_review_date { year: 2026 month: 3 day: 1 } })"},
    {0, "c1",
     R"(admission_recorded { admission_id: "a2" facility_organization_id: "org-sud" level_of_care: LEVEL_OF_CARE_DETOX primary_need: SERVICE_CATEGORY_SUBSTANCE_USE })"},
    {0, "c1",
     R"(transition_planned { transition_id: "t2" from_level_of_care: LEVEL_OF_CARE_OUTPATIENT from_organization_id: "org-bh" to_level_of_care: LEVEL_OF_CARE_HOME to_organization_id: "org-housing" planned_date { year: 2026 month: 2 day: 10 } follow_up_due { year: 2026 month: 2 day: 17 } })"},
    {0, "c1",
     R"(discharge_recorded { admission_id: "a1" disposition: DISCHARGE_DISPOSITION_HOME_WITH_SERVICES })"},
    {0, "c1", R"(transition_completed { transition_id: "t1" })"},
    {2, "c1",
     R"(follow_up_completed { follow_up_id: "f1" transition_id: "t1" contact_kind: CONTACT_KIND_PHONE provider_organization_id: "org-bh" provider_discipline: DISCIPLINE_NURSING })"},
    {2, "c1",
     R"(admission_notification_received { notification_id: "n1" admission_id: "a1" })"},
    {2, "c1",
     R"(discharge_information_received { receipt_id: "i1" admission_id: "a1" })"},
    {2, "c1",
     R"(medication_reconciliation_recorded { reconciliation_id: "m1" admission_id: "a1" performer_discipline: DISCIPLINE_NURSING })"},
    {3, "",
     R"(organization_registered { organization_id: "org-legal" name: "Legal Aid" type: ORGANIZATION_TYPE_LEGAL_AID service_categories: SERVICE_CATEGORY_LEGAL })"},
    {0, "",
     R"(organization_updated { organization_id: "org-hospital" name: "General Hospital North" })"},
};

// One request to the event log, by its type's name.
struct LogExample {
  const char* type;
  int caller;
  const char* text;  // the request in text format
};

constexpr LogExample kLogExamples[] = {
    {"AppendRequest", 3,
     R"(stream_id: "client-c9" no_stream {} events { event_id: "0190f2a4-7c1e-7a3b-9d2e-1f2a3b4c5d6e" event_type: "NoteAdded" occurred_at { seconds: 1767600000 nanos: 5 } actor { organization_id: "org-hospital" user_id: "u1" role: "NURSING" } correlation_id: "cmd-9" content_type: "application/json" payload: "{\"note\":\"hi\"}" metadata { key: "source" value: "import" } })"},
    {"ReadStreamRequest", 3,
     R"(stream_id: "client-c1" from_version: 2 direction: BACKWARD max_count: 10)"},
    {"ReadAllRequest", 3,
     R"(from_position: 1 max_count: 50 filter { event_type_prefix: "Referral" stream_id_prefix: "client-" })"},
};

}  // namespace

const CareWorld& TheCareWorld() {
  static const CareWorld* const world = new CareWorld(BuildWorld());
  return *world;
}

services::Caller CallerFor(int selector) {
  services::Caller caller;
  caller.user_id = "fuzz-user";
  switch (selector % kCallerCount) {
    case 0:
      caller.organization_id = "org-hospital";
      caller.discipline = v1::DISCIPLINE_SOCIAL_WORK;
      caller.roles = services::kAgency;
      break;
    case 1:
      caller.organization_id = "org-housing";
      caller.roles = services::kAgency;
      break;
    case 2:
      caller.organization_id = "org-bh";
      caller.discipline = v1::DISCIPLINE_PSYCHIATRY;
      caller.roles = services::kAgency;
      break;
    case 3:
      caller.organization_id = "org-hospital";
      caller.roles = services::kAgency | services::kAdmin;
      break;
    case 4:
      caller.organization_id = "org-sud";
      caller.roles = services::kAuditor;
      break;
    case 5:
      caller.organization_id = "org-nowhere";
      caller.roles = services::kAgency;
      break;
    default:
      caller.user_id.clear();
      caller.local_operator = true;
      break;
  }
  return caller;
}

const std::vector<const Descriptor*>& RequestTypes() {
  static const auto* const types = [] {
    auto* out = new std::vector<const Descriptor*>;
    for (const care::CommandSpec& spec :
         care::CommandCatalog::Get().commands()) {
      out->push_back(spec.method->input_type());
    }
    out->push_back(v1::AppendRequest::descriptor());
    out->push_back(v1::ReadStreamRequest::descriptor());
    out->push_back(v1::ReadAllRequest::descriptor());
    return out;
  }();
  return *types;
}

std::vector<ExampleRequest> ExampleRequests() {
  const std::vector<const Descriptor*>& types = RequestTypes();
  std::map<v1::CareEvent::EventCase, const CommandExample*> by_event;
  for (const CommandExample& example : kCommandExamples) {
    const v1::CareEvent event = ParseText<v1::CareEvent>(example.event);
    if (!by_event.emplace(event.event_case(), &example).second) {
      Die(absl::StrCat("two examples of ", example.event));
    }
  }
  std::vector<ExampleRequest> out;
  int index = 0;
  for (const care::CommandSpec& spec : care::CommandCatalog::Get().commands()) {
    // A command with no example gets an empty event about c1 (from caller
    // 0), so that every command has a seed.
    care::CommandFields fields;
    fields.command_id = absl::StrCat("cmd-", index + 1);
    fields.client_id = "c1";
    int caller = 0;
    if (auto it = by_event.find(spec.event_case()); it != by_event.end()) {
      fields.client_id = it->second->client_id;
      fields.event = ParseText<v1::CareEvent>(it->second->event);
      caller = it->second->caller;
    } else {
      fields.event.GetReflection()->MutableMessage(&fields.event,
                                                   spec.event_field);
    }
    absl::StatusOr<std::unique_ptr<Message>> request =
        care::NewCommandRequest(fields);
    if (!request.ok()) Die(request.status().ToString());
    out.push_back({index, caller, *std::move(request)});
    ++index;
  }
  for (const LogExample& example : kLogExamples) {
    int type_index = -1;
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i]->name() == example.type) type_index = static_cast<int>(i);
    }
    if (type_index < 0) Die(absl::StrCat("no request type ", example.type));
    std::unique_ptr<Message> request(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(types[type_index])
            ->New());
    if (!google::protobuf::TextFormat::ParseFromString(example.text,
                                                       request.get())) {
      Die(absl::StrCat("bad example ", example.type));
    }
    out.push_back({type_index, example.caller, std::move(request)});
  }
  return out;
}

}  // namespace caseline::fuzz
