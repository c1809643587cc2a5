// Who may see what of a client's record (docs/access.md): the data classes
// each event carries, whether an organisation is involved in the client's
// care, and which classes a consent in force covers for it.
//
// Pure: the caller folds the client's stream into a ClientAccessFold and asks
// Decide() for a reader at a moment. Pure: the caller reads the stream.
//
// The rule, for an organisation with the agency role: an event of a client's
// stream is visible when the reader recorded it, or when the reader is
// involved in the client's care (registering organisation, active care team
// member's organisation, referral sender or receiver, active service
// provider) and a consent in force at the moment of the read covers every
// data class the event carries, for the reader and the purpose of use. Part
// 2 data needs a consent that names the reader (42 CFR 2.31).
#ifndef CASELINE_CARE_ACCESS_POLICY_H_
#define CASELINE_CARE_ACCESS_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "eventstore/event.h"
#include "care/client_record.h"
#include "care/organization_directory.h"

namespace caseline::care {

// A set of data classes: bit (1 << DataClass) per class.
using DataClassMask = uint32_t;
constexpr DataClassMask ClassBit(v1::DataClass c) {
  return DataClassMask{1} << static_cast<int>(c);
}
// An event no consent can cover: a client-stream event that is not a care
// event (a raw append). Only its author, auditors and admins see it.
inline constexpr DataClassMask kUnclassified = DataClassMask{1} << 31;
// Every consentable class (GENERAL through FINANCIAL).
DataClassMask AllConsentableClasses();
std::vector<v1::DataClass> DataClassesIn(DataClassMask mask);
// "MENTAL_HEALTH, SUBSTANCE_USE_PART2"
std::string DataClassNames(DataClassMask mask);

// The data class of information about a service category: MENTAL_HEALTH,
// SUBSTANCE_USE -> SUBSTANCE_USE_PART2, HOUSING, LEGAL (and
// PROBATION_PAROLE, IMMIGRATION), EDUCATION, FINANCIAL_ASSISTANCE ->
// FINANCIAL; every other category is GENERAL.
v1::DataClass DataClassOfCategory(v1::ServiceCategory category);

// The prefix of the access records' streams.
inline constexpr char kAccessStreamPrefix[] = "access-";
// The access records' stream of a client (RecordAccessed,
// BreakGlassReviewed).
std::string AccessStreamId(absl::string_view client_id);
// The client of an access stream, or nullopt.
std::optional<absl::string_view> ClientOfAccessStream(
    absl::string_view stream_id);

// True when `organization_id` is involved in the care of `record`'s client
// now: it registered the client, has an active care team member, sent or
// received a referral, provides an active service, or receives a planned
// transition (docs/access.md "Involvement"). Decides writes and reads.
bool Involved(const ClientRecord& record, absl::string_view organization_id);

// A client's stream folded for access decisions: the client record, and the
// data classes and author of every event.
class ClientAccessFold {
 public:
  explicit ClientAccessFold(std::string client_id)
      : record_(std::move(client_id)) {}

  // Applies the stream's next event. `directory` gives organisation types
  // (a Part 2 program's events and events naming one are Part 2 data).
  void Apply(const eventstore::RecordedEvent& event,
             const OrganizationDirectory& directory);
  // The same with the payload already parsed (the caller parses each event
  // once): `care_event` is the payload of a care event, or nullptr for an
  // event that is not one or whose payload does not parse.
  // `entered_in_error`: a correction of the stream marks the event; it is
  // classified (the audit timeline still shows it) but left out of the
  // record.
  void Apply(const eventstore::RecordedEvent& event,
             const v1::CareEvent* care_event,
             const OrganizationDirectory& directory,
             bool entered_in_error = false);

  const ClientRecord& record() const { return record_; }
  // Version of the last event applied; nullopt for none.
  std::optional<uint64_t> version() const { return record_version_; }

  // The classes and author of the stream's event at `version` (applied);
  // kUnclassified and "" for an unknown version.
  DataClassMask ClassesAt(uint64_t version) const;
  const std::string& AuthorAt(uint64_t version) const;
  // For a referral lifecycle event after ReferralSent (accepted, declined,
  // on hold, started, completed, failed, cancelled) at `version`: the
  // organisation that sent the referral, which always sees it (the closed
  // loop, docs/access.md). nullptr for any other event.
  const std::string* ReferralSenderAt(uint64_t version) const;

  // What a referral, service, goal, admission or transition id is about: the
  // classes and author of the event that created it; nullptr when unknown.
  struct Subject {
    DataClassMask classes = 0;
    std::string author;
  };
  const Subject* FindSubject(absl::string_view subject_id) const;

 private:
  DataClassMask Classify(const v1::CareEvent& event,
                         const std::string& author,
                         const OrganizationDirectory& directory) const;
  DataClassMask SubjectClasses(const std::string& id) const;
  // The classes of a worklist item's subject (a claim is about it).
  DataClassMask ItemClasses(v1::WorklistItemKind kind,
                            const std::string& subject) const;

  ClientRecord record_;
  std::optional<uint64_t> record_version_;
  std::vector<DataClassMask> classes_;  // by stream version
  std::vector<std::string> authors_;    // by stream version
  // Referral lifecycle events: stream version -> the referral's sender.
  absl::flat_hash_map<uint64_t, std::string> referral_senders_;
  absl::flat_hash_map<std::string, Subject> subjects_;
};

// Who reads, why, and when.
struct AccessReader {
  std::string organization_id;
  v1::PurposeOfUse purpose = v1::PURPOSE_OF_USE_CARE_COORDINATION;
  absl::Time at;
};

// A reader's standing on one client.
struct ClientAccessDecision {
  bool involved = false;
  // Classes a consent in force covers for the reader (without involvement
  // they show nothing).
  DataClassMask covered = 0;
  // For each covered class, the consent relied on (the earliest given).
  std::map<v1::DataClass, std::string> consent_for;
  std::string reader;

  // Whether an event with these classes and this author may be shown.
  bool Visible(DataClassMask classes, absl::string_view author) const {
    if (!author.empty() && author == reader) return true;
    return involved && (classes & ~covered) == 0;
  }
  // The consent ids relied on to show `classes`.
  std::vector<std::string> ConsentsFor(DataClassMask classes) const;
};

ClientAccessDecision Decide(const ClientAccessFold& fold,
                            const AccessReader& reader,
                            const OrganizationDirectory& directory);

}  // namespace caseline::care

#endif  // CASELINE_CARE_ACCESS_POLICY_H_
