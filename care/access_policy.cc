#include "care/access_policy.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "care/care_event_context.h"

namespace caseline::care {
namespace {

// Subject keys carry their kind, so a referral and a service with the same id
// stay apart.
std::string SubjectKey(absl::string_view kind, absl::string_view id) {
  return absl::StrCat(kind, ":", id);
}
constexpr absl::string_view kSubjectKinds[] = {
    "referral", "transition", "admission", "service", "goal", "member"};

}  // namespace

DataClassMask AllConsentableClasses() {
  DataClassMask mask = 0;
  for (int c = v1::DATA_CLASS_GENERAL; c <= v1::DATA_CLASS_FINANCIAL; ++c) {
    mask |= ClassBit(static_cast<v1::DataClass>(c));
  }
  return mask;
}

std::vector<v1::DataClass> DataClassesIn(DataClassMask mask) {
  std::vector<v1::DataClass> out;
  for (int c = v1::DATA_CLASS_GENERAL; c <= v1::DATA_CLASS_FINANCIAL; ++c) {
    if (mask & ClassBit(static_cast<v1::DataClass>(c))) {
      out.push_back(static_cast<v1::DataClass>(c));
    }
  }
  return out;
}

std::string DataClassNames(DataClassMask mask) {
  std::vector<std::string> names;
  for (v1::DataClass c : DataClassesIn(mask)) {
    names.push_back(std::string(
        absl::StripPrefix(v1::DataClass_Name(c), "DATA_CLASS_")));
  }
  if (mask & kUnclassified) names.push_back("UNCLASSIFIED");
  return absl::StrJoin(names, ", ");
}

v1::DataClass DataClassOfCategory(v1::ServiceCategory category) {
  switch (category) {
    case v1::SERVICE_CATEGORY_MENTAL_HEALTH:
      return v1::DATA_CLASS_MENTAL_HEALTH;
    case v1::SERVICE_CATEGORY_SUBSTANCE_USE:
      return v1::DATA_CLASS_SUBSTANCE_USE_PART2;
    case v1::SERVICE_CATEGORY_HOUSING:
      return v1::DATA_CLASS_HOUSING;
    case v1::SERVICE_CATEGORY_LEGAL:
    case v1::SERVICE_CATEGORY_PROBATION_PAROLE:
    case v1::SERVICE_CATEGORY_IMMIGRATION:
      return v1::DATA_CLASS_LEGAL;
    case v1::SERVICE_CATEGORY_EDUCATION:
      return v1::DATA_CLASS_EDUCATION;
    case v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE:
      return v1::DATA_CLASS_FINANCIAL;
    default:
      return v1::DATA_CLASS_GENERAL;
  }
}

std::string AccessStreamId(absl::string_view client_id) {
  return absl::StrCat(kAccessStreamPrefix, client_id);
}

std::optional<absl::string_view> ClientOfAccessStream(
    absl::string_view stream_id) {
  if (!absl::ConsumePrefix(&stream_id, kAccessStreamPrefix) ||
      stream_id.empty()) {
    return std::nullopt;
  }
  return stream_id;
}

bool Involved(const ClientRecord& record, absl::string_view organization_id) {
  if (organization_id.empty()) return false;
  if (record.registered_by_organization_id == organization_id) return true;
  for (const auto& [id, member] : record.care_team) {
    if (member.active() && member.added.organization_id() == organization_id)
      return true;
  }
  for (const auto& [id, referral] : record.referrals) {
    if (referral.sent_by_organization_id == organization_id ||
        referral.sent.from_organization_id() == organization_id ||
        referral.sent.to_organization_id() == organization_id) {
      return true;
    }
  }
  for (const auto& [id, service] : record.services) {
    if (service.active() &&
        service.started.provider_organization_id() == organization_id) {
      return true;
    }
  }
  for (const auto& [id, transition] : record.transitions) {
    if (transition.planned.to_organization_id() == organization_id) return true;
  }
  return false;
}

// --- ClientAccessFold ---------------------------------------------------------

DataClassMask ClientAccessFold::SubjectClasses(const std::string& key) const {
  auto it = subjects_.find(key);
  return it == subjects_.end() ? 0 : it->second.classes;
}

DataClassMask ClientAccessFold::ItemClasses(v1::WorklistItemKind kind,
                                            const std::string& subject) const {
  switch (kind) {
    case v1::WORKLIST_ITEM_KIND_TRANSITION_DUE:
      return SubjectClasses(SubjectKey("transition", subject));
    case v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE:
      return SubjectClasses(SubjectKey("admission", subject));
    case v1::WORKLIST_ITEM_KIND_STALE_REFERRAL:
      return SubjectClasses(SubjectKey("referral", subject));
    case v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER:
      // A transition's, or a discharge's with no transition.
      return SubjectClasses(SubjectKey("transition", subject)) |
             SubjectClasses(SubjectKey("admission", subject));
    case v1::WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR:
      return SubjectClasses(SubjectKey("service", subject));
    default:
      return 0;
  }
}

DataClassMask ClientAccessFold::Classify(
    const v1::CareEvent& event, const std::string& author,
    const OrganizationDirectory& directory) const {
  // 42 CFR Part 2 protects a program's records and whatever identifies a
  // person as its patient: events by a substance-use treatment organisation,
  // and events naming one.
  auto part2_program = [&directory](const std::string& organization_id) {
    const v1::OrganizationRegistered* o = directory.Find(organization_id);
    return o != nullptr &&
           o->type() == v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT;
  };
  constexpr DataClassMask kPart2 = ClassBit(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
  auto of = [](v1::ServiceCategory c) { return ClassBit(DataClassOfCategory(c)); };
  DataClassMask m = 0;
  switch (event.event_case()) {
    case v1::CareEvent::kReferralSent: {
      const auto& e = event.referral_sent();
      m = of(e.service_category());
      if (part2_program(e.to_organization_id()) ||
          part2_program(e.from_organization_id())) {
        m |= kPart2;
      }
      break;
    }
    case v1::CareEvent::kServiceStarted: {
      const auto& e = event.service_started();
      m = of(e.category());
      if (part2_program(e.provider_organization_id())) m |= kPart2;
      break;
    }
    case v1::CareEvent::kServiceEnded:
      m = SubjectClasses(
          SubjectKey("service", event.service_ended().service_id()));
      break;
    case v1::CareEvent::kServiceInterruptionNotified:
      m = SubjectClasses(SubjectKey(
          "service", event.service_interruption_notified().service_id()));
      break;
    case v1::CareEvent::kGoalSet:
      m = of(event.goal_set().domain());
      break;
    case v1::CareEvent::kGoalProgressRecorded:
      m = SubjectClasses(
          SubjectKey("goal", event.goal_progress_recorded().goal_id()));
      break;
    case v1::CareEvent::kGoalStatusChanged:
      m = SubjectClasses(
          SubjectKey("goal", event.goal_status_changed().goal_id()));
      break;
    case v1::CareEvent::kAssessmentRecorded:
      for (const auto& domain : event.assessment_recorded().domains()) {
        m |= of(domain.domain());
      }
      break;
    case v1::CareEvent::kAdmissionRecorded: {
      const auto& e = event.admission_recorded();
      m = of(e.primary_need());
      if (e.level_of_care() == v1::LEVEL_OF_CARE_DETOX ||
          part2_program(e.facility_organization_id())) {
        m |= kPart2;
      }
      break;
    }
    case v1::CareEvent::kDischargeRecorded:
      m = SubjectClasses(
          SubjectKey("admission", event.discharge_recorded().admission_id()));
      break;
    case v1::CareEvent::kAdmissionNotificationReceived:
      m = SubjectClasses(SubjectKey(
          "admission", event.admission_notification_received().admission_id()));
      break;
    case v1::CareEvent::kDischargeInformationReceived:
      m = SubjectClasses(SubjectKey(
          "admission", event.discharge_information_received().admission_id()));
      break;
    case v1::CareEvent::kMedicationReconciliationRecorded:
      m = SubjectClasses(SubjectKey(
          "admission",
          event.medication_reconciliation_recorded().admission_id()));
      break;
    case v1::CareEvent::kTransitionPlanned: {
      const auto& e = event.transition_planned();
      m = SubjectClasses(SubjectKey("admission", e.admission_id()));
      if (part2_program(e.from_organization_id()) ||
          part2_program(e.to_organization_id())) {
        m |= kPart2;
      }
      break;
    }
    case v1::CareEvent::kTransitionCompleted:
      m = SubjectClasses(SubjectKey(
          "transition", event.transition_completed().transition_id()));
      break;
    case v1::CareEvent::kFollowUpCompleted: {
      const auto& e = event.follow_up_completed();
      m = SubjectClasses(SubjectKey("admission", e.admission_id())) |
          SubjectClasses(SubjectKey("transition", e.transition_id()));
      if (e.provider_discipline() ==
              v1::DISCIPLINE_SUBSTANCE_USE_COUNSELLING ||
          part2_program(e.provider_organization_id())) {
        m |= kPart2;
      }
      break;
    }
    case v1::CareEvent::kCareTeamMemberAdded: {
      const auto& e = event.care_team_member_added();
      m = ClassBit(v1::DATA_CLASS_GENERAL);
      if (e.discipline() == v1::DISCIPLINE_SUBSTANCE_USE_COUNSELLING ||
          part2_program(e.organization_id())) {
        m |= kPart2;
      }
      break;
    }
    case v1::CareEvent::kCareTeamMemberRemoved:
      m = SubjectClasses(
          SubjectKey("member", event.care_team_member_removed().member_id()));
      break;
    case v1::CareEvent::kInformationDisclosed:
      for (int c : event.information_disclosed().data_classes()) {
        m |= ClassBit(static_cast<v1::DataClass>(c));
      }
      break;
    case v1::CareEvent::kWorklistItemClaimed:
      m = ItemClasses(event.worklist_item_claimed().kind(),
                      event.worklist_item_claimed().subject_id());
      break;
    case v1::CareEvent::kWorklistItemReleased:
      m = ItemClasses(event.worklist_item_released().kind(),
                      event.worklist_item_released().subject_id());
      break;
    case v1::CareEvent::kEventEnteredInError: {
      // The correction names what it marks (its type; its reason may
      // describe it): it is shown to those who saw the marked event.
      const uint64_t marked = event.event_entered_in_error().stream_version();
      if (marked < classes_.size()) m = classes_[marked];
      break;
    }
    default:
      // A referral lifecycle step after sending (any event ReferralIdOf
      // knows, so a new step needs no case here): the referral's classes.
      if (const std::string* referral = ReferralIdOf(event)) {
        m = SubjectClasses(SubjectKey("referral", *referral));
      }
      break;
  }
  // GENERAL: what has no more specific class, and any reference to a subject
  // this stream does not hold.
  if (m == 0) m = ClassBit(v1::DATA_CLASS_GENERAL);
  if (part2_program(author)) m |= kPart2;
  return m;
}

void ClientAccessFold::Apply(const eventstore::RecordedEvent& recorded,
                             const OrganizationDirectory& directory) {
  std::optional<v1::CareEvent> parsed;
  if (IsCareEvent(recorded)) {
    absl::StatusOr<v1::CareEvent> event = ParseCareEvent(recorded);
    if (event.ok()) parsed = *std::move(event);
  }
  Apply(recorded, parsed.has_value() ? &*parsed : nullptr, directory);
}

void ClientAccessFold::Apply(const eventstore::RecordedEvent& recorded,
                             const v1::CareEvent* event,
                             const OrganizationDirectory& directory,
                             bool entered_in_error) {
  const std::string& author = recorded.actor.organization_id;
  DataClassMask classes = kUnclassified;
  if (event != nullptr && entered_in_error) {
    classes = Classify(*event, author, directory);
  } else if (event != nullptr) {
    classes = Classify(*event, author, directory);
    const std::string* subject = nullptr;
    absl::string_view kind;
    switch (event->event_case()) {
      case v1::CareEvent::kReferralSent:
        subject = &event->referral_sent().referral_id(), kind = "referral";
        break;
      case v1::CareEvent::kServiceStarted:
        subject = &event->service_started().service_id(), kind = "service";
        break;
      case v1::CareEvent::kGoalSet:
        subject = &event->goal_set().goal_id(), kind = "goal";
        break;
      case v1::CareEvent::kAdmissionRecorded:
        subject = &event->admission_recorded().admission_id();
        kind = "admission";
        break;
      case v1::CareEvent::kTransitionPlanned:
        subject = &event->transition_planned().transition_id();
        kind = "transition";
        break;
      case v1::CareEvent::kCareTeamMemberAdded:
        subject = &event->care_team_member_added().member_id();
        kind = "member";
        break;
      default:
        break;
    }
    if (subject != nullptr) {
      subjects_.try_emplace(SubjectKey(kind, *subject),
                            Subject{classes, author});
    }
    if (const std::string* referral = ReferralIdOf(*event);
        referral != nullptr && !event->has_referral_sent()) {
      auto it = record_.referrals.find(*referral);
      if (it != record_.referrals.end()) {
        referral_senders_[recorded.stream_version] =
            it->second.sent_by_organization_id;
      }
    }
    record_.Apply(*event, ContextOf(recorded));
  }
  if (recorded.stream_version >= classes_.size()) {
    classes_.resize(recorded.stream_version + 1, kUnclassified);
    authors_.resize(recorded.stream_version + 1);
  }
  classes_[recorded.stream_version] = classes;
  authors_[recorded.stream_version] = author;
  record_version_ = recorded.stream_version;
}

DataClassMask ClientAccessFold::ClassesAt(uint64_t version) const {
  return version < classes_.size() ? classes_[version] : kUnclassified;
}

const std::string& ClientAccessFold::AuthorAt(uint64_t version) const {
  static const std::string* const kNone = new std::string();
  return version < authors_.size() ? authors_[version] : *kNone;
}

const std::string* ClientAccessFold::ReferralSenderAt(uint64_t version) const {
  auto it = referral_senders_.find(version);
  return it == referral_senders_.end() ? nullptr : &it->second;
}

const ClientAccessFold::Subject* ClientAccessFold::FindSubject(
    absl::string_view subject_id) const {
  for (absl::string_view kind : kSubjectKinds) {
    auto it = subjects_.find(SubjectKey(kind, subject_id));
    if (it != subjects_.end()) return &it->second;
  }
  return nullptr;
}

// --- Decisions ------------------------------------------------------------------

std::vector<std::string> ClientAccessDecision::ConsentsFor(
    DataClassMask classes) const {
  std::vector<std::string> ids;
  for (v1::DataClass c : DataClassesIn(classes)) {
    auto it = consent_for.find(c);
    if (it == consent_for.end()) continue;
    if (std::find(ids.begin(), ids.end(), it->second) == ids.end()) {
      ids.push_back(it->second);
    }
  }
  return ids;
}

ClientAccessDecision Decide(const ClientAccessFold& fold,
                            const AccessReader& reader,
                            const OrganizationDirectory& directory) {
  ClientAccessDecision decision;
  decision.reader = reader.organization_id;
  const ClientRecord& record = fold.record();
  decision.involved = Involved(record, reader.organization_id);
  const v1::OrganizationRegistered* o = directory.Find(reader.organization_id);
  const v1::OrganizationType type =
      o == nullptr ? v1::ORGANIZATION_TYPE_UNSPECIFIED : o->type();
  for (v1::DataClass c : DataClassesIn(AllConsentableClasses())) {
    const ConsentState* relied_on = nullptr;
    for (const auto& [id, consent] : record.consents) {
      if (!consent.Covers(reader.organization_id, type, c, reader.purpose,
                          reader.at)) {
        continue;
      }
      if (relied_on == nullptr ||
          consent.given_position < relied_on->given_position) {
        relied_on = &consent;
      }
    }
    if (relied_on != nullptr) {
      decision.covered |= ClassBit(c);
      decision.consent_for[c] = relied_on->given.consent_id();
    }
  }
  return decision;
}

}  // namespace caseline::care
