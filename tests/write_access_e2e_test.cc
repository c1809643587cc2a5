// Who may write what (docs/access.md, "Who may write what"), end to end over
// loopback gRPC with an access config: random organisations issue at least
// 10,000 random care-record commands against a generated network, and an
// independent reference model, written from docs/access.md and the protos
// alone, decides for each one whether the write rule (steps 1-6) allows it.
// The test fails on any authorisation disagreement: a command accepted that
// the model forbids, refused PERMISSION_DENIED that it allows, or refused
// with another code before the rule could refuse it. Refusals for the
// record's state (step 7) are counted, not failed. A second test mutates the
// model and expects disagreements: the test can fail.
//
// CASELINE_WRITE_TEST_SEED overrides the seed (printed);
// CASELINE_WRITE_TEST_MUTATION (close-case, end-service, revoke, team)
// mutates the main run's model, to watch it fail.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/mutex.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/access_util.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

using testing::AccessNetwork;
using testing::AccessNetworkOptions;
using testing::kAdmin;
using testing::kAuditor;

// In the access config as an agency, never registered in the directory.
constexpr char kUnregistered[] = "unlisted-agency";
// Registered, never named by anyone: uninvolved in every client.
constexpr char kOutsider[] = "outsider";

const std::map<std::string, v1::OrganizationType>& Agencies() {
  static const auto* const kAgencies =
      new std::map<std::string, v1::OrganizationType>{
          {"hospital", v1::ORGANIZATION_TYPE_HOSPITAL},
          {"bh-center", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH},
          {"sud-program", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT},
          {"housing", v1::ORGANIZATION_TYPE_HOUSING},
          {"legal-aid", v1::ORGANIZATION_TYPE_LEGAL_AID},
          {"parole", v1::ORGANIZATION_TYPE_COURT_PAROLE},
          {"school", v1::ORGANIZATION_TYPE_SCHOOL},
          {kOutsider, v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY},
      };
  return *kAgencies;
}

// The agencies the generator names (referral receivers, providers, team
// members...): every agency but the outsider.
const std::vector<std::string>& Named() {
  static const auto* const kNamed = [] {
    auto* named = new std::vector<std::string>;
    for (const auto& [id, type] : Agencies()) {
      if (id != kOutsider) named->push_back(id);
    }
    return named;
  }();
  return *kNamed;
}

// --- The reference model -----------------------------------------------------
//
// A client's record as the write rule needs it, kept from the commands the
// server accepted.

enum class CaseStatus { kNotOpened, kOpen, kClosed };
enum class ReferralStatus {
  kRequested,
  kAccepted,
  kDeclined,
  kOnHold,
  kInProgress,
  kCompleted,
  kFailed,
  kCancelled
};

struct ModelRecord {
  std::string id;
  std::string registrar;
  uint64_t events = 0;  // accepted so far: the next stream version
  CaseStatus case_status = CaseStatus::kNotOpened;
  std::string case_opener;  // who opened or last reopened the case
  struct Member {
    std::string org;
    bool lead = false;
    bool active = true;
  };
  std::map<std::string, Member> team;
  struct Referral {
    std::string from, to;
    ReferralStatus status = ReferralStatus::kRequested;
    bool was_accepted = false;
  };
  std::map<std::string, Referral> referrals;
  struct Service {
    std::string provider;
    bool ended = false;
  };
  std::map<std::string, Service> services;
  struct Consent {
    std::string recorder;
    bool revoked = false;
    std::set<std::string> orgs;
    std::set<int> types;
    std::set<int> classes;
  };
  std::map<std::string, Consent> consents;
  std::map<std::string, bool> admissions;  // id -> still admitted
  struct Transition {
    std::string to;
    bool completed = false;
  };
  std::map<std::string, Transition> transitions;
  std::set<std::string> assessments, goals, meetings, follow_ups, disclosures,
      dismissed, linked;
  Mutex mu;  // held while a command about this client is in flight
};

// Holds the mutexes of a set of records, locked in id order, for its own
// lifetime. The set is chosen at run time, which clang's -Wthread-safety
// cannot name; so the analysis is off for these two functions only.
class RecordLocks {
 public:
  explicit RecordLocks(std::vector<ModelRecord*> records)
      ABSL_NO_THREAD_SAFETY_ANALYSIS : records_(std::move(records)) {
    std::sort(records_.begin(), records_.end(),
              [](ModelRecord* a, ModelRecord* b) { return a->id < b->id; });
    for (ModelRecord* m : records_) m->mu.Lock();
  }
  ~RecordLocks() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
      (*it)->mu.Unlock();
    }
  }
  RecordLocks(const RecordLocks&) = delete;
  RecordLocks& operator=(const RecordLocks&) = delete;

 private:
  std::vector<ModelRecord*> records_;
};

// Ways to break the model on purpose (the mutation check).
enum class Mutation {
  kNone,
  kAnyInvolvedClosesCase,   // CloseCase: any involved organisation
  kAnyInvolvedEndsService,  // EndService: any involved organisation
  kAnyInvolvedRevokes,      // RevokeConsent without on_client_request
  kAnyInvolvedChangesTeam,  // AddCareTeamMember despite an active lead
};

Mutation MutationNamed(const std::string& name) {
  if (name == "close-case") return Mutation::kAnyInvolvedClosesCase;
  if (name == "end-service") return Mutation::kAnyInvolvedEndsService;
  if (name == "revoke") return Mutation::kAnyInvolvedRevokes;
  if (name == "team") return Mutation::kAnyInvolvedChangesTeam;
  return Mutation::kNone;
}

// What the docs say the answer must be.
enum class Verdict {
  kAllow,          // steps 1-6 pass: OK, or a refusal for the record's state
  kDeny,           // PERMISSION_DENIED (step 1, 5 or 6)
  kInvalid,        // INVALID_ARGUMENT (step 2)
  kNotFound,       // NOT_FOUND naming x-caseline-org (step 4)
  kAlreadyExists,  // RegisterClient of a taken id (step 5)
  kOpen,           // the docs leave it open (see the report); not OK
};

struct Decision {
  Decision(Verdict v, int s, std::string r)
      : verdict(v), step(s), rule(std::move(r)) {}
  Verdict verdict = Verdict::kAllow;
  int step = 0;
  std::string rule;  // which rule decided, for messages
  // kDeny at step 5: for an unknown client (else a known, uninvolved one);
  // for LinkClientRecords, about the other record.
  bool unknown_client = false;
  bool about_other = false;
};

// Involvement (docs/access.md, "Involvement") as the record stands. nullopt
// when only a completed transition names the organisation as receiver: the
// docs say "planned transitions", which may or may not include completed
// ones.
std::optional<bool> Involved(const ModelRecord& r, const std::string& org) {
  if (r.registrar == org) return true;
  for (const auto& [id, m] : r.team) {
    if (m.active && m.org == org) return true;
  }
  for (const auto& [id, ref] : r.referrals) {
    if (ref.from == org || ref.to == org) return true;
  }
  for (const auto& [id, s] : r.services) {
    if (!s.ended && s.provider == org) return true;
  }
  bool via_completed = false;
  for (const auto& [id, t] : r.transitions) {
    if (t.to != org) continue;
    if (!t.completed) return true;
    via_completed = true;
  }
  if (via_completed) return std::nullopt;
  return false;
}

std::set<std::string> LeadOrgs(const ModelRecord& r) {
  std::set<std::string> out;
  for (const auto& [id, m] : r.team) {
    if (m.active && m.lead) out.insert(m.org);
  }
  return out;
}

bool IsReferralStep(const v1::CareEvent& e) {
  switch (e.event_case()) {
    case v1::CareEvent::kReferralAccepted:
    case v1::CareEvent::kReferralDeclined:
    case v1::CareEvent::kReferralOnHold:
    case v1::CareEvent::kReferralStarted:
    case v1::CareEvent::kReferralCompleted:
    case v1::CareEvent::kReferralFailed:
    case v1::CareEvent::kReferralCancelled:
      return true;
    default:
      return false;
  }
}

std::string ReferralIdOf(const v1::CareEvent& e) {
  switch (e.event_case()) {
    case v1::CareEvent::kReferralAccepted:
      return e.referral_accepted().referral_id();
    case v1::CareEvent::kReferralDeclined:
      return e.referral_declined().referral_id();
    case v1::CareEvent::kReferralOnHold:
      return e.referral_on_hold().referral_id();
    case v1::CareEvent::kReferralStarted:
      return e.referral_started().referral_id();
    case v1::CareEvent::kReferralCompleted:
      return e.referral_completed().referral_id();
    case v1::CareEvent::kReferralFailed:
      return e.referral_failed().referral_id();
    case v1::CareEvent::kReferralCancelled:
      return e.referral_cancelled().referral_id();
    default:
      return "";
  }
}

std::string EventName(const v1::CareEvent& e) {
  const google::protobuf::FieldDescriptor* field =
      e.GetReflection()->GetOneofFieldDescriptor(
          e, v1::CareEvent::descriptor()->FindOneofByName("event"));
  return field == nullptr ? "?" : field->message_type()->name();
}

class WriteModel {
 public:
  explicit WriteModel(Mutation mutation) : mutation_(mutation) {}

  // Steps 1-6 of "Who may write what" for `caller` proposing `e` about
  // `client_id`, whose record is `r` (null: not registered). `other`: for
  // LinkClientRecords, the other record (null: not registered).
  // `invalid_field`: the generator made a field the docs call invalid.
  Decision Decide(const std::string& caller, const ModelRecord* r,
                  const ModelRecord* other, const v1::CareEvent& e,
                  bool invalid_field) const {
    if (caller == kAuditor || caller == kAdmin) {
      return {Verdict::kDeny, 1, "role: recording care events needs agency"};
    }
    if (invalid_field) return {Verdict::kInvalid, 2, "fields"};
    if (caller == kUnregistered) {
      return {Verdict::kNotFound, 4, "the acting organisation is registered"};
    }
    if (e.has_client_registered()) {
      if (r != nullptr) {
        return {Verdict::kAlreadyExists, 5, "RegisterClient of a taken id"};
      }
      return {Verdict::kAllow, 6, "RegisterClient: any agency"};
    }
    if (r == nullptr) {
      Decision d{Verdict::kDeny, 5, "standing: unknown client"};
      d.unknown_client = true;
      return d;
    }
    const std::optional<bool> involved = Involved(*r, caller);
    if (!involved.has_value()) {
      // Refused either way when the command's own rule refuses it too.
      const Decision rule = Rule(caller, *r, other, e);
      if (rule.verdict == Verdict::kDeny) return rule;
      return {Verdict::kOpen, 5,
              "standing: involved only as a completed transition's receiver"};
    }
    if (!*involved) return {Verdict::kDeny, 5, "standing: not involved"};
    return Rule(caller, *r, other, e);
  }

  // Step 7 as far as the model keeps the record: true when it expects the
  // server to accept a command the rule allows.
  bool StateAllows(const ModelRecord& r, const ModelRecord* other,
                   const v1::CareEvent& e) const {
    if (e.has_client_registered()) return true;
    if (r.case_status == CaseStatus::kClosed && !e.has_case_reopened() &&
        !e.has_duplicate_dismissed() && !e.has_information_disclosed()) {
      return false;
    }
    switch (e.event_case()) {
      case v1::CareEvent::kClientRecordsLinked:
        return other != nullptr &&
               !r.linked.count(e.client_records_linked().other_client_id());
      case v1::CareEvent::kClientRecordsUnlinked:
        return r.linked.count(e.client_records_unlinked().other_client_id());
      case v1::CareEvent::kCaseOpened:
        return r.case_status != CaseStatus::kOpen;
      case v1::CareEvent::kCaseClosed:
        return r.case_status == CaseStatus::kOpen;
      case v1::CareEvent::kCaseReopened:
        return r.case_status == CaseStatus::kClosed;
      case v1::CareEvent::kDuplicateDismissed:
        return !r.dismissed.count(e.duplicate_dismissed().finding_id());
      case v1::CareEvent::kInformationDisclosed:
        return !r.disclosures.count(e.information_disclosed().disclosure_id());
      case v1::CareEvent::kConsentGiven:
        return !r.consents.count(e.consent_given().consent_id());
      case v1::CareEvent::kConsentRevoked: {
        auto it = r.consents.find(e.consent_revoked().consent_id());
        return it != r.consents.end() && !it->second.revoked;
      }
      case v1::CareEvent::kAssessmentRecorded:
        return !r.assessments.count(e.assessment_recorded().assessment_id());
      case v1::CareEvent::kGoalSet:
        return !r.goals.count(e.goal_set().goal_id());
      case v1::CareEvent::kGoalProgressRecorded:
        return r.goals.count(e.goal_progress_recorded().goal_id());
      case v1::CareEvent::kGoalStatusChanged:
        return r.goals.count(e.goal_status_changed().goal_id());
      case v1::CareEvent::kReferralSent: {
        const auto& sent = e.referral_sent();
        if (r.referrals.count(sent.referral_id())) return false;
        for (int c : sent.shared_data_classes()) {
          if (!Covers(r, sent.to_organization_id(), c)) return false;
        }
        return true;
      }
      case v1::CareEvent::kServiceStarted:
        return !r.services.count(e.service_started().service_id());
      case v1::CareEvent::kServiceEnded:
      case v1::CareEvent::kServiceInterruptionNotified: {
        auto it = r.services.find(
            e.has_service_ended()
                ? e.service_ended().service_id()
                : e.service_interruption_notified().service_id());
        return it != r.services.end() && !it->second.ended;
      }
      case v1::CareEvent::kCareTeamMemberAdded: {
        auto it = r.team.find(e.care_team_member_added().member_id());
        return it == r.team.end() || !it->second.active;
      }
      case v1::CareEvent::kCareTeamMemberRemoved: {
        auto it = r.team.find(e.care_team_member_removed().member_id());
        if (it == r.team.end() || !it->second.active) return false;
        int leads = 0;
        for (const auto& [id, m] : r.team) leads += m.active && m.lead;
        return !(it->second.lead && r.case_status == CaseStatus::kOpen &&
                 leads == 1);
      }
      case v1::CareEvent::kTeamMeetingHeld: {
        if (r.meetings.count(e.team_meeting_held().meeting_id())) return false;
        for (const auto& m : e.team_meeting_held().attendee_member_ids()) {
          auto it = r.team.find(m);
          if (it == r.team.end() || !it->second.active) return false;
        }
        return true;
      }
      case v1::CareEvent::kAdmissionRecorded:
        return !r.admissions.count(e.admission_recorded().admission_id());
      case v1::CareEvent::kTransitionPlanned: {
        const auto& t = e.transition_planned();
        return !r.transitions.count(t.transition_id()) &&
               (t.admission_id().empty() ||
                r.admissions.count(t.admission_id()));
      }
      case v1::CareEvent::kDischargeRecorded: {
        auto it = r.admissions.find(e.discharge_recorded().admission_id());
        return it != r.admissions.end() && it->second;
      }
      case v1::CareEvent::kTransitionCompleted: {
        auto it = r.transitions.find(e.transition_completed().transition_id());
        return it != r.transitions.end() && !it->second.completed;
      }
      case v1::CareEvent::kFollowUpCompleted: {
        const auto& f = e.follow_up_completed();
        return !r.follow_ups.count(f.follow_up_id()) &&
               (f.transition_id().empty() ||
                r.transitions.count(f.transition_id()));
      }
      default:
        break;
    }
    if (IsReferralStep(e)) {
      auto it = r.referrals.find(ReferralIdOf(e));
      if (it == r.referrals.end()) return false;
      using RS = ReferralStatus;
      const RS s = it->second.status;
      const bool accepted = it->second.was_accepted;
      switch (e.event_case()) {
        case v1::CareEvent::kReferralAccepted:
          return s == RS::kRequested || s == RS::kOnHold;
        case v1::CareEvent::kReferralDeclined:
          return s == RS::kRequested;
        case v1::CareEvent::kReferralOnHold:
          return s == RS::kRequested || s == RS::kAccepted ||
                 s == RS::kInProgress;
        case v1::CareEvent::kReferralStarted:
          return s == RS::kAccepted || (s == RS::kOnHold && accepted);
        case v1::CareEvent::kReferralCompleted:
          return s == RS::kAccepted || s == RS::kInProgress;
        case v1::CareEvent::kReferralFailed:
          return s == RS::kAccepted || s == RS::kInProgress ||
                 (s == RS::kOnHold && accepted);
        case v1::CareEvent::kReferralCancelled:
          return s == RS::kRequested || s == RS::kAccepted ||
                 s == RS::kOnHold || s == RS::kInProgress;
        default:
          break;
      }
    }
    return true;
  }

  // Folds an event the server accepted (as `caller`) into the record.
  static void Apply(const std::string& caller, ModelRecord& r,
                    const v1::CareEvent& e) {
    ++r.events;
    using RS = ReferralStatus;
    switch (e.event_case()) {
      case v1::CareEvent::kClientRegistered:
        r.registrar = caller;
        return;
      case v1::CareEvent::kClientRecordsLinked:
        r.linked.insert(e.client_records_linked().other_client_id());
        return;
      case v1::CareEvent::kClientRecordsUnlinked:
        r.linked.erase(e.client_records_unlinked().other_client_id());
        return;
      case v1::CareEvent::kCaseOpened:
      case v1::CareEvent::kCaseReopened:
        r.case_status = CaseStatus::kOpen;
        r.case_opener = caller;
        return;
      case v1::CareEvent::kCaseClosed:
        r.case_status = CaseStatus::kClosed;
        return;
      case v1::CareEvent::kDuplicateDismissed:
        r.dismissed.insert(e.duplicate_dismissed().finding_id());
        return;
      case v1::CareEvent::kInformationDisclosed:
        r.disclosures.insert(e.information_disclosed().disclosure_id());
        return;
      case v1::CareEvent::kConsentGiven: {
        const auto& g = e.consent_given();
        ModelRecord::Consent& k = r.consents[g.consent_id()];
        k.recorder = caller;
        k.orgs = {g.recipient_organization_ids().begin(),
                  g.recipient_organization_ids().end()};
        k.types = {g.recipient_organization_types().begin(),
                   g.recipient_organization_types().end()};
        k.classes = {g.data_classes().begin(), g.data_classes().end()};
        return;
      }
      case v1::CareEvent::kConsentRevoked:
        r.consents[e.consent_revoked().consent_id()].revoked = true;
        return;
      case v1::CareEvent::kAssessmentRecorded:
        r.assessments.insert(e.assessment_recorded().assessment_id());
        return;
      case v1::CareEvent::kGoalSet:
        r.goals.insert(e.goal_set().goal_id());
        return;
      case v1::CareEvent::kReferralSent: {
        const auto& sent = e.referral_sent();
        ModelRecord::Referral& ref = r.referrals[sent.referral_id()];
        ref.from = sent.from_organization_id().empty()
                       ? caller
                       : sent.from_organization_id();
        ref.to = sent.to_organization_id();
        return;
      }
      case v1::CareEvent::kReferralAccepted:
      case v1::CareEvent::kReferralDeclined:
      case v1::CareEvent::kReferralOnHold:
      case v1::CareEvent::kReferralStarted:
      case v1::CareEvent::kReferralCompleted:
      case v1::CareEvent::kReferralFailed:
      case v1::CareEvent::kReferralCancelled: {
        // Each lifecycle step sets the status it names.
        static const std::map<v1::CareEvent::EventCase, RS> kStatusOf = {
            {v1::CareEvent::kReferralAccepted, RS::kAccepted},
            {v1::CareEvent::kReferralDeclined, RS::kDeclined},
            {v1::CareEvent::kReferralOnHold, RS::kOnHold},
            {v1::CareEvent::kReferralStarted, RS::kInProgress},
            {v1::CareEvent::kReferralCompleted, RS::kCompleted},
            {v1::CareEvent::kReferralFailed, RS::kFailed},
            {v1::CareEvent::kReferralCancelled, RS::kCancelled}};
        auto& ref = r.referrals[ReferralIdOf(e)];
        ref.status = kStatusOf.at(e.event_case());
        if (ref.status == RS::kAccepted) ref.was_accepted = true;
        return;
      }
      case v1::CareEvent::kServiceStarted:
        r.services[e.service_started().service_id()] = {
            e.service_started().provider_organization_id(), false};
        return;
      case v1::CareEvent::kServiceEnded:
        r.services[e.service_ended().service_id()].ended = true;
        return;
      case v1::CareEvent::kCareTeamMemberAdded: {
        const auto& a = e.care_team_member_added();
        r.team[a.member_id()] = {
            a.organization_id(),
            a.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER, true};
        return;
      }
      case v1::CareEvent::kCareTeamMemberRemoved:
        r.team[e.care_team_member_removed().member_id()].active = false;
        return;
      case v1::CareEvent::kTeamMeetingHeld:
        r.meetings.insert(e.team_meeting_held().meeting_id());
        return;
      case v1::CareEvent::kAdmissionRecorded:
        r.admissions[e.admission_recorded().admission_id()] = true;
        return;
      case v1::CareEvent::kDischargeRecorded:
        r.admissions[e.discharge_recorded().admission_id()] = false;
        return;
      case v1::CareEvent::kTransitionPlanned:
        r.transitions[e.transition_planned().transition_id()] = {
            e.transition_planned().to_organization_id(), false};
        return;
      case v1::CareEvent::kTransitionCompleted:
        r.transitions[e.transition_completed().transition_id()].completed =
            true;
        return;
      case v1::CareEvent::kFollowUpCompleted:
        r.follow_ups.insert(e.follow_up_completed().follow_up_id());
        return;
      default:
        return;
    }
  }

 private:
  // Step 6: the command's own rule, for an involved caller.
  Decision Rule(const std::string& caller, const ModelRecord& r,
                const ModelRecord* other, const v1::CareEvent& e) const {
    const Decision allow{Verdict::kAllow, 6, "any involved organisation"};
    if (IsReferralStep(e)) {
      auto it = r.referrals.find(ReferralIdOf(e));
      if (it == r.referrals.end()) {
        return {Verdict::kOpen, 6, "a step of an unknown referral"};
      }
      if (e.has_referral_cancelled()) {
        if (caller == it->second.from || caller == it->second.to) return allow;
        return {Verdict::kDeny, 6, "CancelReferral: sender or receiver"};
      }
      if (caller == it->second.to) return allow;
      return {Verdict::kDeny, 6, "referral steps: the receiver"};
    }
    switch (e.event_case()) {
      case v1::CareEvent::kConsentRevoked: {
        auto it = r.consents.find(e.consent_revoked().consent_id());
        if (it == r.consents.end()) {
          return {Verdict::kOpen, 6, "revoking an unknown consent"};
        }
        if (it->second.recorder == caller ||
            e.consent_revoked().on_client_request() ||
            mutation_ == Mutation::kAnyInvolvedRevokes) {
          return allow;
        }
        return {Verdict::kDeny, 6,
                "RevokeConsent: the recorder, or on_client_request"};
      }
      case v1::CareEvent::kCaseClosed:
        if (r.case_opener.empty()) {
          return {Verdict::kOpen, 6, "closing a case nobody opened"};
        }
        if (r.case_opener == caller ||
            mutation_ == Mutation::kAnyInvolvedClosesCase) {
          return allow;
        }
        return {Verdict::kDeny, 6, "CloseCase: who opened or reopened it"};
      case v1::CareEvent::kReferralSent: {
        const std::string& from = e.referral_sent().from_organization_id();
        if (from.empty() || from == caller) return allow;
        return {Verdict::kDeny, 6, "SendReferral: in its own name"};
      }
      case v1::CareEvent::kServiceEnded:
      case v1::CareEvent::kServiceInterruptionNotified: {
        auto it = r.services.find(
            e.has_service_ended()
                ? e.service_ended().service_id()
                : e.service_interruption_notified().service_id());
        if (it == r.services.end()) {
          return {Verdict::kOpen, 6, "ending an unknown service"};
        }
        if (it->second.provider == caller ||
            mutation_ == Mutation::kAnyInvolvedEndsService) {
          return allow;
        }
        return {Verdict::kDeny, 6, "EndService/interruption: the provider"};
      }
      case v1::CareEvent::kCareTeamMemberAdded: {
        const std::set<std::string> leads = LeadOrgs(r);
        if (leads.empty() || leads.count(caller) ||
            mutation_ == Mutation::kAnyInvolvedChangesTeam) {
          return allow;
        }
        return {Verdict::kDeny, 6,
                "AddCareTeamMember: the lead's organisation"};
      }
      case v1::CareEvent::kCareTeamMemberRemoved: {
        auto it = r.team.find(e.care_team_member_removed().member_id());
        if (it == r.team.end()) {
          return {Verdict::kOpen, 6, "removing an unknown member"};
        }
        if (LeadOrgs(r).count(caller) || it->second.org == caller) {
          return allow;
        }
        return {
            Verdict::kDeny, 6,
            "RemoveCareTeamMember: the lead's or the member's organisation"};
      }
      case v1::CareEvent::kClientRecordsLinked: {
        Decision d{Verdict::kDeny, 6, "LinkClientRecords: the other record"};
        d.about_other = true;
        if (other == nullptr) {
          d.unknown_client = true;
          return d;
        }
        const std::optional<bool> in_other = Involved(*other, caller);
        if (!in_other.has_value()) {
          return {Verdict::kOpen, 6,
                  "link: involved in the other record only via a completed "
                  "transition"};
        }
        return *in_other ? allow : d;
      }
      default:
        return allow;
    }
  }

  // A consent in force covers `data_class` for `org` (the generator gives
  // consents no purposes and no period, and shares for care coordination).
  static bool Covers(const ModelRecord& r, const std::string& org,
                     int data_class) {
    const v1::OrganizationType type = Agencies().at(org);
    for (const auto& [id, k] : r.consents) {
      if (k.revoked || !k.classes.count(data_class)) continue;
      if (k.orgs.count(org)) return true;
      if (data_class != v1::DATA_CLASS_SUBSTANCE_USE_PART2 &&
          k.types.count(type)) {
        return true;
      }
    }
    return false;
  }

  Mutation mutation_;
};

// --- The generator
// ---------------------------------------------------------------

enum class Kind {
  kCorrectDetails,
  kLink,
  kUnlink,
  kOpenCase,
  kCloseCase,
  kReopenCase,
  kDismiss,
  kGiveConsent,
  kRevokeConsent,
  kDisclosure,
  kAssessment,
  kSetGoal,
  kGoalProgress,
  kGoalStatus,
  kSendReferral,
  kAccept,
  kDecline,
  kHold,
  kStart,
  kComplete,
  kFail,
  kCancel,
  kStartService,
  kEndService,
  kInterruption,
  kAddMember,
  kRemoveMember,
  kMeeting,
  kAdmission,
  kPlanTransition,
  kDischarge,
  kCompleteTransition,
  kFollowUp,
  kCount
};

struct RunConfig {
  uint64_t seed = 20261206;
  int threads = 6;
  int commands = 10000;
  Mutation mutation = Mutation::kNone;
};

struct Tally {
  std::atomic<int> issued{0};
  std::atomic<int> accepted{0};
  std::atomic<int> denied{0};           // PERMISSION_DENIED, as the model said
  std::atomic<int> denied_role{0};      // ... at step 1 (auditor, admin)
  std::atomic<int> denied_standing{0};  // ... at step 5
  std::atomic<int> other_expected{0};  // INVALID_ARGUMENT/NOT_FOUND/... as said
  std::atomic<int> state_refused{0};  // allowed, refused for the record's state
  std::atomic<int> state_unforeseen{0};  // ... where the model expected OK
  std::atomic<int> open_cases{0};        // the docs leave the answer open
  std::atomic<int> open_accepted{0};     // ... and the server accepted
  // Disagreements.
  std::atomic<int> forbidden_accepted{0};
  std::atomic<int> allowed_denied{0};
  std::atomic<int> wrong_code{0};
  std::atomic<int> log_mismatch{0};
  std::atomic<int> message_mismatch{0};
  Mutex mu;
  std::vector<std::string> disagreements ABSL_GUARDED_BY(mu);
  std::vector<std::string> unforeseen ABSL_GUARDED_BY(mu);
  std::map<std::string, int> state_codes ABSL_GUARDED_BY(mu);
  std::map<std::string, int> open_answers ABSL_GUARDED_BY(mu);
  // (caller, event, unknown/uninvolved) -> the first denial message, with
  // the client id replaced by <client>.
  std::map<std::string, std::string> denial_messages ABSL_GUARDED_BY(mu);

  int Disagreements() const {
    return forbidden_accepted + allowed_denied + wrong_code + log_mismatch +
           message_mismatch;
  }
  void Note(std::atomic<int>& counter, const std::string& what) {
    counter.fetch_add(1);
    MutexLock lock(&mu);
    if (disagreements.size() < 40) disagreements.push_back(what);
  }
};

class WriteRun {
 public:
  WriteRun(AccessNetwork& network, const RunConfig& config)
      : network_(network), config_(config), model_(config.mutation) {}

  Tally& tally() { return tally_; }

  void Run() {
    // Each named agency registers three clients.
    std::mt19937_64 setup(config_.seed);
    for (const std::string& org : Named()) {
      for (int i = 0; i < 3; ++i) {
        Register(setup, org, absl::StrCat("seed-", org, "-", i));
      }
    }
    std::vector<std::thread> threads;
    const int per_thread = config_.commands / config_.threads;
    for (int t = 0; t < config_.threads; ++t) {
      threads.emplace_back([this, t, per_thread] {
        std::mt19937_64 rng(config_.seed * 1000 + t);
        for (int i = 0; i < per_thread; ++i) Step(rng, t, i);
      });
    }
    for (auto& t : threads) t.join();
    CheckLog();
    CheckDenialMessages();
  }

 private:
  template <typename T>
  static const T& Pick(std::mt19937_64& rng, const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  }
  static bool Chance(std::mt19937_64& rng, double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng) < p;
  }

  ModelRecord* Find(const std::string& id) {
    MutexLock lock(&table_mu_);
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : it->second.get();
  }
  ModelRecord* RandomRecord(std::mt19937_64& rng) {
    MutexLock lock(&table_mu_);
    return Pick(rng, order_);
  }

  void Register(std::mt19937_64& rng, const std::string& caller,
                const std::string& id) {
    v1::CareEvent e;
    v1::ClientRegistered* c = e.mutable_client_registered();
    c->mutable_name()->set_given(
        Pick(rng, std::vector<std::string>{"Ana", "Ben", "Chen", "Dara"}));
    c->mutable_name()->set_family(absl::StrCat("Family", id));
    c->mutable_birth_date()->set_year(1950 + static_cast<int>(rng() % 50));
    c->mutable_birth_date()->set_month(1 + static_cast<int>(rng() % 12));
    c->mutable_birth_date()->set_day(1 + static_cast<int>(rng() % 28));
    auto record = std::make_unique<ModelRecord>();
    record->id = id;
    ModelRecord* r = record.get();
    MutexLock lock(&r->mu);
    const bool accepted = Issue(caller, id, nullptr, nullptr, e, false, r);
    if (accepted) {
      MutexLock table(&table_mu_);
      order_.push_back(r);
      records_[id] = std::move(record);
    }
  }

  // One random command.
  void Step(std::mt19937_64& rng, int thread, int i) {
    const double roll = std::uniform_real_distribution<double>(0, 1)(rng);
    const std::vector<std::string> registrars = {
        Pick(rng, Named()), Pick(rng, Named()), Pick(rng, Named()),
        Pick(rng, Named()), kAuditor,           kAdmin,
        kUnregistered};
    if (roll < 0.03) {  // a new client
      Register(rng, Pick(rng, registrars), absl::StrCat("c", thread, "-", i));
      return;
    }
    if (roll >= 0.04 && roll < 0.055) {
      OrganizationStep(rng, thread, i);
      return;
    }
    if (roll < 0.04) {  // an id already taken
      ModelRecord* r = RandomRecord(rng);
      MutexLock lock(&r->mu);
      v1::CareEvent e;
      e.mutable_client_registered()->mutable_name()->set_family("Copy");
      Issue(Pick(rng, registrars), r->id, r, nullptr, e, false, nullptr);
      return;
    }
    const bool unknown = roll < 0.095;
    const std::string ghost = absl::StrCat("ghost-", thread, "-", i % 50);
    ModelRecord* r = unknown ? nullptr : RandomRecord(rng);
    // A record to stand in for an unknown client while generating.
    ModelRecord blank;
    blank.id = ghost;
    Kind kind;
    if (r != nullptr) {
      MutexLock lock(&r->mu);
      kind = PickKind(rng, *r);
    } else {
      kind = PickKind(rng, blank);
    }
    // LinkClientRecords names another record, locked too (in id order). The
    // command is built once every record it reads is locked.
    std::string other_id;
    ModelRecord* other = nullptr;
    if (kind == Kind::kLink) {
      if (Chance(rng, 0.75)) {
        other = RandomRecord(rng);
        if (other == r) other = nullptr;
      }
      other_id = other != nullptr ? other->id
                                  : absl::StrCat("ghost-other-", rng() % 20);
    }
    std::vector<ModelRecord*> locked;
    if (r != nullptr) locked.push_back(r);
    if (other != nullptr) locked.push_back(other);
    RecordLocks locks(std::move(locked));
    const ModelRecord& view = r != nullptr ? *r : blank;
    Proposal p = Propose(rng, kind, view, other, other_id);
    Issue(p.caller, unknown ? ghost : r->id, r, other, p.event, p.invalid,
          nullptr);
  }

  // Organizations.RegisterOrganization and UpdateOrganization: an agency
  // registers and updates only itself, an admin any organisation, an
  // auditor none (docs/access.md, "Roles"). One at a time, so that the
  // model's directory is exact.
  void OrganizationStep(std::mt19937_64& rng, int thread, int i) {
    MutexLock lock(&org_mu_);
    const std::string caller =
        Pick(rng, std::vector<std::string>{Pick(rng, Named()), kOutsider,
                                           kAuditor, kAdmin});
    v1::CareEvent e;
    std::string target;
    bool state_ok;
    const double x = std::uniform_real_distribution<double>(0, 1)(rng);
    if (x < 0.5) {
      target = x < 0.2    ? caller
               : x < 0.35 ? absl::StrCat("new-org-", thread, "-", i)
                          : Pick(rng, Named());
      auto* reg = e.mutable_organization_registered();
      reg->set_organization_id(target);
      reg->set_name(absl::StrCat("Organisation ", target));
      reg->set_type(v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
      state_ok = !registered_orgs_.count(target);
    } else {
      target = x < 0.8 ? caller : Pick(rng, Named());
      auto* update = e.mutable_organization_updated();
      update->set_organization_id(target);
      update->set_name(absl::StrCat("Renamed ", target, " ", i));
      state_ok = registered_orgs_.count(target) > 0;
    }
    const bool allowed =
        caller == kAdmin || (caller != kAuditor && target == caller);
    v1::CommandResult result;
    const grpc::Status status = network_.Send(caller, "", e, &result);
    ++tally_.issued;
    const std::string what = absl::StrCat(
        EventName(e), " by ", caller, " (", e.ShortDebugString(), ") -> ",
        status.ok()
            ? "OK"
            : absl::StrCat(status.error_code(), " ", status.error_message()));
    if (status.ok()) {
      ++tally_.accepted;
      ++organization_events_;
      if (e.has_organization_registered()) registered_orgs_.insert(target);
      if (!allowed) {
        tally_.Note(tally_.forbidden_accepted,
                    absl::StrCat("accepted, the model forbids: ", what));
      }
      if (result.stream_id() != "organizations") {
        tally_.Note(tally_.log_mismatch,
                    absl::StrCat("wrote elsewhere: ", what));
      }
    } else if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      if (allowed) {
        tally_.Note(tally_.allowed_denied,
                    absl::StrCat("denied, the model allows: ", what));
      } else {
        ++tally_.denied;
      }
    } else if (allowed) {
      ++tally_.state_refused;
      Count(&Tally::state_codes,
            absl::StrCat(EventName(e), " ", status.error_code()));
      if (state_ok) {
        ++tally_.state_unforeseen;
        MutexLock tally_lock(&tally_.mu);
        if (tally_.unforeseen.size() < 10) tally_.unforeseen.push_back(what);
      }
    } else {
      tally_.Note(tally_.wrong_code,
                  absl::StrCat("the model expects PERMISSION_DENIED: ", what));
    }
  }

  Kind PickKind(std::mt19937_64& rng, const ModelRecord& r) {
    std::vector<double> w(static_cast<int>(Kind::kCount), 2.0);
    auto set = [&](Kind k, double weight) { w[static_cast<int>(k)] = weight; };
    set(Kind::kGiveConsent, 6);
    set(Kind::kRevokeConsent, 4);
    set(Kind::kSendReferral, 8);
    set(Kind::kAccept, 5);
    set(Kind::kStartService, 5);
    set(Kind::kEndService, 4);
    set(Kind::kAddMember, 7);
    set(Kind::kRemoveMember, 4);
    set(Kind::kPlanTransition, 3);
    set(Kind::kCloseCase,
        config_.mutation == Mutation::kAnyInvolvedClosesCase ? 10 : 3);
    set(Kind::kReopenCase, r.case_status == CaseStatus::kClosed ? 80 : 1);
    set(Kind::kOpenCase, r.case_status == CaseStatus::kNotOpened ? 30 : 1);
    set(Kind::kUnlink, 1);
    set(Kind::kHold, 1);
    set(Kind::kFail, 1);
    set(Kind::kInterruption, 1);
    // Commands about a referral, service, member, consent, goal, admission
    // or transition mostly when the record has one (else they name an
    // unknown id, a case the docs leave open).
    auto rare_without = [&](bool has, std::initializer_list<Kind> kinds) {
      if (has) return;
      for (Kind k : kinds) set(k, 0.2);
    };
    rare_without(!r.referrals.empty(),
                 {Kind::kAccept, Kind::kDecline, Kind::kHold, Kind::kStart,
                  Kind::kComplete, Kind::kFail, Kind::kCancel});
    rare_without(!r.services.empty(), {Kind::kEndService, Kind::kInterruption});
    rare_without(!r.team.empty(), {Kind::kRemoveMember, Kind::kMeeting});
    rare_without(!r.consents.empty(), {Kind::kRevokeConsent});
    rare_without(!r.goals.empty(), {Kind::kGoalProgress, Kind::kGoalStatus});
    rare_without(!r.admissions.empty(), {Kind::kDischarge});
    rare_without(!r.transitions.empty(), {Kind::kCompleteTransition});
    rare_without(!r.linked.empty(), {Kind::kUnlink});
    std::discrete_distribution<int> d(w.begin(), w.end());
    return static_cast<Kind>(d(rng));
  }

  struct Proposal {
    std::string caller;
    v1::CareEvent event;
    bool invalid = false;
  };

  // Picks what the command is about, who issues it and builds it.
  Proposal Propose(std::mt19937_64& rng, Kind kind, const ModelRecord& r,
                   const ModelRecord* other, const std::string& other_id) {
    std::vector<std::string> involved;
    for (const std::string& org : Named()) {
      if (Involved(r, org).value_or(false)) involved.push_back(org);
    }
    // A new id (a clash with an existing one is rare: ALREADY_EXISTS).
    auto new_id = [&](const std::string& prefix) {
      return absl::StrCat(prefix, rng() % 1000000);
    };
    // An existing id from `ids` matching `want` (most of the time), any
    // existing one, or an unknown one.
    auto choose = [&](const auto& map, auto want,
                      const std::string& prefix) -> std::string {
      std::vector<std::string> good, all;
      for (const auto& [id, v] : map) {
        all.push_back(id);
        if (want(v)) good.push_back(id);
      }
      const double x = std::uniform_real_distribution<double>(0, 1)(rng);
      if (!good.empty() && x < 0.85) return Pick(rng, good);
      if (!all.empty() && x < 0.97) return Pick(rng, all);
      return absl::StrCat(prefix, "-unknown-", rng() % 5);
    };
    std::string natural;  // the organisation the rule is about
    std::string target;
    switch (kind) {
      case Kind::kAccept:
      case Kind::kDecline:
      case Kind::kHold:
      case Kind::kStart:
      case Kind::kComplete:
      case Kind::kFail:
      case Kind::kCancel: {
        target = choose(
            r.referrals,
            [&](const ModelRecord::Referral& ref) {
              using RS = ReferralStatus;
              switch (kind) {
                case Kind::kAccept:
                  return ref.status == RS::kRequested ||
                         ref.status == RS::kOnHold;
                case Kind::kDecline:
                  return ref.status == RS::kRequested;
                case Kind::kStart:
                case Kind::kComplete:
                  return ref.status == RS::kAccepted ||
                         ref.status == RS::kInProgress;
                default:
                  return ref.status != RS::kCompleted &&
                         ref.status != RS::kDeclined &&
                         ref.status != RS::kCancelled &&
                         ref.status != RS::kFailed;
              }
            },
            "r");
        auto it = r.referrals.find(target);
        if (it != r.referrals.end()) {
          natural = kind == Kind::kCancel && Chance(rng, 0.5) ? it->second.from
                                                              : it->second.to;
        }
        break;
      }
      case Kind::kEndService:
      case Kind::kInterruption: {
        target = choose(
            r.services, [](const ModelRecord::Service& s) { return !s.ended; },
            "s");
        auto it = r.services.find(target);
        if (it != r.services.end()) natural = it->second.provider;
        break;
      }
      case Kind::kRevokeConsent: {
        target = choose(
            r.consents,
            [](const ModelRecord::Consent& k) { return !k.revoked; }, "k");
        auto it = r.consents.find(target);
        if (it != r.consents.end() && Chance(rng, 0.6)) {
          natural = it->second.recorder;
        }
        break;
      }
      case Kind::kCloseCase:
        if (Chance(rng, 0.6)) natural = r.case_opener;
        break;
      case Kind::kAddMember: {
        const std::set<std::string> leads = LeadOrgs(r);
        if (!leads.empty() && Chance(rng, 0.7)) {
          natural =
              Pick(rng, std::vector<std::string>(leads.begin(), leads.end()));
        }
        break;
      }
      case Kind::kRemoveMember: {
        target = choose(
            r.team, [](const ModelRecord::Member& m) { return m.active; }, "m");
        auto it = r.team.find(target);
        const std::set<std::string> leads = LeadOrgs(r);
        if (it != r.team.end()) {
          natural = !leads.empty() && Chance(rng, 0.5) ? *leads.begin()
                                                       : it->second.org;
        }
        break;
      }
      case Kind::kLink:
        if (other != nullptr) {
          std::vector<std::string> both;
          for (const std::string& org : involved) {
            if (Involved(*other, org).value_or(false)) both.push_back(org);
          }
          if (!both.empty()) natural = Pick(rng, both);
        }
        break;
      default:
        break;
    }

    Proposal p;
    const double who = std::uniform_real_distribution<double>(0, 1)(rng);
    if (who < 0.04) {
      p.caller = kAuditor;
    } else if (who < 0.07) {
      p.caller = kAdmin;
    } else if (who < 0.08) {
      p.caller = kUnregistered;
    } else if (who < 0.14) {
      p.caller = kOutsider;
    } else if (who < 0.62 && !natural.empty()) {
      p.caller = natural;
    } else if (who < 0.80 && !involved.empty()) {
      p.caller = Pick(rng, involved);
    } else {
      p.caller = Pick(rng, Named());
    }
    const std::string& caller = p.caller;
    // Another named organisation than the caller.
    auto someone_else = [&] {
      std::string o = Pick(rng, Named());
      while (o == caller) o = Pick(rng, Named());
      return o;
    };
    v1::CareEvent& e = p.event;
    switch (kind) {
      case Kind::kCorrectDetails: {
        auto* c = e.mutable_client_details_corrected();
        c->set_phone(absl::StrCat("555-01", rng() % 100));
        c->set_reason("new phone");
        break;
      }
      case Kind::kLink: {
        auto* l = e.mutable_client_records_linked();
        l->set_other_client_id(other_id);
        l->set_reason("same person");
        break;
      }
      case Kind::kUnlink: {
        auto* u = e.mutable_client_records_unlinked();
        u->set_other_client_id(
            r.linked.empty()
                ? "seed-hospital-0"
                : Pick(rng, std::vector<std::string>(r.linked.begin(),
                                                     r.linked.end())));
        if (u->other_client_id() == r.id) u->set_other_client_id("ghost-x");
        u->set_reason("not the same person");
        break;
      }
      case Kind::kOpenCase:
        e.mutable_case_opened()->set_reason("intake");
        break;
      case Kind::kCloseCase:
        e.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_GOALS_MET);
        break;
      case Kind::kReopenCase:
        e.mutable_case_reopened()->set_reason("relapse");
        break;
      case Kind::kDismiss: {
        auto* d = e.mutable_duplicate_dismissed();
        d->set_finding_id(
            absl::StrCat("duplicate-clients:", r.id, ":other-", rng() % 8));
        d->set_reason("different people");
        break;
      }
      case Kind::kGiveConsent: {
        auto* k = e.mutable_consent_given();
        k->set_consent_id(Chance(rng, 0.03) && !r.consents.empty()
                              ? r.consents.begin()->first
                              : new_id("k"));
        k->add_recipient_organization_ids(
            Chance(rng, 0.3) && Agencies().count(caller) && caller != kOutsider
                ? caller
                : someone_else());
        if (Chance(rng, 0.3)) {
          const std::string second = Pick(rng, Named());
          if (second != k->recipient_organization_ids(0)) {
            k->add_recipient_organization_ids(second);
          }
        }
        k->add_data_classes(v1::DATA_CLASS_GENERAL);
        const bool part2 = Chance(rng, 0.2);
        if (part2) k->add_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
        if (Chance(rng, 0.4)) k->add_data_classes(v1::DATA_CLASS_MENTAL_HEALTH);
        if (!part2 && Chance(rng, 0.2)) {
          k->add_recipient_organization_types(
              Agencies().at(Pick(rng, Named())));
        }
        const int method = static_cast<int>(rng() % 3);
        k->set_method(method == 0   ? v1::CONSENT_METHOD_SIGNED_FORM
                      : method == 1 ? v1::CONSENT_METHOD_ELECTRONIC_SIGNATURE
                                    : v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
        if (method == 2) {
          k->mutable_witness()->set_given("Wendy");
          k->mutable_witness()->set_family("Witness");
        }
        if (Chance(rng, 0.2)) {
          k->mutable_representative()->mutable_name()->set_family("Guardian");
          k->mutable_representative()->set_authority(
              v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
        }
        k->mutable_document()->set_document_id(
            absl::StrCat("roi-", k->consent_id(), ".pdf"));
        k->mutable_document()->set_sha256(std::string(64, 'a' + rng() % 6));
        if (Chance(rng, 0.04)) {  // something the docs call invalid
          p.invalid = true;
          switch (rng() % 5) {
            case 0:
              k->clear_method();
              break;
            case 1:
              k->clear_document();
              break;
            case 2:
              k->set_method(v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
              k->clear_witness();
              break;
            case 3:
              k->mutable_document()->set_sha256("not-a-digest");
              break;
            default:
              if (!part2)
                k->add_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
              k->add_recipient_organization_types(
                  v1::ORGANIZATION_TYPE_HOSPITAL);
              break;
          }
        }
        break;
      }
      case Kind::kRevokeConsent: {
        auto* k = e.mutable_consent_revoked();
        k->set_consent_id(target);
        k->set_reason("client withdrew consent");
        k->set_on_client_request(Chance(rng, 0.4));
        break;
      }
      case Kind::kDisclosure: {
        auto* d = e.mutable_information_disclosed();
        d->set_disclosure_id(new_id("d"));
        d->set_recipient_organization_id(Pick(rng, Named()));
        d->add_data_classes(v1::DATA_CLASS_GENERAL);
        d->set_purpose(v1::PURPOSE_OF_USE_LEGAL);
        d->set_description("attendance record");
        d->set_legal_basis("court order 2026-JV-17");
        break;
      }
      case Kind::kAssessment: {
        auto* a = e.mutable_assessment_recorded();
        a->set_assessment_id(new_id("a"));
        auto* d = a->add_domains();
        d->set_domain(Chance(rng, 0.5) ? v1::SERVICE_CATEGORY_HOUSING
                                       : v1::SERVICE_CATEGORY_FOOD);
        d->set_need_level(v1::NEED_LEVEL_MODERATE);
        break;
      }
      case Kind::kSetGoal: {
        auto* g = e.mutable_goal_set();
        g->set_goal_id(new_id("g"));
        g->set_domain(v1::SERVICE_CATEGORY_HOUSING);
        g->set_description("stable housing");
        g->set_measure("signed lease");
        g->mutable_target_date()->set_year(2027);
        g->mutable_target_date()->set_month(6);
        g->mutable_target_date()->set_day(30);
        break;
      }
      case Kind::kGoalProgress: {
        auto* g = e.mutable_goal_progress_recorded();
        g->set_goal_id(choose(
            [&] {
              std::map<std::string, int> m;
              for (const auto& id : r.goals) m[id] = 0;
              return m;
            }(),
            [](int) { return true; }, "g"));
        g->set_percent_achieved(static_cast<int>(rng() % 101));
        g->set_note("progress");
        break;
      }
      case Kind::kGoalStatus: {
        auto* g = e.mutable_goal_status_changed();
        g->set_goal_id(choose(
            [&] {
              std::map<std::string, int> m;
              for (const auto& id : r.goals) m[id] = 0;
              return m;
            }(),
            [](int) { return true; }, "g"));
        g->set_status(Chance(rng, 0.5) ? v1::GOAL_STATUS_ACTIVE
                                       : v1::GOAL_STATUS_ON_HOLD);
        break;
      }
      case Kind::kSendReferral: {
        auto* s = e.mutable_referral_sent();
        s->set_referral_id(Chance(rng, 0.03) && !r.referrals.empty()
                               ? r.referrals.begin()->first
                               : new_id("r"));
        const std::string to = someone_else();
        s->set_to_organization_id(to);
        const double from = std::uniform_real_distribution<double>(0, 1)(rng);
        if (from < 0.1) {
          s->set_from_organization_id(caller);
        } else if (from < 0.15) {  // in another's name
          std::string forged = someone_else();
          while (forged == to) forged = someone_else();
          s->set_from_organization_id(forged);
        }
        s->set_service_category(Chance(rng, 0.5)
                                    ? v1::SERVICE_CATEGORY_HOUSING
                                    : v1::SERVICE_CATEGORY_MENTAL_HEALTH);
        s->set_kind(v1::REFERRAL_KIND_WARM);
        if (Chance(rng, 0.15))
          s->add_shared_data_classes(v1::DATA_CLASS_GENERAL);
        break;
      }
      case Kind::kAccept:
        e.mutable_referral_accepted()->set_referral_id(target);
        break;
      case Kind::kDecline:
        e.mutable_referral_declined()->set_referral_id(target);
        e.mutable_referral_declined()->set_reason("no capacity");
        break;
      case Kind::kHold:
        e.mutable_referral_on_hold()->set_referral_id(target);
        e.mutable_referral_on_hold()->set_reason("waiting list");
        break;
      case Kind::kStart:
        e.mutable_referral_started()->set_referral_id(target);
        break;
      case Kind::kComplete:
        e.mutable_referral_completed()->set_referral_id(target);
        e.mutable_referral_completed()->set_delivered("housed");
        break;
      case Kind::kFail:
        e.mutable_referral_failed()->set_referral_id(target);
        e.mutable_referral_failed()->set_reason("lost contact");
        break;
      case Kind::kCancel:
        e.mutable_referral_cancelled()->set_referral_id(target);
        e.mutable_referral_cancelled()->set_reason("no longer needed");
        break;
      case Kind::kStartService: {
        auto* s = e.mutable_service_started();
        s->set_service_id(new_id("s"));
        s->set_provider_organization_id(
            Chance(rng, 0.5) && Agencies().count(caller) && caller != kOutsider
                ? caller
                : Pick(rng, Named()));
        s->set_category(v1::SERVICE_CATEGORY_FOOD);
        s->set_level_of_care(v1::LEVEL_OF_CARE_OUTPATIENT);
        break;
      }
      case Kind::kEndService:
        e.mutable_service_ended()->set_service_id(target);
        e.mutable_service_ended()->set_reason("goals met");
        break;
      case Kind::kInterruption:
        e.mutable_service_interruption_notified()->set_service_id(target);
        e.mutable_service_interruption_notified()->set_reason("funding ends");
        break;
      case Kind::kAddMember: {
        auto* m = e.mutable_care_team_member_added();
        std::string id = new_id("m");
        if (Chance(rng, 0.03)) {
          for (const auto& [mid, member] : r.team) {
            if (member.active) id = mid;
          }
        }
        m->set_member_id(id);
        m->mutable_name()->set_given("Pat");
        m->mutable_name()->set_family("Worker");
        m->set_organization_id(Chance(rng, 0.6) && Agencies().count(caller) &&
                                       caller != kOutsider
                                   ? caller
                                   : Pick(rng, Named()));
        m->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
        m->set_role(Chance(rng, 0.3) ? v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER
                                     : v1::CARE_TEAM_ROLE_MEMBER);
        break;
      }
      case Kind::kRemoveMember:
        e.mutable_care_team_member_removed()->set_member_id(target);
        e.mutable_care_team_member_removed()->set_reason("left the team");
        break;
      case Kind::kMeeting: {
        auto* m = e.mutable_team_meeting_held();
        m->set_meeting_id(new_id("mt"));
        std::vector<std::string> active;
        for (const auto& [id, member] : r.team) {
          if (member.active) active.push_back(id);
        }
        m->add_attendee_member_ids(active.empty() ? "m-nobody"
                                                  : Pick(rng, active));
        m->set_client_attended(Chance(rng, 0.5));
        m->add_decisions("continue the plan");
        break;
      }
      case Kind::kAdmission: {
        auto* a = e.mutable_admission_recorded();
        a->set_admission_id(new_id("adm"));
        a->set_facility_organization_id(Pick(rng, Named()));
        a->set_level_of_care(Chance(rng, 0.2) ? v1::LEVEL_OF_CARE_DETOX
                                              : v1::LEVEL_OF_CARE_INPATIENT);
        a->set_primary_need(v1::SERVICE_CATEGORY_MENTAL_HEALTH);
        break;
      }
      case Kind::kPlanTransition: {
        auto* t = e.mutable_transition_planned();
        t->set_transition_id(new_id("t"));
        if (!r.admissions.empty() && Chance(rng, 0.3)) {
          t->set_admission_id(r.admissions.begin()->first);
        }
        t->set_from_level_of_care(v1::LEVEL_OF_CARE_INPATIENT);
        t->set_to_level_of_care(v1::LEVEL_OF_CARE_COMMUNITY);
        t->set_to_organization_id(Pick(rng, Named()));
        break;
      }
      case Kind::kDischarge: {
        auto* d = e.mutable_discharge_recorded();
        d->set_admission_id(choose(
            r.admissions, [](bool open) { return open; }, "adm"));
        d->set_disposition(v1::DISCHARGE_DISPOSITION_HOME);
        break;
      }
      case Kind::kCompleteTransition:
        e.mutable_transition_completed()->set_transition_id(choose(
            r.transitions,
            [](const ModelRecord::Transition& t) { return !t.completed; },
            "t"));
        break;
      case Kind::kFollowUp: {
        auto* f = e.mutable_follow_up_completed();
        f->set_follow_up_id(new_id("f"));
        if (!r.transitions.empty() && Chance(rng, 0.3)) {
          f->set_transition_id(r.transitions.begin()->first);
        }
        f->set_contact_kind(v1::CONTACT_KIND_PHONE);
        f->set_provider_organization_id(Pick(rng, Named()));
        f->set_provider_discipline(v1::DISCIPLINE_SOCIAL_WORK);
        break;
      }
      case Kind::kCount:
        break;
    }
    return p;
  }

  // Sends one command, compares the answer with the model's decision and
  // folds an accepted event into the model. REQUIRES: the records involved
  // are locked. `fresh`: a new record for RegisterClient (r is null).
  // Returns whether the server accepted it.
  bool Issue(const std::string& caller, const std::string& client_id,
             ModelRecord* r, ModelRecord* other, const v1::CareEvent& e,
             bool invalid_field, ModelRecord* fresh) {
    const Decision d = model_.Decide(caller, r, other, e, invalid_field);
    v1::CommandResult result;
    const grpc::Status status = network_.Send(caller, client_id, e, &result);
    ++tally_.issued;
    const std::string what =
        absl::StrCat(EventName(e), " by ", caller, " on ", client_id, " (",
                     d.rule, "; ", e.ShortDebugString(), ")");
    const std::string answer = status.ok()
                                   ? "OK"
                                   : absl::StrCat(status.error_code(), " \"",
                                                  status.error_message(), "\"");
    ModelRecord* target = r != nullptr ? r : fresh;
    if (status.ok()) {
      ++tally_.accepted;
      if (d.verdict == Verdict::kOpen) {
        ++tally_.open_cases;
        ++tally_.open_accepted;
        Count(&Tally::open_answers, absl::StrCat(d.rule, ": OK"));
      } else if (d.verdict != Verdict::kAllow) {
        tally_.Note(tally_.forbidden_accepted,
                    absl::StrCat("accepted, the model forbids: ", what));
      }
      if (target == nullptr) {
        tally_.Note(tally_.log_mismatch,
                    absl::StrCat("accepted on an unknown client: ", what));
        return true;
      }
      // Every refused command wrote nothing: the stream holds exactly the
      // accepted events before this one.
      if (result.stream_id() != absl::StrCat("client-", client_id) ||
          result.stream_version() != target->events ||
          result.event_types_size() != 1) {
        tally_.Note(tally_.log_mismatch,
                    absl::StrCat("accepted at ", result.ShortDebugString(),
                                 ", the model expected version ",
                                 target->events, ": ", what));
        target->events = result.stream_version();
      }
      WriteModel::Apply(caller, *target, e);
      return true;
    }
    const grpc::StatusCode code = status.error_code();
    switch (d.verdict) {
      case Verdict::kAllow:
        if (code == grpc::StatusCode::PERMISSION_DENIED) {
          tally_.Note(
              tally_.allowed_denied,
              absl::StrCat("denied, the model allows: ", what, " -> ", answer));
        } else {
          ++tally_.state_refused;
          Count(&Tally::state_codes, absl::StrCat(EventName(e), " ", code));
          if (r != nullptr && model_.StateAllows(*r, other, e)) {
            ++tally_.state_unforeseen;
            MutexLock lock(&tally_.mu);
            if (tally_.unforeseen.size() < 10) {
              tally_.unforeseen.push_back(absl::StrCat(what, " -> ", answer));
            }
          }
        }
        break;
      case Verdict::kDeny:
        if (code == grpc::StatusCode::PERMISSION_DENIED) {
          ++tally_.denied;
          if (d.step == 1) ++tally_.denied_role;
          if (d.step == 5) ++tally_.denied_standing;
          if (d.step == 5 || d.about_other)
            NoteDenial(caller, e, d, status, client_id);
        } else {
          tally_.Note(tally_.wrong_code,
                      absl::StrCat("the model expects PERMISSION_DENIED (step ",
                                   d.step, "): ", what, " -> ", answer));
        }
        break;
      case Verdict::kInvalid:
      case Verdict::kNotFound:
      case Verdict::kAlreadyExists: {
        const grpc::StatusCode want = d.verdict == Verdict::kInvalid
                                          ? grpc::StatusCode::INVALID_ARGUMENT
                                      : d.verdict == Verdict::kNotFound
                                          ? grpc::StatusCode::NOT_FOUND
                                          : grpc::StatusCode::ALREADY_EXISTS;
        if (code == want) {
          ++tally_.other_expected;
        } else {
          tally_.Note(tally_.wrong_code,
                      absl::StrCat("the model expects ", want, " (step ",
                                   d.step, "): ", what, " -> ", answer));
        }
        break;
      }
      case Verdict::kOpen:
        ++tally_.open_cases;
        Count(&Tally::open_answers, absl::StrCat(d.rule, ": ", code));
        break;
    }
    return false;
  }

  void Count(std::map<std::string, int> Tally::*counts,
             const std::string& key) {
    MutexLock lock(&tally_.mu);
    ++(tally_.*counts)[key];
  }

  // Keeps the first standing denial per caller, command and case (unknown
  // client or known uninvolved one), with the id masked, to compare later.
  void NoteDenial(const std::string& caller, const v1::CareEvent& e,
                  const Decision& d, const grpc::Status& status,
                  const std::string& client_id) {
    const std::string key =
        absl::StrCat(caller, "|", EventName(e), d.about_other ? "|other" : "",
                     "|", d.unknown_client ? "unknown" : "uninvolved");
    std::string masked =
        absl::StrReplaceAll(status.error_message(), {{client_id, "<client>"}});
    if (e.has_client_records_linked()) {
      masked = absl::StrReplaceAll(
          masked, {{e.client_records_linked().other_client_id(), "<other>"}});
    }
    MutexLock lock(&tally_.mu);
    tally_.denial_messages.emplace(key, masked);
  }

  // The denial for an unknown client reads like the one for a known client
  // the caller is not involved with.
  void CheckDenialMessages() {
    MutexLock lock(&tally_.mu);
    int compared = 0;
    for (const auto& [key, message] : tally_.denial_messages) {
      if (!absl::EndsWith(key, "|unknown")) continue;
      const std::string twin =
          absl::StrCat(key.substr(0, key.size() - 7), "uninvolved");
      auto it = tally_.denial_messages.find(twin);
      if (it == tally_.denial_messages.end()) continue;
      ++compared;
      if (it->second != message) {
        tally_.message_mismatch.fetch_add(1);
        if (tally_.disagreements.size() < 40) {
          tally_.disagreements.push_back(absl::StrCat(
              "denials differ for ", key, ":\n  unknown:    ", message,
              "\n  uninvolved: ", it->second));
        }
      }
    }
    compared_messages_ = compared;
  }

  // The whole log as the admin reads it: every client stream holds exactly
  // the events the model saw accepted, and nothing else was written.
  void CheckLog() {
    std::map<std::string, uint64_t> per_stream;
    int other_streams = 0;
    int organizations = 0;
    auto log = v1::EventLog::NewStub(network_.channel(kAdmin));
    v1::ReadAllRequest request;
    request.set_max_count(1000);
    while (true) {
      grpc::ClientContext context;
      AccessNetwork::Act(&context, kAdmin);
      v1::ReadAllResponse page;
      const grpc::Status s = log->ReadAll(&context, request, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) return;
      for (const v1::Event& e : page.events()) {
        if (absl::StartsWith(e.stream_id(), "client-")) {
          ++per_stream[e.stream_id().substr(7)];
        } else if (e.stream_id() == "organizations") {
          ++organizations;
        } else if (!absl::StartsWith(e.stream_id(), "access-")) {
          ++other_streams;
        }
      }
      if (page.end_of_log()) break;
      request.set_from_position(page.next_position());
    }
    MutexLock lock(&table_mu_);
    for (const auto& [id, r] : records_) {
      if (per_stream[id] != r->events) {
        tally_.Note(tally_.log_mismatch,
                    absl::StrCat("client-", id, " holds ", per_stream[id],
                                 " events; the model accepted ", r->events));
      }
      per_stream.erase(id);
    }
    for (const auto& [id, n] : per_stream) {
      tally_.Note(tally_.log_mismatch,
                  absl::StrCat("client-", id,
                               " (no client the model knows) "
                               "holds ",
                               n, " events"));
    }
    {
      MutexLock org_lock(&org_mu_);
      const int want =
          static_cast<int>(Agencies().size()) + organization_events_;
      if (organizations != want) {
        tally_.Note(tally_.log_mismatch,
                    absl::StrCat("organizations holds ", organizations,
                                 " events; the model accepted ", want));
      }
    }
    if (other_streams != 0) {
      tally_.Note(tally_.log_mismatch,
                  absl::StrCat(other_streams, " events on other streams"));
    }
  }

 public:
  int compared_messages() const { return compared_messages_; }

 private:
  AccessNetwork& network_;
  RunConfig config_;
  WriteModel model_;
  Tally tally_;
  Mutex table_mu_;
  std::map<std::string, std::unique_ptr<ModelRecord>> records_
      ABSL_GUARDED_BY(table_mu_);
  std::vector<ModelRecord*> order_ ABSL_GUARDED_BY(table_mu_);
  Mutex org_mu_;
  std::set<std::string> registered_orgs_ ABSL_GUARDED_BY(org_mu_) = [] {
    std::set<std::string> ids;
    for (const auto& [id, type] : Agencies()) ids.insert(id);
    return ids;
  }();
  int organization_events_ ABSL_GUARDED_BY(org_mu_) = 0;
  int compared_messages_ = 0;
};

AccessNetworkOptions NetworkOptions() {
  AccessNetworkOptions options;
  options.agencies = Agencies();
  options.unregistered_roles[kUnregistered] = services::kAgency;
  return options;
}

std::string Summary(Tally& t, int compared_messages) {
  MutexLock lock(&t.mu);
  std::string out = absl::StrCat(
      "commands ", t.issued.load(), ": accepted ", t.accepted.load(),
      ", refused by the write rule ", t.denied.load(), " (role ",
      t.denied_role.load(), ", standing ", t.denied_standing.load(),
      ", the command's own rule ",
      t.denied.load() - t.denied_role.load() - t.denied_standing.load(), ")",
      ", refused as the docs say before the rule (invalid field, unregistered "
      "organisation, taken id) ",
      t.other_expected.load(), ", refused for the record's state ",
      t.state_refused.load(), " (", t.state_unforeseen.load(),
      " the model expected to pass), left open by the docs ",
      t.open_cases.load(), " (", t.open_accepted.load(),
      " accepted); disagreements ", t.Disagreements(), " (accepted/forbidden ",
      t.forbidden_accepted.load(), ", denied/allowed ", t.allowed_denied.load(),
      ", other code ", t.wrong_code.load(), ", log ", t.log_mismatch.load(),
      ", messages ", t.message_mismatch.load(), " of ", compared_messages,
      " compared)\n");
  absl::StrAppend(&out, "state refusals:");
  for (const auto& [k, n] : t.state_codes)
    absl::StrAppend(&out, " [", k, "] ", n);
  absl::StrAppend(&out, "\nleft open by the docs:");
  for (const auto& [k, n] : t.open_answers) {
    absl::StrAppend(&out, "\n  ", k, ": ", n);
  }
  absl::StrAppend(&out, "\nunforeseen state refusals (examples):");
  for (const auto& s : t.unforeseen) absl::StrAppend(&out, "\n  ", s);
  absl::StrAppend(&out, "\n");
  return out;
}

uint64_t SeedFromEnv() {
  const char* seed = std::getenv("CASELINE_WRITE_TEST_SEED");
  return seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20261206;
}

// The sanitizers run ten to fifty times slower: a tenth of the commands.
constexpr int kCommands = testing::kUnderSanitizer ? 1000 : 10000;
constexpr int kMutatedCommands = testing::kUnderSanitizer ? 600 : 2000;

TEST(WriteAccessRandomizedTest, EveryAnswerMatchesTheWriteRule) {
  AccessNetwork network(NetworkOptions());
  ASSERT_TRUE(network.ok());
  RunConfig config;
  config.seed = SeedFromEnv();
  config.commands = kCommands;
  if (const char* m = std::getenv("CASELINE_WRITE_TEST_MUTATION")) {
    config.mutation = MutationNamed(m);
  }
  std::cerr << "seed " << config.seed
            << " (CASELINE_WRITE_TEST_SEED overrides; the threads interleave, "
               "so a rerun issues similar, not identical, commands)\n";
  WriteRun run(network, config);
  run.Run();
  Tally& t = run.tally();
  std::cerr << Summary(t, run.compared_messages());
  EXPECT_GE(t.issued.load(), kCommands);
  // Not vacuous: a fair share passes the rule, and every outcome happens.
  EXPECT_GT(t.accepted.load(), t.issued.load() * 3 / 10);
  EXPECT_GT(t.denied.load(), t.issued.load() / 10);
  EXPECT_GT(run.compared_messages(), 5);
  MutexLock lock(&t.mu);
  const std::string examples = absl::StrJoin(t.disagreements, "\n");
  EXPECT_EQ(t.forbidden_accepted.load(), 0) << examples;
  EXPECT_EQ(t.allowed_denied.load(), 0) << examples;
  EXPECT_EQ(t.wrong_code.load(), 0) << examples;
  EXPECT_EQ(t.log_mismatch.load(), 0) << examples;
  EXPECT_EQ(t.message_mismatch.load(), 0) << examples;
}

// The mutation check: a model that lets any involved organisation close a
// case must disagree with a server that follows the docs.
TEST(WriteAccessRandomizedTest, AMutatedModelDisagrees) {
  AccessNetwork network(NetworkOptions());
  ASSERT_TRUE(network.ok());
  RunConfig config;
  config.seed = SeedFromEnv() + 1;
  config.threads = 4;
  config.commands = kMutatedCommands;
  config.mutation = Mutation::kAnyInvolvedClosesCase;
  WriteRun run(network, config);
  run.Run();
  Tally& t = run.tally();
  std::cerr << "mutated (any involved organisation closes a case): "
            << Summary(t, run.compared_messages());
  EXPECT_GT(t.allowed_denied.load(), 0)
      << "the mutated model found no disagreement: the test cannot fail";
}

}  // namespace
}  // namespace caseline
