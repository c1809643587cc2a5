// Care events as the demo's generators build them: one function per event,
// from plain values, with the people and consents the generators track.
#ifndef CASELINE_TOOLS_DEMO_EVENTS_H_
#define CASELINE_TOOLS_DEMO_EVENTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "tools/demo/common.h"
#include "tools/demo/network.h"

namespace caseline::tools::demo {

// A client's identity as the generators draw it (ClientRegistered).
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
                    const std::string& middle = "");

v1::CareEvent ClientRegisteredEvent(const Person& p, const Org& org,
                                    const std::string& identifier);

v1::CareEvent CaseOpenedEvent(const std::string& reason);

v1::CareEvent CaseClosedEvent(v1::CaseClosureReason reason,
                              const std::string& note);

v1::CareEvent CaseReopenedEvent(const std::string& reason);

v1::CareEvent DuplicateDismissedEvent(const std::string& finding_id,
                                      const std::string& reason);

v1::CareEvent RecordsLinkedEvent(const std::string& other,
                                 const std::string& reason);

v1::CareEvent PhoneCorrectedEvent(const std::string& phone,
                                  const std::string& reason);

v1::Representative Rep(const std::string& given, const std::string& family,
                       v1::RepresentativeAuthority authority);

// The purposes and the data class the generators use most.
inline constexpr v1::PurposeOfUse kCoordination =
    v1::PURPOSE_OF_USE_CARE_COORDINATION;
inline constexpr v1::PurposeOfUse kTreatment = v1::PURPOSE_OF_USE_TREATMENT;
inline constexpr v1::DataClass kGeneral = v1::DATA_CLASS_GENERAL;

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

v1::CareEvent ConsentGivenEvent(const Consent& c);

// A release of data outside a referral, relying on `legal_basis` (e.g. a
// court order) when `consent_id` is empty.
v1::CareEvent InformationDisclosedEvent(
    const std::string& id, const std::string& recipient,
    const std::vector<v1::DataClass>& classes, v1::PurposeOfUse purpose,
    const std::string& description, const std::string& consent_id,
    const std::string& legal_basis);

v1::CareEvent ConsentRevokedEvent(const std::string& id, absl::Time received,
                                  absl::Time effective,
                                  const std::string& reason);

v1::DomainAssessment Domain(v1::ServiceCategory domain, v1::NeedLevel level,
                            const std::string& strengths,
                            const std::string& risks);

v1::CareEvent AssessmentEvent(const std::string& id,
                              const std::vector<v1::DomainAssessment>& domains);

v1::CareEvent GoalSetEvent(const std::string& id, v1::ServiceCategory domain,
                           const std::string& description,
                           const std::string& measure, absl::CivilDay target);

v1::CareEvent GoalProgressEvent(const std::string& id, const std::string& note,
                                int percent);

v1::CareEvent GoalStatusEvent(const std::string& id, v1::GoalStatus status,
                              const std::string& reason);

v1::CareEvent ReferralSentEvent(const std::string& id, const std::string& from,
                                const std::string& to,
                                v1::ServiceCategory category,
                                v1::ReferralKind kind, v1::Urgency urgency,
                                const std::string& reason,
                                const std::vector<v1::DataClass>& shared,
                                v1::PurposeOfUse purpose);

// Referral steps after sending.
enum class Step { kAccept, kDecline, kHold, kStart, kComplete, kFail, kCancel };

// `text` is the reason (decline, hold, fail, cancel) or what was delivered
// (complete); accept and start carry none.
v1::CareEvent ReferralStepEvent(Step step, const std::string& id,
                                const std::string& text);

v1::CareEvent ServiceStartedEvent(const std::string& id,
                                  const std::string& provider,
                                  v1::ServiceCategory category,
                                  v1::LevelOfCare level,
                                  const std::string& referral_id);

v1::CareEvent ServiceEndedEvent(const std::string& id,
                                const std::string& reason);

v1::CareEvent InterruptionEvent(const std::string& id, absl::Time expected_end,
                                const std::string& reason);

v1::CareEvent MemberAddedEvent(const Staff& staff, v1::CareTeamRole role);

v1::CareEvent MemberRemovedEvent(const std::string& member_id,
                                 const std::string& reason);

v1::CareEvent MeetingEvent(const std::string& id,
                           const std::vector<std::string>& attendees,
                           bool client_attended,
                           const std::vector<std::string>& decisions,
                           absl::CivilDay next_review);

// `need` is what the stay is for: MENTAL_HEALTH makes an inpatient stay count
// for FUH and an ED visit for FUM (continuity measures).
v1::CareEvent AdmissionEvent(const std::string& id, const std::string& facility,
                             v1::LevelOfCare level, v1::ServiceCategory need);

v1::CareEvent TransitionEvent(const std::string& id,
                              const std::string& admission_id,
                              v1::LevelOfCare from_level,
                              const std::string& from_org,
                              v1::LevelOfCare to_level,
                              const std::string& to_org, absl::CivilDay planned,
                              absl::CivilDay follow_up_due);

v1::CareEvent DischargeEvent(const std::string& admission_id,
                             v1::DischargeDisposition disposition);

v1::CareEvent TransitionCompletedEvent(const std::string& id);

v1::CareEvent FollowUpEvent(const std::string& id,
                            const std::string& transition_id,
                            const std::string& admission_id,
                            v1::ContactKind kind, const Staff& provider);

// HEDIS TRC: the acting organisation received a stay's discharge
// information, or reconciled the client's medications after it.
v1::CareEvent DischargeInformationEvent(const std::string& id,
                                        const std::string& admission_id);
v1::CareEvent MedicationReconciliationEvent(const std::string& id,
                                            const std::string& admission_id,
                                            v1::Discipline performer);

// Marks the event whose own id is `target_id` (its first field) entered in
// error (resolved to its event id when the commands are numbered:
// history.h ResolveCorrections).
v1::CareEvent EnteredInErrorEvent(const std::string& target_id,
                                  const std::string& reason);

// A claim on an item of the acting organisation's worklist.
v1::CareEvent WorklistItemClaimedEvent(v1::WorklistItemKind kind,
                                       const std::string& subject_id,
                                       const std::string& note);

v1::CareEvent DetailsCorrectedEvent(const std::string& phone,
                                    const std::string& line1,
                                    const std::string& city,
                                    const std::string& postal_code,
                                    const std::string& reason);

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_EVENTS_H_
