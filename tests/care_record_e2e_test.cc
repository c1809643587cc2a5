// End-to-end tests of the care-record command services (caseline.v1.Clients,
// Consents, Plans, Referrals, Services, CareTeams, Transitions and
// Organizations) over real gRPC on a loopback port:
//   - the six scenarios of ../shared/domain/README.md, driven as the
//     organisations in them would, each read back through EventLog/ReadStream;
//   - rejections: the right code, a message naming the field or rule, and
//     nothing written;
//   - command idempotency by command_id;
//   - concurrent commands from several organisations on one client.
//
// Every command a test sends goes through an Actor (one organisation and user
// in request metadata). Applied commands are kept in a Journal, and TearDown
// checks that each client stream the test wrote holds exactly the journaled
// events, typed and complete.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "care/command_catalog.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kCareEventContentType[] =
    "application/x-protobuf; messageType=caseline.v1.CareEvent";
constexpr char kOrganizationsStream[] = "organizations";

std::string ClientStream(const std::string& client_id) {
  return absl::StrCat("client-", client_id);
}

// --- Small builders ----------------------------------------------------------

google::protobuf::Timestamp Ts(absl::Time time) {
  google::protobuf::Timestamp out;
  const int64_t seconds = absl::ToUnixSeconds(time);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return out;
}

absl::Time FromTs(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// The UTC calendar day of `time`.
v1::Date DateOf(absl::Time time) {
  const absl::CivilDay day = absl::ToCivilDay(time, absl::UTCTimeZone());
  v1::Date out;
  out.set_year(static_cast<int32_t>(day.year()));
  out.set_month(day.month());
  out.set_day(day.day());
  return out;
}

v1::PersonName Name(const std::string& given, const std::string& family) {
  v1::PersonName name;
  name.set_given(given);
  name.set_family(family);
  return name;
}

v1::ClientRegistered Person(const std::string& given, const std::string& family,
                            int year, int month, int day, v1::Sex sex) {
  v1::ClientRegistered client;
  *client.mutable_name() = Name(given, family);
  client.mutable_birth_date()->set_year(year);
  client.mutable_birth_date()->set_month(month);
  client.mutable_birth_date()->set_day(day);
  client.set_sex(sex);
  client.set_preferred_language("en");
  return client;
}

v1::CaseOpened CaseOpened(const std::string& reason) {
  v1::CaseOpened opened;
  opened.set_reason(reason);
  return opened;
}

v1::CareTeamMemberAdded Member(
    const std::string& member_id, const v1::PersonName& name,
    const std::string& organization_id, v1::Discipline discipline,
    v1::CareTeamRole role = v1::CARE_TEAM_ROLE_MEMBER) {
  v1::CareTeamMemberAdded member;
  member.set_member_id(member_id);
  *member.mutable_name() = name;
  member.set_organization_id(organization_id);
  member.set_discipline(discipline);
  member.set_role(role);
  return member;
}

v1::ConsentGiven Consent(const std::string& consent_id,
                         const std::vector<std::string>& recipients,
                         const std::vector<v1::DataClass>& classes,
                         const std::vector<v1::PurposeOfUse>& purposes) {
  v1::ConsentGiven consent;
  consent.set_consent_id(consent_id);
  for (const std::string& r : recipients)
    consent.add_recipient_organization_ids(r);
  for (v1::DataClass c : classes) consent.add_data_classes(c);
  for (v1::PurposeOfUse p : purposes) consent.add_purposes(p);
  consent.set_method(v1::CONSENT_METHOD_SIGNED_FORM);
  consent.mutable_document()->set_document_id("form-" + consent_id);
  consent.mutable_document()->set_sha256(std::string(64, 'a'));
  return consent;
}

v1::AssessmentRecorded Assessment(
    const std::string& assessment_id,
    const std::vector<std::pair<v1::ServiceCategory, v1::NeedLevel>>& domains) {
  v1::AssessmentRecorded assessment;
  assessment.set_assessment_id(assessment_id);
  for (const auto& [domain, need] : domains) {
    v1::DomainAssessment* d = assessment.add_domains();
    d->set_domain(domain);
    d->set_need_level(need);
  }
  return assessment;
}

v1::GoalSet Goal(const std::string& goal_id, v1::ServiceCategory domain,
                 const std::string& description, const std::string& measure,
                 const v1::Date& target_date) {
  v1::GoalSet goal;
  goal.set_goal_id(goal_id);
  goal.set_domain(domain);
  goal.set_description(description);
  goal.set_measure(measure);
  *goal.mutable_target_date() = target_date;
  return goal;
}

v1::GoalProgressRecorded Progress(const std::string& goal_id, int percent,
                                  const std::string& note) {
  v1::GoalProgressRecorded progress;
  progress.set_goal_id(goal_id);
  progress.set_percent_achieved(percent);
  progress.set_note(note);
  return progress;
}

v1::GoalStatusChanged GoalStatus(const std::string& goal_id,
                                 v1::GoalStatus status,
                                 const std::string& reason) {
  v1::GoalStatusChanged changed;
  changed.set_goal_id(goal_id);
  changed.set_status(status);
  changed.set_reason(reason);
  return changed;
}

v1::ReferralSent Referral(
    const std::string& referral_id, const std::string& to,
    v1::ServiceCategory category, v1::ReferralKind kind,
    const std::vector<v1::DataClass>& shared = {},
    v1::PurposeOfUse purpose = v1::PURPOSE_OF_USE_CARE_COORDINATION) {
  v1::ReferralSent referral;
  referral.set_referral_id(referral_id);
  referral.set_to_organization_id(to);
  referral.set_service_category(category);
  referral.set_kind(kind);
  for (v1::DataClass c : shared) referral.add_shared_data_classes(c);
  referral.set_purpose(purpose);
  return referral;
}

v1::ReferralAccepted Accepted(const std::string& referral_id) {
  v1::ReferralAccepted accepted;
  accepted.set_referral_id(referral_id);
  return accepted;
}

v1::ReferralStarted Started(const std::string& referral_id) {
  v1::ReferralStarted started;
  started.set_referral_id(referral_id);
  return started;
}

v1::ReferralCompleted Completed(const std::string& referral_id,
                                const std::string& delivered) {
  v1::ReferralCompleted completed;
  completed.set_referral_id(referral_id);
  completed.set_delivered(delivered);
  return completed;
}

v1::ServiceStarted Service(const std::string& service_id,
                           const std::string& provider,
                           v1::ServiceCategory category, v1::LevelOfCare level,
                           const std::string& referral_id) {
  v1::ServiceStarted service;
  service.set_service_id(service_id);
  service.set_provider_organization_id(provider);
  service.set_category(category);
  service.set_level_of_care(level);
  service.set_referral_id(referral_id);
  return service;
}

v1::TeamMeetingHeld Meeting(const std::string& meeting_id,
                            const std::vector<std::string>& attendees,
                            bool client_attended,
                            const std::vector<std::string>& decisions,
                            const v1::Date& next_review) {
  v1::TeamMeetingHeld meeting;
  meeting.set_meeting_id(meeting_id);
  for (const std::string& a : attendees) meeting.add_attendee_member_ids(a);
  meeting.set_client_attended(client_attended);
  for (const std::string& d : decisions) meeting.add_decisions(d);
  *meeting.mutable_next_review_date() = next_review;
  return meeting;
}

v1::AdmissionRecorded Admission(const std::string& admission_id,
                                const std::string& facility,
                                v1::LevelOfCare level) {
  v1::AdmissionRecorded admission;
  admission.set_admission_id(admission_id);
  admission.set_facility_organization_id(facility);
  admission.set_level_of_care(level);
  return admission;
}

v1::DischargeRecorded Discharge(const std::string& admission_id,
                                v1::DischargeDisposition disposition) {
  v1::DischargeRecorded discharge;
  discharge.set_admission_id(admission_id);
  discharge.set_disposition(disposition);
  return discharge;
}

v1::TransitionCompleted TransitionDone(const std::string& transition_id) {
  v1::TransitionCompleted completed;
  completed.set_transition_id(transition_id);
  return completed;
}

// --- Commands ----------------------------------------------------------------
//
// Which request and rpc carry each care event comes from care::CommandCatalog
// (care::NewCommandRequest, testing::SendCommandRequest): a new command is
// sent by these tests with no edit here.

// The CareEvent holding `event` (a ReferralSent, a ConsentGiven, ...).
v1::CareEvent Wrap(const google::protobuf::Message& event) {
  v1::CareEvent care_event;
  const google::protobuf::Descriptor* descriptor = v1::CareEvent::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (descriptor->field(i)->message_type() == event.GetDescriptor()) {
      care_event.GetReflection()
          ->MutableMessage(&care_event, descriptor->field(i))
          ->CopyFrom(event);
      return care_event;
    }
  }
  ADD_FAILURE() << event.GetTypeName() << " is not a CareEvent";
  return care_event;
}

// The message name of the CareEvent's oneof case, e.g. "ReferralSent".
std::string EventName(const v1::CareEvent& event) {
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(
          event, v1::CareEvent::descriptor()->FindOneofByName("event"));
  return field == nullptr ? std::string() : field->message_type()->name();
}

// --- Actors and the journal --------------------------------------------------

// A command as a test sent it.
struct SentCommand {
  std::string command_id;
  std::string client_id;  // empty for organisation commands
  std::string organization_id;
  std::string user_id;
  std::optional<absl::Time> occurred_at;
  v1::CareEvent event;
};

struct Reply {
  grpc::Status status;
  v1::CommandResult result;
  SentCommand sent;
};

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("code ", status.error_code(), ": ",
                      status.error_message());
}

// Commands applied (not retried, not refused), by stream.
class Journal {
 public:
  void Add(const Reply& reply) {
    MutexLock lock(&mu_);
    by_stream_[reply.result.stream_id()].push_back(reply);
  }
  std::vector<Reply> ForStream(const std::string& stream_id) {
    MutexLock lock(&mu_);
    auto it = by_stream_.find(stream_id);
    return it == by_stream_.end() ? std::vector<Reply>() : it->second;
  }
  uint64_t CountFor(const std::string& stream_id) {
    return ForStream(stream_id).size();
  }
  std::vector<std::string> Streams() {
    MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& [stream, replies] : by_stream_) out.push_back(stream);
    return out;
  }

 private:
  Mutex mu_;
  std::map<std::string, std::vector<Reply>> by_stream_ ABSL_GUARDED_BY(mu_);
};

// One organisation's (and user's) system calling the command services. Sets
// x-caseline-org and x-caseline-user on every call and gives each command a
// fresh command_id unless the test picks one. Thread-compatible; use one per
// thread.
class Actor {
 public:
  Actor(const std::shared_ptr<grpc::Channel>& channel,
        std::string organization_id, std::string user_id, Journal* journal)
      : channel_(channel),
        organization_id_(std::move(organization_id)),
        user_id_(std::move(user_id)),
        journal_(journal) {}

  const std::string& organization_id() const { return organization_id_; }

  // Proposes `event` (a ReferralSent, a ConsentGiven, ...) for the client
  // under a fresh command_id.
  Reply Record(const std::string& client_id,
               const google::protobuf::Message& event,
               std::optional<absl::Time> occurred_at) {
    return RecordAs(NextCommandId(), client_id, event, occurred_at);
  }

  Reply RecordAs(const std::string& command_id, const std::string& client_id,
                 const google::protobuf::Message& event,
                 std::optional<absl::Time> occurred_at) {
    care::CommandFields fields;
    fields.command_id = command_id;
    fields.client_id = client_id;
    fields.occurred_at = occurred_at;
    fields.event = Wrap(event);
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
        care::NewCommandRequest(fields);
    if (!request.ok()) {
      ADD_FAILURE() << request.status();
      return Reply();
    }
    return Send(**request);
  }

  // Sends `request` (any request of care_record.proto) exactly as given.
  // Applied commands go to the journal.
  Reply Send(const google::protobuf::Message& request) {
    Reply reply;
    reply.sent = Summarize(request);
    reply.status = testing::SendCommandRequest(channel_, organization_id_,
                                               user_id_, request, &reply.result,
                                               std::chrono::seconds(30));
    if (reply.status.ok() && !reply.result.already_applied()) {
      journal_->Add(reply);
    }
    return reply;
  }

  std::string NextCommandId() {
    return absl::StrCat("cmd-", organization_id_, "-", user_id_, "-",
                        ++commands_);
  }

 private:
  // What `request` asks for (care::CommandFieldsOf); only the acting
  // organisation and user for one the server refuses as malformed.
  SentCommand Summarize(const google::protobuf::Message& request) const {
    SentCommand sent;
    sent.organization_id = organization_id_;
    sent.user_id = user_id_;
    absl::StatusOr<care::CommandFields> fields = care::CommandFieldsOf(request);
    if (!fields.ok()) return sent;
    sent.command_id = std::move(fields->command_id);
    sent.client_id = std::move(fields->client_id);
    sent.occurred_at = fields->occurred_at;
    sent.event = std::move(fields->event);
    return sent;
  }

  const std::shared_ptr<grpc::Channel> channel_;
  const std::string organization_id_;
  const std::string user_id_;
  Journal* const journal_;
  int commands_ = 0;
};

// What the server stores for a proposed event: the proposal plus the defaults
// the rules fill in. `at` is the event's occurred_at.
v1::CareEvent WithServerDefaults(const SentCommand& sent, absl::Time at) {
  v1::CareEvent event = sent.event;
  if (event.has_referral_sent()) {
    v1::ReferralSent* referral = event.mutable_referral_sent();
    if (referral->from_organization_id().empty()) {
      referral->set_from_organization_id(sent.organization_id);
    }
    if (referral->urgency() == v1::URGENCY_UNSPECIFIED) {
      referral->set_urgency(v1::URGENCY_ROUTINE);
    }
    if (referral->purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED) {
      referral->set_purpose(v1::PURPOSE_OF_USE_CARE_COORDINATION);
    }
    referral->set_target_source(referral->has_start_by()
                                    ? v1::REFERRAL_TARGET_SOURCE_REQUESTED
                                    : v1::REFERRAL_TARGET_SOURCE_NONE_REQUESTED);
  }
  if (event.has_consent_given() &&
      !event.consent_given().period().has_start()) {
    *event.mutable_consent_given()->mutable_period()->mutable_start() = Ts(at);
  }
  if (event.has_consent_given() && !event.consent_given().has_obtained_at()) {
    *event.mutable_consent_given()->mutable_obtained_at() = Ts(at);
  }
  if (event.has_consent_revoked()) {
    v1::ConsentRevoked* revoked = event.mutable_consent_revoked();
    if (!revoked->has_received_at()) *revoked->mutable_received_at() = Ts(at);
    if (!revoked->has_effective_at()) {
      *revoked->mutable_effective_at() = revoked->received_at();
    }
  }
  return event;
}

// --- The fixture -------------------------------------------------------------

class CareRecordE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loopback_.ok()); }

  // Every client stream the test wrote holds exactly the journaled commands.
  void TearDown() override {
    if (!loopback_.ok()) return;
    for (const std::string& stream : journal_.Streams()) {
      if (stream == kOrganizationsStream) continue;
      if (streams_with_raw_events_.count(stream) > 0) continue;
      SCOPED_TRACE(stream);
      ExpectStreamMatchesJournal(stream);
    }
    ExpectChainIntact();
  }

  std::unique_ptr<Actor> NewActor(const std::string& organization_id,
                                  const std::string& user_id) {
    return std::make_unique<Actor>(loopback_.channel(), organization_id,
                                   user_id, &journal_);
  }

  // Registers the organisation, acting as itself.
  void RegisterOrganization(
      const std::string& id, const std::string& name, v1::OrganizationType type,
      const std::vector<v1::ServiceCategory>& categories = {}) {
    v1::RegisterOrganizationRequest request;
    Actor actor(loopback_.channel(), id, "directory-admin", &journal_);
    request.set_command_id(actor.NextCommandId());
    v1::OrganizationRegistered* org = request.mutable_organization_registered();
    org->set_organization_id(id);
    org->set_name(name);
    org->set_type(type);
    for (v1::ServiceCategory c : categories) org->add_service_categories(c);
    const uint64_t head = loopback_.Head();
    const Reply reply = actor.Send(request);
    ASSERT_TRUE(reply.status.ok()) << id << ": " << Describe(reply.status);
    EXPECT_EQ(reply.result.stream_id(), kOrganizationsStream);
    EXPECT_THAT(reply.result.event_types(),
                ElementsAre("OrganizationRegistered"));
    EXPECT_FALSE(reply.result.already_applied());
    EXPECT_EQ(reply.result.first_global_position(), head + 1);
  }

  // Sends the command and expects it applied as one new event at the next
  // version of the client's stream and the next global position.
  template <typename Event>
  v1::CommandResult Do(Actor& actor, const std::string& client_id,
                       const Event& event, absl::Time occurred_at) {
    const std::string stream = ClientStream(client_id);
    const uint64_t version = journal_.CountFor(stream);
    const uint64_t head = loopback_.Head();
    const Reply reply = actor.Record(client_id, event, occurred_at);
    EXPECT_TRUE(reply.status.ok())
        << actor.organization_id() << " " << Event::descriptor()->name()
        << " for " << client_id << ": " << Describe(reply.status);
    const v1::CommandResult& result = reply.result;
    EXPECT_EQ(result.stream_id(), stream);
    EXPECT_THAT(result.event_types(), ElementsAre(Event::descriptor()->name()));
    EXPECT_FALSE(result.already_applied());
    EXPECT_EQ(result.stream_version(), version);
    EXPECT_EQ(result.first_global_position(), head + 1);
    EXPECT_EQ(result.last_global_position(), head + 1);
    return result;
  }

  // Expects `send` refused with `code` and a message holding every fragment,
  // and the log unchanged.
  void ExpectRefused(grpc::StatusCode code,
                     const std::vector<std::string>& fragments,
                     const std::function<Reply()>& send) {
    const uint64_t head = loopback_.Head();
    const Reply reply = send();
    EXPECT_EQ(reply.status.error_code(), code) << Describe(reply.status);
    for (const std::string& fragment : fragments) {
      EXPECT_THAT(reply.status.error_message(), HasSubstr(fragment));
    }
    EXPECT_EQ(loopback_.Head(), head) << "a refused command moved the log head";
  }

  // The stream holds exactly the journaled commands, once each, at
  // contiguous versions: typed (event_type = the CareEvent's case), complete
  // (the payload is the proposed event plus the server's defaults), and
  // attributed (actor = the metadata's organisation and user, command_id).
  void ExpectStreamMatchesJournal(const std::string& stream_id) {
    std::vector<Reply> applied = journal_.ForStream(stream_id);
    std::sort(applied.begin(), applied.end(),
              [](const Reply& a, const Reply& b) {
                return a.result.stream_version() < b.result.stream_version();
              });
    const std::vector<v1::Event> events = loopback_.ReadStream(stream_id);
    ASSERT_EQ(events.size(), applied.size());
    for (size_t i = 0; i < events.size(); ++i) {
      const v1::Event& stored = events[i];
      const Reply& reply = applied[i];
      const SentCommand& sent = reply.sent;
      SCOPED_TRACE(absl::StrCat("version ", i, ", command ", sent.command_id));
      EXPECT_EQ(stored.stream_id(), stream_id);
      EXPECT_EQ(ClientStream(sent.client_id), stream_id);
      EXPECT_EQ(stored.stream_version(), i);
      EXPECT_EQ(reply.result.stream_version(), i);
      EXPECT_EQ(stored.global_position(), reply.result.first_global_position());
      if (i > 0) {
        EXPECT_GT(stored.global_position(), events[i - 1].global_position());
      }
      EXPECT_EQ(stored.event_type(), EventName(sent.event));
      EXPECT_EQ(stored.content_type(), kCareEventContentType);
      EXPECT_EQ(stored.actor().organization_id(), sent.organization_id);
      EXPECT_EQ(stored.actor().user_id(), sent.user_id);
      auto command_id = stored.metadata().find("command_id");
      ASSERT_NE(command_id, stored.metadata().end());
      EXPECT_EQ(command_id->second, sent.command_id);
      const absl::Time at = FromTs(stored.occurred_at());
      if (sent.occurred_at.has_value()) {
        EXPECT_EQ(at, *sent.occurred_at);
      }

      v1::CareEvent payload;
      ASSERT_TRUE(payload.ParseFromString(stored.payload()));
      EXPECT_EQ(payload.event_case(), sent.event.event_case());
      EXPECT_EQ(EventName(payload), stored.event_type());
      const v1::CareEvent expected = WithServerDefaults(sent, at);
      std::string differences;
      google::protobuf::util::MessageDifferencer differencer;
      differencer.ReportDifferencesToString(&differences);
      EXPECT_TRUE(differencer.Compare(expected, payload)) << differences;
    }
  }

  // The stream's events, parsed.
  std::vector<v1::CareEvent> CareEvents(const std::string& client_id) {
    std::vector<v1::CareEvent> out;
    for (const v1::Event& e : loopback_.ReadStream(ClientStream(client_id))) {
      EXPECT_TRUE(out.emplace_back().ParseFromString(e.payload()));
    }
    return out;
  }

  // The stream's event types, in order.
  std::vector<std::string> EventTypes(const std::string& client_id) {
    std::vector<std::string> out;
    for (const v1::Event& e : loopback_.ReadStream(ClientStream(client_id))) {
      out.push_back(e.event_type());
    }
    return out;
  }

  void ExpectChainIntact() {
    v1::VerifyChainResponse verify;
    grpc::ClientContext context;
    const grpc::Status status = loopback_.log()->VerifyChain(
        &context, v1::VerifyChainRequest(), &verify);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_TRUE(verify.ok()) << verify.problem();
    EXPECT_EQ(verify.head_position(), loopback_.Head());
  }

  // A past moment on whole seconds, so that scenarios can span weeks.
  static absl::Time DaysAgo(int days) {
    return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) -
           absl::Hours(24 * days);
  }
  static absl::Duration Days(int n) { return absl::Hours(24 * n); }

  testing::LoopbackServer loopback_{"care_e2e"};
  Journal journal_;
  // Streams a test wrote raw (non-care) events to, below the API: their
  // contents are not the journal's alone.
  std::set<std::string> streams_with_raw_events_;
};

// --- Scenario 1: a man leaving prison ----------------------------------------

// His case manager's reentry agency registers him, opens the case, builds the
// team with a lead case manager, records his consent to share with a parole
// agency, county social services, job placement and a behavioural-health
// agency, plans the prison -> community transition, sends referrals that share
// data, and a month later holds a conference with all of them and the client.
TEST_F(CareRecordE2eTest, Scenario1ManLeavingPrison) {
  RegisterOrganization("reentry-cm", "Second Chance Reentry Services",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  RegisterOrganization("state-prison", "State Correctional Facility",
                       v1::ORGANIZATION_TYPE_COURT_PAROLE);
  RegisterOrganization("state-parole", "State Parole Division",
                       v1::ORGANIZATION_TYPE_COURT_PAROLE,
                       {v1::SERVICE_CATEGORY_PROBATION_PAROLE});
  RegisterOrganization("county-social", "County Social Services",
                       v1::ORGANIZATION_TYPE_SOCIAL_SERVICES,
                       {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
                        v1::SERVICE_CATEGORY_HOUSING});
  RegisterOrganization("job-placement", "WorkFirst Job Placement",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY,
                       {v1::SERVICE_CATEGORY_EMPLOYMENT});
  RegisterOrganization("bh-agency", "Riverside Behavioral Health",
                       v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH,
                       {v1::SERVICE_CATEGORY_MENTAL_HEALTH});
  auto cm = NewActor("reentry-cm", "alvarez");
  auto prison = NewActor("state-prison", "records-office");
  auto parole = NewActor("state-parole", "po-brooks");
  auto social = NewActor("county-social", "intake");
  auto jobs = NewActor("job-placement", "intake");
  auto bh = NewActor("bh-agency", "intake");

  const std::string client = "marcus-reid";
  const absl::Time release = DaysAgo(40);
  v1::ClientRegistered marcus =
      Person("Marcus", "Reid", 1984, 7, 2, v1::SEX_MALE);
  v1::ClientIdentifier* doc = marcus.add_identifiers();
  doc->set_organization_id("state-prison");
  doc->set_system("DOC");
  doc->set_value("A-448812");
  Do(*cm, client, marcus, release - Days(14));
  Do(*cm, client, CaseOpened("reentry planning before release"),
     release - Days(14));
  Do(*cm, client,
     Member("cm-alvarez", Name("Rosa", "Alvarez"), "reentry-cm",
            v1::DISCIPLINE_CASE_MANAGEMENT,
            v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
     release - Days(14));
  // The lead brings the prison's release coordinator onto the team, which
  // lets the prison record what it knows (docs/access.md: an organisation
  // never involves itself).
  Do(*cm, client,
     Member("doc-liaison", Name("Sam", "Ortiz"), "state-prison",
            v1::DISCIPLINE_CASE_MANAGEMENT),
     release - Days(14));
  // The prison reports the incarceration (late data is normal).
  Do(*prison, client,
     Admission("doc-2019", "state-prison", v1::LEVEL_OF_CARE_INCARCERATION),
     release - Days(5 * 365));
  Do(*cm, client,
     Member("po-brooks", Name("Dana", "Brooks"), "state-parole",
            v1::DISCIPLINE_PROBATION_PAROLE),
     release - Days(14));
  Do(*cm, client,
     Member("sw-kim", Name("Jae", "Kim"), "county-social",
            v1::DISCIPLINE_SOCIAL_WORK),
     release - Days(14));
  Do(*cm, client,
     Member("es-okoro", Name("Ify", "Okoro"), "job-placement",
            v1::DISCIPLINE_CASE_MANAGEMENT),
     release - Days(14));
  Do(*cm, client,
     Member("dr-singh", Name("Amrit", "Singh"), "bh-agency",
            v1::DISCIPLINE_PSYCHOLOGY),
     release - Days(14));

  Do(*cm, client,
     Assessment(
         "intake-1",
         {{v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_HIGH},
          {v1::SERVICE_CATEGORY_EMPLOYMENT, v1::NEED_LEVEL_HIGH},
          {v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::NEED_LEVEL_MODERATE},
          {v1::SERVICE_CATEGORY_PROBATION_PAROLE, v1::NEED_LEVEL_MODERATE}}),
     release - Days(13));
  // His consent: general and legal information to all four; mental-health
  // information to the behavioural-health agency only.
  Do(*cm, client,
     Consent("reentry-all",
             {"state-parole", "county-social", "job-placement", "bh-agency"},
             {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_LEGAL},
             {v1::PURPOSE_OF_USE_CARE_COORDINATION}),
     release - Days(10));
  Do(*cm, client,
     Consent(
         "reentry-bh", {"bh-agency"}, {v1::DATA_CLASS_MENTAL_HEALTH},
         {v1::PURPOSE_OF_USE_TREATMENT, v1::PURPOSE_OF_USE_CARE_COORDINATION}),
     release - Days(10));

  v1::TransitionPlanned to_community;
  to_community.set_transition_id("release-plan");
  to_community.set_admission_id("doc-2019");
  to_community.set_from_level_of_care(v1::LEVEL_OF_CARE_INCARCERATION);
  to_community.set_from_organization_id("state-prison");
  to_community.set_to_level_of_care(v1::LEVEL_OF_CARE_COMMUNITY);
  to_community.set_to_organization_id("reentry-cm");
  *to_community.mutable_planned_date() = DateOf(release);
  *to_community.mutable_follow_up_due() = DateOf(release + Days(7));
  Do(*cm, client, to_community, release - Days(9));

  // Referrals that share data, each answered by its receiving organisation.
  struct Linkage {
    std::string referral_id;
    Actor* receiver;
    v1::ServiceCategory category;
    v1::ReferralKind kind;
    std::vector<v1::DataClass> shared;
  };
  const std::vector<Linkage> linkages = {
      {"ref-parole",
       parole.get(),
       v1::SERVICE_CATEGORY_PROBATION_PAROLE,
       v1::REFERRAL_KIND_WARM,
       {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_LEGAL}},
      {"ref-social",
       social.get(),
       v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
       v1::REFERRAL_KIND_WARM,
       {v1::DATA_CLASS_GENERAL}},
      {"ref-jobs",
       jobs.get(),
       v1::SERVICE_CATEGORY_EMPLOYMENT,
       v1::REFERRAL_KIND_COLD,
       {v1::DATA_CLASS_GENERAL}},
      {"ref-bh",
       bh.get(),
       v1::SERVICE_CATEGORY_MENTAL_HEALTH,
       v1::REFERRAL_KIND_WARM,
       {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}},
  };
  for (const Linkage& l : linkages) {
    Do(*cm, client,
       Referral(l.referral_id, l.receiver->organization_id(), l.category,
                l.kind, l.shared),
       release - Days(7));
  }
  for (const Linkage& l : linkages) {
    Do(*l.receiver, client, Accepted(l.referral_id), release - Days(5));
  }

  Do(*prison, client, Discharge("doc-2019", v1::DISCHARGE_DISPOSITION_OTHER),
     release);
  Do(*cm, client, TransitionDone("release-plan"), release);

  // A month later: the conference with all of them, the client attending.
  const v1::CommandResult meeting =
      Do(*cm, client,
         Meeting("conference-1",
                 {"cm-alvarez", "po-brooks", "sw-kim", "es-okoro", "dr-singh"},
                 /*client_attended=*/true,
                 {"keep weekly parole check-ins",
                  "apply for SNAP and housing voucher",
                  "start job-readiness class"},
                 DateOf(release + Days(60))),
         release + Days(30));
  EXPECT_EQ(meeting.stream_version(),
            journal_.CountFor(ClientStream(client)) - 1);

  // Read back: the team meeting and the consent as stored.
  const std::vector<v1::CareEvent> events = CareEvents(client);
  ASSERT_FALSE(events.empty());
  const v1::TeamMeetingHeld& held = events.back().team_meeting_held();
  EXPECT_THAT(
      held.attendee_member_ids(),
      ElementsAre("cm-alvarez", "po-brooks", "sw-kim", "es-okoro", "dr-singh"));
  EXPECT_TRUE(held.client_attended());
  int referrals = 0;
  for (const v1::CareEvent& e : events) {
    if (e.has_referral_sent()) {
      ++referrals;
      EXPECT_EQ(e.referral_sent().from_organization_id(), "reentry-cm");
      EXPECT_EQ(e.referral_sent().urgency(), v1::URGENCY_ROUTINE);
    }
    if (e.has_consent_given()) {
      EXPECT_EQ(FromTs(e.consent_given().period().start()), release - Days(10));
      EXPECT_FALSE(e.consent_given().has_representative());
    }
  }
  EXPECT_EQ(referrals, 4);
}

// --- Scenario 2: a stroke patient discharged home ----------------------------

// The hospital admits her, plans the transition home with a receiving home-care
// agency, discharges her, refers her to physical therapy, occupational therapy,
// a survivors' support group and in-home care, each with a dated goal, and the
// home-care nurse completes the follow-up.
TEST_F(CareRecordE2eTest, Scenario2StrokePatientDischargedHome) {
  RegisterOrganization("mercy-hospital", "Mercy General Hospital",
                       v1::ORGANIZATION_TYPE_HOSPITAL,
                       {v1::SERVICE_CATEGORY_HEALTH_CARE});
  RegisterOrganization("rehab-pt", "Northside Physical Therapy",
                       v1::ORGANIZATION_TYPE_PRIMARY_CARE,
                       {v1::SERVICE_CATEGORY_PHYSICAL_THERAPY});
  RegisterOrganization("rehab-ot", "Northside Occupational Therapy",
                       v1::ORGANIZATION_TYPE_PRIMARY_CARE,
                       {v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY});
  RegisterOrganization("stroke-club", "Stroke Survivors Club",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY,
                       {v1::SERVICE_CATEGORY_SUPPORT_GROUP});
  RegisterOrganization("sunrise-home", "Sunrise Home Care",
                       v1::ORGANIZATION_TYPE_HOME_CARE,
                       {v1::SERVICE_CATEGORY_IN_HOME_CARE});
  auto hospital = NewActor("mercy-hospital", "planner-nguyen");
  auto pt = NewActor("rehab-pt", "front-desk");
  auto ot = NewActor("rehab-ot", "front-desk");
  auto club = NewActor("stroke-club", "coordinator");
  auto home = NewActor("sunrise-home", "nurse-patel");

  const std::string client = "helen-park";
  const absl::Time admitted = DaysAgo(20);
  const absl::Time discharged = admitted + Days(6);
  Do(*hospital, client, Person("Helen", "Park", 1949, 11, 23, v1::SEX_FEMALE),
     admitted);
  Do(*hospital, client, CaseOpened("ischaemic stroke; discharge planning"),
     admitted);
  Do(*hospital, client,
     Admission("adm-1", "mercy-hospital", v1::LEVEL_OF_CARE_INPATIENT),
     admitted);
  Do(*hospital, client,
     Member("dp-nguyen", Name("Linh", "Nguyen"), "mercy-hospital",
            v1::DISCIPLINE_SOCIAL_WORK, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
     admitted);
  Do(*hospital, client,
     Member("rn-ortiz", Name("Marco", "Ortiz"), "mercy-hospital",
            v1::DISCIPLINE_NURSING),
     admitted);
  // Her consent names the receivers by type: any therapy practice, home-care
  // agency or community agency may receive general information.
  v1::ConsentGiven by_type = Consent(
      "discharge-sharing", {}, {v1::DATA_CLASS_GENERAL},
      {v1::PURPOSE_OF_USE_TREATMENT, v1::PURPOSE_OF_USE_CARE_COORDINATION});
  by_type.add_recipient_organization_types(v1::ORGANIZATION_TYPE_PRIMARY_CARE);
  by_type.add_recipient_organization_types(v1::ORGANIZATION_TYPE_HOME_CARE);
  by_type.add_recipient_organization_types(
      v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  Do(*hospital, client, by_type, admitted + Days(2));

  v1::TransitionPlanned home_plan;
  home_plan.set_transition_id("tr-home");
  home_plan.set_admission_id("adm-1");
  home_plan.set_from_level_of_care(v1::LEVEL_OF_CARE_INPATIENT);
  home_plan.set_from_organization_id("mercy-hospital");
  home_plan.set_to_level_of_care(v1::LEVEL_OF_CARE_HOME);
  home_plan.set_to_organization_id("sunrise-home");
  *home_plan.mutable_planned_date() = DateOf(discharged);
  *home_plan.mutable_follow_up_due() = DateOf(discharged + Days(2));
  Do(*hospital, client, home_plan, admitted + Days(3));

  // A referral for each need, each with a dated SMART goal as its timeline.
  struct Need {
    std::string referral_id;
    Actor* receiver;
    v1::ServiceCategory category;
    v1::ReferralKind kind;
    v1::Urgency urgency;
    std::vector<v1::DataClass> shared;
    std::string goal;
    std::string measure;
    int weeks;
  };
  const std::vector<Need> needs = {
      {"ref-pt",
       pt.get(),
       v1::SERVICE_CATEGORY_PHYSICAL_THERAPY,
       v1::REFERRAL_KIND_WARM,
       v1::URGENCY_URGENT,
       {v1::DATA_CLASS_GENERAL},
       "walk 100 m with a cane",
       "metres walked unaided",
       8},
      {"ref-ot",
       ot.get(),
       v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY,
       v1::REFERRAL_KIND_WARM,
       v1::URGENCY_ROUTINE,
       {v1::DATA_CLASS_GENERAL},
       "dress and bathe independently",
       "ADLs done without help",
       12},
      {"ref-club",
       club.get(),
       v1::SERVICE_CATEGORY_SUPPORT_GROUP,
       v1::REFERRAL_KIND_COLD,
       v1::URGENCY_ROUTINE,
       {},
       "attend a survivors' group",
       "meetings attended",
       6},
      {"ref-home",
       home.get(),
       v1::SERVICE_CATEGORY_IN_HOME_CARE,
       v1::REFERRAL_KIND_WARM,
       v1::URGENCY_URGENT,
       {v1::DATA_CLASS_GENERAL},
       "safe at home with daily aide visits",
       "days with an aide visit",
       4},
  };
  for (const Need& n : needs) {
    v1::ReferralSent referral =
        Referral(n.referral_id, n.receiver->organization_id(), n.category,
                 n.kind, n.shared, v1::PURPOSE_OF_USE_TREATMENT);
    referral.set_urgency(n.urgency);
    referral.set_reason("post-stroke rehabilitation at home");
    Do(*hospital, client, referral, discharged - Days(1));
    Do(*hospital, client,
       Goal(absl::StrCat("goal-", n.referral_id), n.category, n.goal, n.measure,
            DateOf(discharged + Days(7 * n.weeks))),
       discharged - Days(1));
  }
  Do(*hospital, client,
     Discharge("adm-1", v1::DISCHARGE_DISPOSITION_HOME_WITH_SERVICES),
     discharged);
  Do(*hospital, client, TransitionDone("tr-home"), discharged);
  for (const Need& n : needs) {
    Do(*n.receiver, client, Accepted(n.referral_id), discharged + Days(1));
  }
  Do(*home, client, Started("ref-home"), discharged + Days(1));
  Do(*home, client,
     Service("svc-aide", "sunrise-home", v1::SERVICE_CATEGORY_IN_HOME_CARE,
             v1::LEVEL_OF_CARE_HOME, "ref-home"),
     discharged + Days(1));
  v1::FollowUpCompleted follow_up;
  follow_up.set_follow_up_id("fu-1");
  follow_up.set_transition_id("tr-home");
  follow_up.set_admission_id("adm-1");
  follow_up.set_contact_kind(v1::CONTACT_KIND_HOME_VISIT);
  follow_up.set_provider_organization_id("sunrise-home");
  follow_up.set_provider_discipline(v1::DISCIPLINE_NURSING);
  Do(*home, client, follow_up, discharged + Days(2));
  Do(*home, client,
     Completed("ref-home", "aide visits daily; client connected"),
     discharged + Days(3));

  // Read back: each referral with its urgency and a goal dated for it.
  std::map<std::string, v1::Urgency> urgency;
  std::map<std::string, v1::Date> target;
  for (const v1::CareEvent& e : CareEvents(client)) {
    if (e.has_referral_sent()) {
      urgency[e.referral_sent().referral_id()] = e.referral_sent().urgency();
    }
    if (e.has_goal_set()) {
      target[e.goal_set().goal_id()] = e.goal_set().target_date();
    }
  }
  EXPECT_EQ(urgency.size(), 4u);
  EXPECT_EQ(urgency["ref-pt"], v1::URGENCY_URGENT);
  EXPECT_EQ(urgency["ref-club"], v1::URGENCY_ROUTINE);
  ASSERT_EQ(target.size(), 4u);
  EXPECT_EQ(target["goal-ref-pt"].SerializeAsString(),
            DateOf(discharged + Days(56)).SerializeAsString());
  EXPECT_EQ(EventTypes(client).back(), "ReferralCompleted");
}

// --- Scenario 3: an older couple and their adult children --------------------

// The adult children ask for information and push for a nursing home. Without
// the couple's consent nothing is disclosed, whether the children's
// organisation asks or the couple's own agency acts on their request. Once
// the husband's health-care agent consents, his referral goes through; his
// wife has not consented, so hers still does not.
TEST_F(CareRecordE2eTest, Scenario3OlderCoupleNothingWithoutConsent) {
  RegisterOrganization("elder-cm", "Area Agency on Aging",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  RegisterOrganization("family-advocates", "Family Care Advocates",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  RegisterOrganization(
      "oakridge-nursing", "Oakridge Skilled Nursing",
      v1::ORGANIZATION_TYPE_HOME_CARE,
      {v1::SERVICE_CATEGORY_HEALTH_CARE, v1::SERVICE_CATEGORY_DISABILITY});
  auto cm = NewActor("elder-cm", "worker-hale");
  auto children = NewActor("family-advocates", "advocate-ross");
  const absl::Time start = DaysAgo(30);

  const std::string husband = "walter-brandt";
  const std::string wife = "ingrid-brandt";
  Do(*cm, husband, Person("Walter", "Brandt", 1938, 4, 9, v1::SEX_MALE), start);
  Do(*cm, wife, Person("Ingrid", "Brandt", 1941, 1, 17, v1::SEX_FEMALE), start);
  for (const std::string& client : {husband, wife}) {
    Do(*cm, client, CaseOpened("in-home supports for an older couple"), start);
    Do(*cm, client,
       Member("cm-hale", Name("Ruth", "Hale"), "elder-cm",
              v1::DISCIPLINE_SOCIAL_WORK, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
       start);
    Do(*cm, client,
       Assessment("home-visit-1",
                  {{v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_MODERATE},
                   {v1::SERVICE_CATEGORY_IN_HOME_CARE, v1::NEED_LEVEL_LOW}}),
       start + Days(1));
  }

  // The children's organisation asks for the nursing home to receive his
  // information, then for its own copy. It has no part in his care, so it
  // may not write into his record at all.
  ExpectRefused(
      grpc::StatusCode::PERMISSION_DENIED,
      {"is not known to organisation family-advocates", "not involved",
       husband},
      [&] {
        return children->Record(
            husband,
            Referral("kids-nursing", "oakridge-nursing",
                     v1::SERVICE_CATEGORY_HEALTH_CARE, v1::REFERRAL_KIND_WARM,
                     {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}),
            start + Days(3));
      });
  // The couple's own agency, acting on the children's request.
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "DATA_CLASS_GENERAL", "family-advocates"}, [&] {
        return cm->Record(
            wife,
            Referral("info-for-children", "family-advocates",
                     v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
                     v1::REFERRAL_KIND_WARM, {v1::DATA_CLASS_GENERAL}),
            start + Days(3));
      });
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "DATA_CLASS_MENTAL_HEALTH", "oakridge-nursing"},
      [&] {
        return cm->Record(
            husband,
            Referral("nursing-eval", "oakridge-nursing",
                     v1::SERVICE_CATEGORY_HEALTH_CARE, v1::REFERRAL_KIND_WARM,
                     {v1::DATA_CLASS_MENTAL_HEALTH}),
            start + Days(3));
      });

  // His health-care agent (their daughter) consents for him, limited to the
  // nursing home's evaluation.
  v1::ConsentGiven agent_consent =
      Consent("hca-nursing-eval", {"oakridge-nursing"},
              {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
              {v1::PURPOSE_OF_USE_TREATMENT});
  *agent_consent.mutable_representative()->mutable_name() =
      Name("Karin", "Brandt");
  agent_consent.mutable_representative()->set_authority(
      v1::REPRESENTATIVE_AUTHORITY_HEALTH_CARE_AGENT);
  *agent_consent.mutable_period()->mutable_end() = Ts(start + Days(90));
  Do(*cm, husband, agent_consent, start + Days(5));
  Do(*cm, husband,
     Referral("nursing-eval", "oakridge-nursing",
              v1::SERVICE_CATEGORY_HEALTH_CARE, v1::REFERRAL_KIND_WARM,
              {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
              v1::PURPOSE_OF_USE_TREATMENT),
     start + Days(6));

  // Her record still discloses nothing: his agent's consent is not hers.
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "DATA_CLASS_GENERAL", "oakridge-nursing", wife},
      [&] {
        return cm->Record(
            wife,
            Referral("nursing-eval", "oakridge-nursing",
                     v1::SERVICE_CATEGORY_HEALTH_CARE, v1::REFERRAL_KIND_WARM,
                     {v1::DATA_CLASS_GENERAL}),
            start + Days(6));
      });
  // And the children's organisation was not named by the agent.
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "family-advocates"}, [&] {
        return cm->Record(
            husband,
            Referral("info-for-children", "family-advocates",
                     v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
                     v1::REFERRAL_KIND_WARM, {v1::DATA_CLASS_GENERAL}),
            start + Days(6));
      });

  const std::vector<v1::CareEvent> his = CareEvents(husband);
  ASSERT_GE(his.size(), 2u);
  const v1::ConsentGiven& stored = his[his.size() - 2].consent_given();
  EXPECT_EQ(stored.representative().authority(),
            v1::REPRESENTATIVE_AUTHORITY_HEALTH_CARE_AGENT);
  EXPECT_EQ(stored.representative().name().given(), "Karin");
  EXPECT_EQ(his.back().referral_sent().referral_id(), "nursing-eval");
  EXPECT_THAT(EventTypes(wife),
              ElementsAre("ClientRegistered", "CaseOpened",
                          "CareTeamMemberAdded", "AssessmentRecorded"));
}

// --- Scenario 4: a family displaced by a disaster ----------------------------

// A relief agency registers the mother and her son. Shelter, food, clothing
// and health care come first; then benefits, job search, school enrolment, a
// school counsellor and art therapy for the boy, under his mother's consent
// as his guardian.
TEST_F(CareRecordE2eTest, Scenario4DisplacedFamily) {
  RegisterOrganization("relief-cm", "County Disaster Relief",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  RegisterOrganization("shelter", "Harbor Emergency Shelter",
                       v1::ORGANIZATION_TYPE_HOUSING,
                       {v1::SERVICE_CATEGORY_HOUSING});
  RegisterOrganization("food-bank", "Valley Food Bank",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY,
                       {v1::SERVICE_CATEGORY_FOOD});
  RegisterOrganization("clothing-bank", "Neighbours Clothing Bank",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY,
                       {v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT});
  RegisterOrganization("clinic", "Community Health Clinic",
                       v1::ORGANIZATION_TYPE_PRIMARY_CARE,
                       {v1::SERVICE_CATEGORY_HEALTH_CARE});
  RegisterOrganization("benefits", "State Benefits Office",
                       v1::ORGANIZATION_TYPE_SOCIAL_SERVICES,
                       {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE});
  RegisterOrganization("workforce", "Workforce Center",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY,
                       {v1::SERVICE_CATEGORY_EMPLOYMENT});
  RegisterOrganization("lincoln-elem", "Lincoln Elementary School",
                       v1::ORGANIZATION_TYPE_SCHOOL,
                       {v1::SERVICE_CATEGORY_EDUCATION});
  RegisterOrganization("art-therapy", "Open Studio Art Therapy",
                       v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH,
                       {v1::SERVICE_CATEGORY_MENTAL_HEALTH});
  auto relief = NewActor("relief-cm", "worker-diaz");
  auto shelter = NewActor("shelter", "night-desk");
  auto food = NewActor("food-bank", "volunteer");
  auto school = NewActor("lincoln-elem", "registrar");

  const std::string mother = "ana-rivera";
  const std::string son = "leo-rivera";
  const absl::Time flood = DaysAgo(45);
  Do(*relief, mother, Person("Ana", "Rivera", 1990, 5, 30, v1::SEX_FEMALE),
     flood);
  Do(*relief, son, Person("Leo", "Rivera", 2016, 9, 12, v1::SEX_MALE), flood);
  for (const std::string& client : {mother, son}) {
    Do(*relief, client, CaseOpened("displaced by the river flood"), flood);
    Do(*relief, client,
       Member("cm-diaz", Name("Elena", "Diaz"), "relief-cm",
              v1::DISCIPLINE_CASE_MANAGEMENT,
              v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
       flood);
  }
  Do(*relief, mother,
     Assessment(
         "rapid-1",
         {{v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_CRISIS},
          {v1::SERVICE_CATEGORY_FOOD, v1::NEED_LEVEL_CRISIS},
          {v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_HIGH},
          {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, v1::NEED_LEVEL_HIGH},
          {v1::SERVICE_CATEGORY_EMPLOYMENT, v1::NEED_LEVEL_MODERATE}}),
     flood);
  Do(*relief, mother,
     Consent("relief-sharing",
             {"shelter", "food-bank", "clothing-bank", "clinic", "benefits",
              "workforce"},
             {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING,
              v1::DATA_CLASS_FINANCIAL},
             {v1::PURPOSE_OF_USE_CARE_COORDINATION}),
     flood);

  // First: shelter, food, clothing and health care, the same day.
  std::vector<uint64_t> first_wave;
  const auto emergency = [&](const std::string& id, const std::string& to,
                             v1::ServiceCategory category,
                             std::vector<v1::DataClass> shared) {
    v1::ReferralSent referral =
        Referral(id, to, category, v1::REFERRAL_KIND_WARM, std::move(shared));
    referral.set_urgency(v1::URGENCY_EMERGENT);
    first_wave.push_back(Do(*relief, mother, referral, flood + absl::Hours(2))
                             .first_global_position());
  };
  emergency("ref-shelter", "shelter", v1::SERVICE_CATEGORY_HOUSING,
            {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING});
  emergency("ref-food", "food-bank", v1::SERVICE_CATEGORY_FOOD,
            {v1::DATA_CLASS_GENERAL});
  emergency("ref-clothing", "clothing-bank",
            v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT,
            {v1::DATA_CLASS_GENERAL});
  emergency("ref-clinic", "clinic", v1::SERVICE_CATEGORY_HEALTH_CARE,
            {v1::DATA_CLASS_GENERAL});
  Do(*shelter, mother, Accepted("ref-shelter"), flood + absl::Hours(3));
  Do(*shelter, mother,
     Service("svc-shelter", "shelter", v1::SERVICE_CATEGORY_HOUSING,
             v1::LEVEL_OF_CARE_SHELTER, "ref-shelter"),
     flood + absl::Hours(4));
  Do(*food, mother, Accepted("ref-food"), flood + absl::Hours(3));
  Do(*food, mother, Completed("ref-food", "two weeks of groceries"),
     flood + Days(1));

  // Then: benefits and job search for her...
  std::vector<uint64_t> second_wave;
  second_wave.push_back(
      Do(*relief, mother,
         Referral("ref-benefits", "benefits",
                  v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
                  v1::REFERRAL_KIND_WARM,
                  {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_FINANCIAL}),
         flood + Days(10))
          .first_global_position());
  second_wave.push_back(
      Do(*relief, mother,
         Referral("ref-jobs", "workforce", v1::SERVICE_CATEGORY_EMPLOYMENT,
                  v1::REFERRAL_KIND_COLD, {v1::DATA_CLASS_GENERAL}),
         flood + Days(10))
          .first_global_position());
  // ... school enrolment, the school counsellor and art therapy for him, with
  // his mother consenting as his guardian.
  v1::ConsentGiven guardian = Consent(
      "leo-school-and-therapy", {"lincoln-elem", "art-therapy"},
      {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_EDUCATION,
       v1::DATA_CLASS_MENTAL_HEALTH},
      {v1::PURPOSE_OF_USE_TREATMENT, v1::PURPOSE_OF_USE_CARE_COORDINATION});
  *guardian.mutable_representative()->mutable_name() = Name("Ana", "Rivera");
  guardian.mutable_representative()->set_authority(
      v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  Do(*relief, son, guardian, flood + Days(12));
  second_wave.push_back(
      Do(*relief, son,
         Referral("ref-school", "lincoln-elem", v1::SERVICE_CATEGORY_EDUCATION,
                  v1::REFERRAL_KIND_WARM,
                  {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_EDUCATION}),
         flood + Days(12))
          .first_global_position());
  Do(*school, son, Accepted("ref-school"), flood + Days(13));
  Do(*school, son, Completed("ref-school", "enrolled in grade 3"),
     flood + Days(14));
  Do(*relief, son,
     Member("counsellor-wu", Name("Grace", "Wu"), "lincoln-elem",
            v1::DISCIPLINE_EDUCATION),
     flood + Days(14));
  second_wave.push_back(
      Do(*relief, son,
         Referral("ref-art", "art-therapy", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                  v1::REFERRAL_KIND_WARM,
                  {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
                  v1::PURPOSE_OF_USE_TREATMENT),
         flood + Days(15))
          .first_global_position());

  // Basic needs were all sent before any of the second wave.
  ASSERT_EQ(first_wave.size(), 4u);
  ASSERT_EQ(second_wave.size(), 4u);
  EXPECT_LT(*std::max_element(first_wave.begin(), first_wave.end()),
            *std::min_element(second_wave.begin(), second_wave.end()));
  std::vector<std::string> categories;
  for (const v1::CareEvent& e : CareEvents(mother)) {
    if (e.has_referral_sent()) {
      categories.push_back(
          v1::ServiceCategory_Name(e.referral_sent().service_category()));
    }
  }
  EXPECT_THAT(categories,
              ElementsAre("SERVICE_CATEGORY_HOUSING", "SERVICE_CATEGORY_FOOD",
                          "SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT",
                          "SERVICE_CATEGORY_HEALTH_CARE",
                          "SERVICE_CATEGORY_FINANCIAL_ASSISTANCE",
                          "SERVICE_CATEGORY_EMPLOYMENT"));
  const std::vector<v1::CareEvent> his = CareEvents(son);
  ASSERT_FALSE(his.empty());
  EXPECT_EQ(his.back().referral_sent().to_organization_id(), "art-therapy");
}

// --- Scenario 5: foster teenagers whose records are subpoenaed ---------------

// The court subpoenas Jordan's school records. The child-welfare agency, his
// legal guardian, records an authorisation for exactly that: education data,
// to the family court, for legal purposes. Only a release of that class to
// that court goes through, and it is on the record; every other class, other
// recipient and his foster sister's records are refused.
TEST_F(CareRecordE2eTest, Scenario5SubpoenaReleasesOnlyWhatTheCourtAskedFor) {
  RegisterOrganization("child-welfare", "County Child Welfare",
                       v1::ORGANIZATION_TYPE_SOCIAL_SERVICES);
  RegisterOrganization("family-court", "County Family Court",
                       v1::ORGANIZATION_TYPE_COURT_PAROLE,
                       {v1::SERVICE_CATEGORY_LEGAL});
  RegisterOrganization("teen-counselling", "Youth Counselling Center",
                       v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH,
                       {v1::SERVICE_CATEGORY_MENTAL_HEALTH});
  RegisterOrganization("probation", "Juvenile Probation",
                       v1::ORGANIZATION_TYPE_COURT_PAROLE,
                       {v1::SERVICE_CATEGORY_PROBATION_PAROLE});
  auto welfare = NewActor("child-welfare", "caseworker-lee");
  const absl::Time start = DaysAgo(60);

  const std::string jordan = "jordan-m";
  const std::string casey = "casey-t";
  Do(*welfare, jordan, Person("Jordan", "Miles", 2008, 2, 14, v1::SEX_MALE),
     start);
  Do(*welfare, casey, Person("Casey", "Tran", 2009, 6, 3, v1::SEX_FEMALE),
     start);
  for (const std::string& teen : {jordan, casey}) {
    Do(*welfare, teen, CaseOpened("foster care placement"), start);
    Do(*welfare, teen,
       Member("cw-lee", Name("Sam", "Lee"), "child-welfare",
              v1::DISCIPLINE_SOCIAL_WORK, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
       start);
    Do(*welfare, teen,
       Assessment("placement-1",
                  {{v1::SERVICE_CATEGORY_EDUCATION, v1::NEED_LEVEL_MODERATE},
                   {v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::NEED_LEVEL_HIGH}}),
       start);
  }

  // The subpoena: Jordan's education records, to the court, for 30 days.
  const absl::Time subpoena = start + Days(10);
  v1::ConsentGiven order =
      Consent("subpoena-2024-117", {"family-court"}, {v1::DATA_CLASS_EDUCATION},
              {v1::PURPOSE_OF_USE_LEGAL});
  *order.mutable_representative()->mutable_name() = Name("Sam", "Lee");
  order.mutable_representative()->set_authority(
      v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  *order.mutable_period()->mutable_end() = Ts(subpoena + Days(30));
  Do(*welfare, jordan, order, subpoena);

  const auto release = [&](const std::string& teen, const std::string& to,
                           std::vector<v1::DataClass> shared) {
    return welfare->Record(
        teen,
        Referral("court-release", to, v1::SERVICE_CATEGORY_LEGAL,
                 v1::REFERRAL_KIND_COLD, std::move(shared),
                 v1::PURPOSE_OF_USE_LEGAL),
        subpoena + Days(1));
  };
  // More than was asked for, or something else, is refused.
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "DATA_CLASS_MENTAL_HEALTH", "family-court"}, [&] {
        return release(
            jordan, "family-court",
            {v1::DATA_CLASS_EDUCATION, v1::DATA_CLASS_MENTAL_HEALTH});
      });
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "DATA_CLASS_GENERAL", "family-court"}, [&] {
        return release(jordan, "family-court", {v1::DATA_CLASS_GENERAL});
      });
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"DATA_CLASS_SUBSTANCE_USE_PART2", "family-court", "42 CFR Part 2"}, [&] {
        return release(jordan, "family-court",
                       {v1::DATA_CLASS_SUBSTANCE_USE_PART2});
      });
  // Another recipient is refused even for the subpoenaed class.
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "DATA_CLASS_EDUCATION", "probation"},
      [&] { return release(jordan, "probation", {v1::DATA_CLASS_EDUCATION}); });
  // Casey's records were not subpoenaed.
  ExpectRefused(grpc::StatusCode::FAILED_PRECONDITION,
                {"consent required", "DATA_CLASS_EDUCATION", casey}, [&] {
                  return release(casey, "family-court",
                                 {v1::DATA_CLASS_EDUCATION});
                });
  // After the order expires, not even the subpoenaed class.
  ExpectRefused(
      grpc::StatusCode::FAILED_PRECONDITION,
      {"consent required", "DATA_CLASS_EDUCATION", "family-court"}, [&] {
        return welfare->Record(
            jordan,
            Referral("late-release", "family-court", v1::SERVICE_CATEGORY_LEGAL,
                     v1::REFERRAL_KIND_COLD, {v1::DATA_CLASS_EDUCATION},
                     v1::PURPOSE_OF_USE_LEGAL),
            subpoena + Days(31));
      });

  // Exactly what the court asked for goes through, and the release is on
  // the record: who sent what to whom, when, and why.
  const v1::CommandResult released = [&] {
    const uint64_t head = loopback_.Head();
    const Reply reply =
        release(jordan, "family-court", {v1::DATA_CLASS_EDUCATION});
    EXPECT_TRUE(reply.status.ok()) << Describe(reply.status);
    EXPECT_EQ(reply.result.stream_id(), ClientStream(jordan));
    EXPECT_THAT(reply.result.event_types(), ElementsAre("ReferralSent"));
    EXPECT_FALSE(reply.result.already_applied());
    EXPECT_EQ(reply.result.first_global_position(), head + 1);
    return reply.result;
  }();
  const std::vector<v1::Event> stored =
      loopback_.ReadStream(ClientStream(jordan));
  ASSERT_FALSE(stored.empty());
  const v1::Event& disclosure = stored.back();
  EXPECT_EQ(disclosure.global_position(), released.first_global_position());
  EXPECT_EQ(disclosure.event_type(), "ReferralSent");
  EXPECT_EQ(disclosure.actor().organization_id(), "child-welfare");
  EXPECT_EQ(disclosure.actor().user_id(), "caseworker-lee");
  EXPECT_EQ(FromTs(disclosure.occurred_at()), subpoena + Days(1));
  v1::CareEvent event;
  ASSERT_TRUE(event.ParseFromString(disclosure.payload()));
  EXPECT_EQ(event.referral_sent().to_organization_id(), "family-court");
  EXPECT_THAT(event.referral_sent().shared_data_classes(),
              ElementsAre(v1::DATA_CLASS_EDUCATION));
  EXPECT_EQ(event.referral_sent().purpose(), v1::PURPOSE_OF_USE_LEGAL);
  EXPECT_THAT(EventTypes(casey),
              ElementsAre("ClientRegistered", "CaseOpened",
                          "CareTeamMemberAdded", "AssessmentRecorded"));
}

// --- Scenario 6: a veteran with PTSD -----------------------------------------

// The VA case manager builds the team, sets SMART goals, refers him to a Vet
// Center for trauma therapy; attendance and progress are recorded, and two
// team meetings adjust the plan: a goal put on hold then replaced, peer
// support added, the therapy goal completed.
TEST_F(CareRecordE2eTest, Scenario6VeteranWithPtsdPlanAdjusted) {
  RegisterOrganization(
      "va-medical", "VA Medical Center", v1::ORGANIZATION_TYPE_HOSPITAL,
      {v1::SERVICE_CATEGORY_HEALTH_CARE, v1::SERVICE_CATEGORY_MENTAL_HEALTH});
  RegisterOrganization("vet-center", "Vet Center Readjustment Counselling",
                       v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH,
                       {v1::SERVICE_CATEGORY_MENTAL_HEALTH});
  RegisterOrganization("peer-support", "Veterans Peer Network",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY,
                       {v1::SERVICE_CATEGORY_SUPPORT_GROUP});
  auto va = NewActor("va-medical", "cm-johnson");
  auto vet_center = NewActor("vet-center", "therapist-cole");
  auto peers = NewActor("peer-support", "mentor-ramos");

  const std::string client = "darnell-hayes";
  const absl::Time start = DaysAgo(70);
  Do(*va, client, Person("Darnell", "Hayes", 1979, 8, 19, v1::SEX_MALE), start);
  Do(*va, client, CaseOpened("PTSD; care coordination after ED visit"), start);
  Do(*va, client,
     Member("cm-johnson", Name("Tia", "Johnson"), "va-medical",
            v1::DISCIPLINE_SOCIAL_WORK, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
     start);
  Do(*va, client,
     Member("dr-fischer", Name("Paul", "Fischer"), "va-medical",
            v1::DISCIPLINE_PSYCHIATRY),
     start);
  Do(*va, client,
     Member("th-cole", Name("Avery", "Cole"), "vet-center",
            v1::DISCIPLINE_PSYCHOLOGY),
     start);
  Do(*va, client,
     Assessment("intake",
                {{v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::NEED_LEVEL_HIGH},
                 {v1::SERVICE_CATEGORY_EMPLOYMENT, v1::NEED_LEVEL_MODERATE},
                 {v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_LOW}}),
     start);
  Do(*va, client,
     Consent("vet-center-mh", {"vet-center"},
             {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
             {v1::PURPOSE_OF_USE_TREATMENT}),
     start);
  Do(*va, client,
     Goal("g-therapy", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
          "complete 12 sessions of cognitive processing therapy",
          "sessions attended", DateOf(start + Days(84))),
     start + Days(1));
  Do(*va, client,
     Goal("g-work", v1::SERVICE_CATEGORY_EMPLOYMENT, "return to full-time work",
          "hours worked per week", DateOf(start + Days(120))),
     start + Days(1));
  v1::ReferralSent therapy =
      Referral("ref-cpt", "vet-center", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
               v1::REFERRAL_KIND_WARM,
               {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
               v1::PURPOSE_OF_USE_TREATMENT);
  therapy.set_urgency(v1::URGENCY_URGENT);
  Do(*va, client, therapy, start + Days(1));
  Do(*vet_center, client, Accepted("ref-cpt"), start + Days(2));
  Do(*vet_center, client, Started("ref-cpt"), start + Days(7));
  Do(*vet_center, client,
     Service("svc-cpt", "vet-center", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
             v1::LEVEL_OF_CARE_OUTPATIENT, "ref-cpt"),
     start + Days(7));

  // Attendance and progress, as the therapist records them.
  Do(*vet_center, client, Progress("g-therapy", 25, "attended 3 of 4 sessions"),
     start + Days(28));
  // First review: employment on hold, peer support added.
  Do(*va, client,
     Meeting("review-1", {"cm-johnson", "dr-fischer", "th-cole"},
             /*client_attended=*/true,
             {"put the work goal on hold until therapy is under way",
              "refer to veterans peer support"},
             DateOf(start + Days(56))),
     start + Days(28));
  Do(*va, client,
     GoalStatus("g-work", v1::GOAL_STATUS_ON_HOLD, "focus on therapy first"),
     start + Days(28));
  // No purpose given: a referral is care coordination unless it says otherwise.
  Do(*va, client,
     Referral("ref-peers", "peer-support", v1::SERVICE_CATEGORY_SUPPORT_GROUP,
              v1::REFERRAL_KIND_COLD, {}, v1::PURPOSE_OF_USE_UNSPECIFIED),
     start + Days(29));
  Do(*peers, client, Accepted("ref-peers"), start + Days(30));
  Do(*va, client,
     Member("peer-ramos", Name("Luis", "Ramos"), "peer-support",
            v1::DISCIPLINE_PEER_SUPPORT),
     start + Days(30));
  Do(*vet_center, client, Progress("g-therapy", 60, "attended 7 of 8 sessions"),
     start + Days(56));
  // Second review: the work goal replaced by a smaller step.
  Do(*va, client,
     Meeting("review-2", {"cm-johnson", "dr-fischer", "th-cole", "peer-ramos"},
             /*client_attended=*/true,
             {"replace the work goal with a part-time volunteer placement"},
             DateOf(start + Days(84))),
     start + Days(56));
  Do(*va, client,
     GoalStatus("g-work", v1::GOAL_STATUS_CANCELLED, "replaced by g-volunteer"),
     start + Days(56));
  Do(*va, client,
     Goal("g-volunteer", v1::SERVICE_CATEGORY_EMPLOYMENT,
          "volunteer 8 hours a week", "hours volunteered per week",
          DateOf(start + Days(112))),
     start + Days(56));
  Do(*vet_center, client, Progress("g-therapy", 100, "12 of 12 sessions"),
     start + Days(69));
  Do(*vet_center, client,
     GoalStatus("g-therapy", v1::GOAL_STATUS_COMPLETED,
                "course of CPT completed"),
     start + Days(69));

  std::map<std::string, v1::PurposeOfUse> purposes;
  std::vector<int> therapy_progress;
  std::vector<v1::GoalStatus> work_statuses;
  int meetings = 0;
  for (const v1::CareEvent& e : CareEvents(client)) {
    if (e.has_goal_progress_recorded() &&
        e.goal_progress_recorded().goal_id() == "g-therapy") {
      therapy_progress.push_back(e.goal_progress_recorded().percent_achieved());
    }
    if (e.has_goal_status_changed() &&
        e.goal_status_changed().goal_id() == "g-work") {
      work_statuses.push_back(e.goal_status_changed().status());
    }
    if (e.has_referral_sent()) {
      purposes[e.referral_sent().referral_id()] = e.referral_sent().purpose();
    }
    if (e.has_team_meeting_held()) {
      ++meetings;
      EXPECT_TRUE(e.team_meeting_held().client_attended());
    }
  }
  EXPECT_THAT(therapy_progress, ElementsAre(25, 60, 100));
  EXPECT_THAT(work_statuses,
              ElementsAre(v1::GOAL_STATUS_ON_HOLD, v1::GOAL_STATUS_CANCELLED));
  EXPECT_EQ(meetings, 2);
  EXPECT_EQ(purposes["ref-cpt"], v1::PURPOSE_OF_USE_TREATMENT);
  EXPECT_EQ(purposes["ref-peers"], v1::PURPOSE_OF_USE_CARE_COORDINATION);
}

// --- Rejections change nothing -----------------------------------------------

// A client with an open case, a lead case manager and a few partners.
class CareRecordRejectionTest : public CareRecordE2eTest {
 protected:
  void SetUp() override {
    CareRecordE2eTest::SetUp();
    if (HasFatalFailure()) return;
    RegisterOrganization("hub", "Hub Case Management",
                         v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
    RegisterOrganization("bh-agency", "Riverside Behavioral Health",
                         v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH,
                         {v1::SERVICE_CATEGORY_MENTAL_HEALTH});
    RegisterOrganization("sud-clinic", "Harbor Recovery Clinic",
                         v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT,
                         {v1::SERVICE_CATEGORY_SUBSTANCE_USE});
    RegisterOrganization("housing-first", "Housing First",
                         v1::ORGANIZATION_TYPE_HOUSING,
                         {v1::SERVICE_CATEGORY_HOUSING});
    hub_ = NewActor("hub", "worker-1");
    bh_ = NewActor("bh-agency", "intake");
    housing_ = NewActor("housing-first", "intake");
    Do(*hub_, kClient, Person("Ada", "Okafor", 1958, 3, 14, v1::SEX_FEMALE),
       start_);
    Do(*hub_, kClient, CaseOpened("intake"), start_);
    Do(*hub_, kClient,
       Member("lead-1", Name("Rosa", "Alvarez"), "hub",
              v1::DISCIPLINE_CASE_MANAGEMENT,
              v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
       start_);
  }

  static constexpr char kClient[] = "ada-okafor";
  const absl::Time start_ = DaysAgo(10);
  std::unique_ptr<Actor> hub_;
  std::unique_ptr<Actor> bh_;
  std::unique_ptr<Actor> housing_;
};

// Raw appends never reach a care stream; a non-care event already on one
// (written before that rule) does not wedge the client's record.
TEST_F(CareRecordRejectionTest, RawAppendsStayOutOfCareStreams) {
  for (const std::string& stream :
       {std::string("client-ada-okafor"), std::string("client-77"),
        std::string("access-ada-okafor"), std::string("organizations")}) {
    const uint64_t head = loopback_.Head();
    v1::AppendRequest append;
    append.set_stream_id(stream);
    *append.add_events() = testing::JsonEvent("Note", "{}");
    v1::AppendResponse response;
    grpc::ClientContext context;  // development mode: the local operator
    const grpc::Status status =
        loopback_.log()->Append(&context, append, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << stream;
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat("stream_id: ", stream,
                                       " is a care stream")));
    EXPECT_EQ(loopback_.Head(), head);
  }
  // Below the API, as an older server would have let an admin do.
  eventstore::AppendRequest raw;
  raw.stream_id = "client-ada-okafor";
  raw.expected_version = eventstore::ExpectedVersion::Any();
  eventstore::ProposedEvent& note = raw.events.emplace_back();
  note.event_type = "OperatorNote";
  note.content_type = "application/json";
  note.payload = "{}";
  ASSERT_TRUE(loopback_.server().event_log().Append(std::move(raw)).ok());
  streams_with_raw_events_.insert("client-ada-okafor");
  // The next commands are decided against the real stream version: the
  // registration, case, lead (0..2), the raw note (3), then these.
  const Reply assessed = hub_->Record(
      kClient,
      Assessment("after-raw", {{v1::SERVICE_CATEGORY_FOOD, v1::NEED_LEVEL_LOW}}),
      start_ + Days(1));
  ASSERT_TRUE(assessed.status.ok()) << Describe(assessed.status);
  EXPECT_EQ(assessed.result.stream_version(), 4u);
  v1::CaseClosed closed;
  closed.set_reason(v1::CASE_CLOSURE_REASON_GOALS_MET);
  const Reply closing = hub_->Record(kClient, closed, start_ + Days(2));
  ASSERT_TRUE(closing.status.ok()) << Describe(closing.status);
  EXPECT_EQ(closing.result.stream_version(), 5u);
}

// Optimistic concurrency (x-caseline-expected-version, care_record.proto):
// a command is written only when the client's stream is at the expected
// version; otherwise ABORTED, nothing written; a malformed value is
// INVALID_ARGUMENT naming the key.
TEST_F(CareRecordRejectionTest, ExpectedVersionGuardsACommand) {
  auto plans = v1::Plans::NewStub(loopback_.channel());
  auto send = [&](const std::string& expected, const std::string& command_id,
                  v1::CommandResult* result) {
    v1::RecordAssessmentRequest request;
    request.set_command_id(command_id);
    request.set_client_id(kClient);
    *request.mutable_assessment_recorded() = Assessment(
        command_id, {{v1::SERVICE_CATEGORY_FOOD, v1::NEED_LEVEL_LOW}});
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "hub");
    context.AddMetadata("x-caseline-user", "worker-1");
    context.AddMetadata("x-caseline-expected-version", expected);
    return plans->RecordAssessment(&context, request, result);
  };
  // Written outside the journal: the stream's contents are checked here.
  streams_with_raw_events_.insert(ClientStream(kClient));
  const uint64_t head = loopback_.Head();
  v1::CommandResult result;
  // The fixture wrote the registration, the case and the lead: version 2.
  const grpc::Status stale = send("1", "cmd-stale", &result);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(stale.error_message(),
              HasSubstr("stream client-ada-okafor is at version 2, not the "
                        "expected 1 (x-caseline-expected-version)"));
  const grpc::Status malformed = send("two", "cmd-malformed", &result);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(),
              HasSubstr("x-caseline-expected-version: \"two\""));
  EXPECT_EQ(loopback_.Head(), head);
  const grpc::Status current = send("2", "cmd-current", &result);
  ASSERT_TRUE(current.ok()) << Describe(current);
  EXPECT_EQ(result.stream_version(), 3u);
  EXPECT_EQ(loopback_.Head(), head + 1);
}

TEST_F(CareRecordRejectionTest, MissingActingOrganizationIsInvalid) {
  auto anonymous = NewActor("", "someone");
  ExpectRefused(grpc::StatusCode::INVALID_ARGUMENT, {"x-caseline-org"}, [&] {
    return anonymous->Record(kClient, CaseOpened("x"), std::nullopt);
  });
}

TEST_F(CareRecordRejectionTest, InvalidCommandFieldsAreNamed) {
  // A request without its event.
  ExpectRefused(grpc::StatusCode::INVALID_ARGUMENT,
                {"referral_sent is required"}, [&] {
                  v1::SendReferralRequest request;
                  request.set_command_id("cmd-no-event");
                  request.set_client_id(kClient);
                  return hub_->Send(request);
                });
}

// A refused command writes nothing, so its command_id is not used up: once
// the record allows it, the same command goes through.
TEST_F(CareRecordRejectionTest, ARefusedCommandCanBeRetriedOnceAllowed) {
  const v1::ReferralSent referral =
      Referral("r-mh", "bh-agency", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
               v1::REFERRAL_KIND_WARM, {v1::DATA_CLASS_MENTAL_HEALTH});
  ExpectRefused(grpc::StatusCode::FAILED_PRECONDITION,
                {"DATA_CLASS_MENTAL_HEALTH"}, [&] {
                  return hub_->RecordAs("cmd-refer-mh", kClient, referral,
                                        start_ + Days(2));
                });
  Do(*hub_, kClient,
     Consent("c-mh", {"bh-agency"}, {v1::DATA_CLASS_MENTAL_HEALTH}, {}),
     start_ + Days(1));
  const Reply reply =
      hub_->RecordAs("cmd-refer-mh", kClient, referral, start_ + Days(2));
  ASSERT_TRUE(reply.status.ok()) << Describe(reply.status);
  EXPECT_FALSE(reply.result.already_applied());
  EXPECT_THAT(reply.result.event_types(), ElementsAre("ReferralSent"));
}

// --- Dismissing duplicates ---------------------------------------------------

v1::DuplicateDismissed Dismissal(const std::string& finding_id,
                                 const std::string& reason) {
  v1::DuplicateDismissed dismissed;
  dismissed.set_finding_id(finding_id);
  dismissed.set_reason(reason);
  return dismissed;
}

TEST_F(CareRecordRejectionTest,
       ADuplicateFindingIsDismissedOnceByAClientItNames) {
  const std::string finding =
      absl::StrCat("duplicate-clients:", kClient, ":ada-okafor-twin");
  const Reply first = hub_->RecordAs(
      "cmd-dismiss", kClient, Dismissal(finding, "twins; different MRNs"),
      start_ + Days(1));
  ASSERT_TRUE(first.status.ok()) << Describe(first.status);
  EXPECT_THAT(first.result.event_types(), ElementsAre("DuplicateDismissed"));
  // A retry of the command is the same command; a new one is a duplicate.
  const Reply retry = hub_->RecordAs(
      "cmd-dismiss", kClient, Dismissal(finding, "twins; different MRNs"),
      start_ + Days(1));
  ASSERT_TRUE(retry.status.ok()) << Describe(retry.status);
  EXPECT_TRUE(retry.result.already_applied());
  ExpectRefused(grpc::StatusCode::ALREADY_EXISTS,
                {finding, "already dismissed"}, [&] {
                  return hub_->Record(kClient, Dismissal(finding, "again"),
                                      start_ + Days(2));
                });
}

// --- Command idempotency -----------------------------------------------------

class CareRecordIdempotencyTest : public CareRecordRejectionTest {};

TEST_F(CareRecordIdempotencyTest,
       ARetryReturnsTheOriginalResultAndWritesNothing) {
  const v1::CareTeamMemberAdded nurse = Member(
      "rn-1", Name("Marco", "Ortiz"), "bh-agency", v1::DISCIPLINE_NURSING);
  const Reply first =
      hub_->RecordAs("cmd-add-nurse", kClient, nurse, start_ + Days(1));
  ASSERT_TRUE(first.status.ok()) << Describe(first.status);
  EXPECT_FALSE(first.result.already_applied());
  EXPECT_EQ(first.result.stream_id(), ClientStream(kClient));
  EXPECT_THAT(first.result.event_types(), ElementsAre("CareTeamMemberAdded"));
  const uint64_t head = loopback_.Head();
  EXPECT_EQ(first.result.last_global_position(), head);

  v1::CommandResult expected = first.result;
  expected.set_already_applied(true);
  const auto expect_retry = [&](const Reply& retry) {
    ASSERT_TRUE(retry.status.ok()) << Describe(retry.status);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(retry.result,
                                                                   expected))
        << retry.result.DebugString() << " vs " << expected.DebugString();
  };
  expect_retry(
      hub_->RecordAs("cmd-add-nurse", kClient, nurse, start_ + Days(1)));
  EXPECT_EQ(loopback_.Head(), head);

  // Still the original result after the record has moved on (re-deciding
  // now would say the member is already on the team).
  Do(*hub_, kClient,
     Assessment("a-1", {{v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_HIGH}}),
     start_ + Days(2));
  const uint64_t moved = loopback_.Head();
  expect_retry(
      hub_->RecordAs("cmd-add-nurse", kClient, nurse, start_ + Days(1)));
  EXPECT_EQ(loopback_.Head(), moved);
}

TEST_F(CareRecordIdempotencyTest, ARetryWithoutOccurredAtIsTheSameCommand) {
  const v1::AssessmentRecorded assessment = Assessment(
      "a-now", {{v1::SERVICE_CATEGORY_FOOD, v1::NEED_LEVEL_MODERATE}});
  const Reply first =
      hub_->RecordAs("cmd-assess-now", kClient, assessment, std::nullopt);
  ASSERT_TRUE(first.status.ok()) << Describe(first.status);
  const uint64_t head = loopback_.Head();
  const Reply retry =
      hub_->RecordAs("cmd-assess-now", kClient, assessment, std::nullopt);
  ASSERT_TRUE(retry.status.ok()) << Describe(retry.status);
  EXPECT_TRUE(retry.result.already_applied());
  EXPECT_EQ(retry.result.first_global_position(),
            first.result.first_global_position());
  EXPECT_EQ(retry.result.stream_version(), first.result.stream_version());
  EXPECT_EQ(loopback_.Head(), head);
}

TEST_F(CareRecordIdempotencyTest,
       ACommandIdReusedForAnotherCommandIsAlreadyExists) {
  const v1::CareTeamMemberAdded nurse = Member(
      "rn-1", Name("Marco", "Ortiz"), "bh-agency", v1::DISCIPLINE_NURSING);
  ASSERT_TRUE(
      hub_->RecordAs("cmd-1", kClient, nurse, start_ + Days(1)).status.ok());
  // Another event.
  ExpectRefused(
      grpc::StatusCode::ALREADY_EXISTS,
      {"command_id cmd-1 was already used", "CareTeamMemberAdded"}, [&] {
        return hub_->RecordAs("cmd-1", kClient,
                              Assessment("a-1", {{v1::SERVICE_CATEGORY_FOOD,
                                                  v1::NEED_LEVEL_LOW}}),
                              start_ + Days(1));
      });
  // The same kind of event with other content.
  ExpectRefused(grpc::StatusCode::ALREADY_EXISTS, {"command_id cmd-1"}, [&] {
    return hub_->RecordAs("cmd-1", kClient,
                          Member("rn-2", Name("Ana", "Ortiz"), "bh-agency",
                                 v1::DISCIPLINE_NURSING),
                          start_ + Days(1));
  });
  // The same event at another time, or for another client.
  ExpectRefused(grpc::StatusCode::ALREADY_EXISTS, {"command_id cmd-1"}, [&] {
    return hub_->RecordAs("cmd-1", kClient, nurse, start_ + Days(2));
  });
  Do(*hub_, "other-client", Person("Bo", "Berg", 1970, 1, 1, v1::SEX_MALE),
     start_);
  ExpectRefused(grpc::StatusCode::ALREADY_EXISTS, {"command_id cmd-1"}, [&] {
    return hub_->RecordAs("cmd-1", "other-client", nurse, start_ + Days(1));
  });
  // command_ids are per organisation: another organisation's cmd-1 is its own.
  const Reply theirs =
      bh_->RecordAs("cmd-1", kClient,
                    Assessment("bh-a-1", {{v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                                           v1::NEED_LEVEL_MODERATE}}),
                    start_ + Days(1));
  ASSERT_TRUE(theirs.status.ok()) << Describe(theirs.status);
  EXPECT_FALSE(theirs.result.already_applied());
}

// --- Concurrency -------------------------------------------------------------

// Six organisations, one thread each, write to one client at once. The handler
// re-decides on each version conflict: every command succeeds, and each is in
// the stream exactly once at contiguous versions (TearDown checks the stream
// against the journal).
//
// Guards against a race fixed in 8a608de: the log used to answer a losing
// writer's ABORTED before the winning batch was readable, so a re-deciding
// command read the stale record and kept losing (about 12 of 54 commands
// failed). Refusals now follow the durable write, and the handler runs one
// command at a time per stream.
TEST_F(CareRecordE2eTest, ConcurrentOrganizationsOnOneClientLoseNothing) {
  constexpr int kOrganizations = 6;
  constexpr int kRounds = 3;
  RegisterOrganization("hub", "Hub Case Management",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  std::vector<std::string> orgs;
  for (int i = 0; i < kOrganizations; ++i) {
    orgs.push_back(absl::StrCat("agency-", i));
    RegisterOrganization(orgs.back(), absl::StrCat("Agency ", i),
                         v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  }
  auto hub = NewActor("hub", "worker-1");
  const std::string client = "shared-client";
  Do(*hub, client, Person("Ada", "Okafor", 1958, 3, 14, v1::SEX_FEMALE),
     DaysAgo(1));
  Do(*hub, client, CaseOpened("many agencies"), DaysAgo(1));
  Do(*hub, client, Consent("c-all", orgs, {v1::DATA_CLASS_GENERAL}, {}),
     DaysAgo(1));
  // The hub involves each agency (with no lead case manager yet, any
  // involved organisation adds to the team); then they write concurrently.
  for (const std::string& org : orgs) {
    Do(*hub, client,
       Member(absl::StrCat("liaison-", org), Name("Liaison", org), org,
              v1::DISCIPLINE_CASE_MANAGEMENT),
       DaysAgo(1));
  }
  const uint64_t head = loopback_.Head();

  std::vector<std::vector<Reply>> replies(kOrganizations);
  std::latch start(kOrganizations);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOrganizations; ++i) {
    threads.emplace_back([&, i] {
      Actor actor(loopback_.channel(), orgs[i], "worker", &journal_);
      const std::string& next = orgs[(i + 1) % kOrganizations];
      start.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        const std::string tag = absl::StrCat(orgs[i], "-", r);
        replies[i].push_back(actor.Record(
            client,
            Member(absl::StrCat("member-", tag), Name("Worker", tag), orgs[i],
                   v1::DISCIPLINE_SOCIAL_WORK),
            std::nullopt));
        replies[i].push_back(actor.Record(
            client,
            Assessment(
                absl::StrCat("assessment-", tag),
                {{v1::SERVICE_CATEGORY_HOUSING, v1::NEED_LEVEL_MODERATE}}),
            std::nullopt));
        replies[i].push_back(actor.Record(
            client,
            Referral(absl::StrCat("referral-", tag), next,
                     v1::SERVICE_CATEGORY_HOUSING, v1::REFERRAL_KIND_WARM,
                     {v1::DATA_CLASS_GENERAL}),
            std::nullopt));
      }
    });
  }
  for (std::thread& t : threads) t.join();

  std::map<uint64_t, std::string> by_version;  // of the acknowledged commands
  int refused = 0;
  for (const std::vector<Reply>& mine : replies) {
    ASSERT_EQ(mine.size(), 3u * kRounds);
    for (const Reply& reply : mine) {
      if (!reply.status.ok()) {
        ++refused;
        ADD_FAILURE() << reply.sent.command_id << ": "
                      << Describe(reply.status);
        continue;
      }
      EXPECT_FALSE(reply.result.already_applied());
      EXPECT_EQ(reply.result.stream_id(), ClientStream(client));
      EXPECT_THAT(reply.result.event_types(),
                  ElementsAre(EventName(reply.sent.event)));
      EXPECT_TRUE(
          by_version
              .emplace(reply.result.stream_version(), reply.sent.command_id)
              .second)
          << "two commands got version " << reply.result.stream_version();
    }
  }
  EXPECT_EQ(refused, 0) << "commands refused under concurrency";
  const uint64_t total = kOrganizations * kRounds * 3;
  ASSERT_EQ(by_version.size() + refused, total);
  // Versions 0..2 are registration, case and consent, then one liaison per
  // agency; the acknowledged commands follow at contiguous versions, and
  // nothing else was written.
  EXPECT_EQ(loopback_.Head(), head + by_version.size());
  ASSERT_FALSE(by_version.empty());
  constexpr uint64_t kFirst = 3 + kOrganizations;
  EXPECT_EQ(by_version.begin()->first, kFirst);
  EXPECT_EQ(by_version.rbegin()->first, kFirst + by_version.size() - 1);
  // TearDown: the stream holds exactly the acknowledged commands, each once,
  // complete.
}

// The same command (same command_id) retried by several threads at once is
// written once; every caller gets the same positions, and exactly one of them
// reports it as newly applied. Repeated over rounds, with occurred_at given
// (identical requests) and omitted (each attempt's occurred_at is the
// server's now).
//
// Guards against a race fixed in 8a608de: a concurrent copy of the same
// command could land between the idempotency look-up and the decision, so the
// retry was refused by the rules instead of getting the original result. The
// look-up now happens under the per-stream lock.
TEST_F(CareRecordE2eTest, ConcurrentRetriesOfOneCommandWriteOneCopy) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  RegisterOrganization("hub", "Hub Case Management",
                       v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  auto hub = NewActor("hub", "worker-1");
  const std::string client = "retry-client";
  Do(*hub, client, Person("Ada", "Okafor", 1958, 3, 14, v1::SEX_FEMALE),
     DaysAgo(1));
  Do(*hub, client, CaseOpened("retries"), DaysAgo(1));

  for (int round = 0; round < 2 * kRounds; ++round) {
    const bool with_time = round % 2 == 0;
    const std::string tag = absl::StrCat(round);
    SCOPED_TRACE(absl::StrCat("round ", round, ", occurred_at ",
                              with_time ? "given" : "omitted"));
    const std::string command_id = absl::StrCat("cmd-same-", tag);
    const v1::CareTeamMemberAdded member =
        Member(absl::StrCat("m-", tag), Name("Once", "Only"), "hub",
               v1::DISCIPLINE_NURSING);
    const std::optional<absl::Time> at =
        with_time ? std::optional<absl::Time>(DaysAgo(0) - absl::Minutes(1))
                  : std::nullopt;
    const uint64_t head = loopback_.Head();
    std::vector<Reply> replies(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        Actor actor(loopback_.channel(), "hub", "worker-1", &journal_);
        start.arrive_and_wait();
        replies[i] = actor.RecordAs(command_id, client, member, at);
      });
    }
    for (std::thread& t : threads) t.join();

    int newly_applied = 0;
    const Reply* reference = nullptr;
    for (const Reply& reply : replies) {
      EXPECT_TRUE(reply.status.ok()) << Describe(reply.status);
      if (!reply.status.ok()) continue;
      if (!reply.result.already_applied()) ++newly_applied;
      if (reference == nullptr) reference = &reply;
      v1::CommandResult same = reply.result;
      same.set_already_applied(reference->result.already_applied());
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          same, reference->result))
          << same.DebugString() << " vs " << reference->result.DebugString();
    }
    EXPECT_EQ(newly_applied, 1);
    EXPECT_EQ(loopback_.Head(), head + 1);
    if (reference != nullptr) {
      EXPECT_EQ(reference->result.first_global_position(), head + 1);
      EXPECT_THAT(reference->result.event_types(),
                  ElementsAre("CareTeamMemberAdded"));
    }
    int copies = 0;
    for (const v1::Event& e : loopback_.ReadStream(ClientStream(client))) {
      auto it = e.metadata().find("command_id");
      if (it != e.metadata().end() && it->second == command_id) ++copies;
    }
    EXPECT_EQ(copies, 1);
  }
}

}  // namespace
}  // namespace caseline
