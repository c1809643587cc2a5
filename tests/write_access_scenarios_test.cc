// Who may write what (docs/access.md), end to end: the intrusions issue #12
// found, each refused with nothing written and no read gained, over loopback
// (x-caseline-org with an access config) and over mutual TLS; the same answer
// for an unknown client as for a forbidden one; raw appends to the care
// streams; the referral sender's closed loop; refused reads on the record;
// consent provenance.
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "caseline/v1/access.grpc.pb.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/access_util.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

using testing::AccessNetwork;
using testing::AccessNetworkOptions;
using ::testing::HasSubstr;
using testing::kAdmin;
using testing::kAuditor;
using ::testing::Not;
using testing::Transport;

constexpr char kX[] = "x-7f3a";      // the hospital's client
constexpr char kGhost[] = "q-0000";  // never registered
constexpr char kHospital[] = "hospital";
constexpr char kHousing[] = "housing";
constexpr char kIntruder[] = "intruder";

// --- Events ------------------------------------------------------------------

v1::CareEvent Registered(const std::string& family) {
  v1::CareEvent e;
  auto* c = e.mutable_client_registered();
  c->mutable_name()->set_given("Maria");
  c->mutable_name()->set_family(family);
  c->mutable_birth_date()->set_year(1961);
  c->mutable_birth_date()->set_month(4);
  c->mutable_birth_date()->set_day(2);
  c->set_sex(v1::SEX_FEMALE);
  c->set_phone("555-0142");
  return e;
}

v1::CareEvent CaseOpened() {
  v1::CareEvent e;
  e.mutable_case_opened()->set_reason("intake");
  return e;
}

v1::CareEvent CaseClosed() {
  v1::CareEvent e;
  e.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_GOALS_MET);
  return e;
}

v1::CareEvent Member(const std::string& id, const std::string& org,
                     v1::CareTeamRole role = v1::CARE_TEAM_ROLE_MEMBER) {
  v1::CareEvent e;
  auto* m = e.mutable_care_team_member_added();
  m->set_member_id(id);
  m->mutable_name()->set_given("Sam");
  m->mutable_name()->set_family("Okafor");
  m->set_organization_id(org);
  m->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
  m->set_role(role);
  return e;
}

v1::CareEvent MemberRemoved(const std::string& id) {
  v1::CareEvent e;
  e.mutable_care_team_member_removed()->set_member_id(id);
  e.mutable_care_team_member_removed()->set_reason("left the team");
  return e;
}

v1::CareEvent Consent(const std::string& id,
                      const std::vector<std::string>& recipients,
                      const std::vector<v1::DataClass>& classes) {
  v1::CareEvent e;
  auto* k = e.mutable_consent_given();
  k->set_consent_id(id);
  for (const auto& r : recipients) k->add_recipient_organization_ids(r);
  for (v1::DataClass c : classes) k->add_data_classes(c);
  testing::SetProvenance(k);
  return e;
}

v1::CareEvent Revoked(const std::string& id, bool on_client_request) {
  v1::CareEvent e;
  e.mutable_consent_revoked()->set_consent_id(id);
  e.mutable_consent_revoked()->set_reason("the client withdrew it");
  e.mutable_consent_revoked()->set_on_client_request(on_client_request);
  return e;
}

v1::CareEvent ServiceStarted(const std::string& id,
                             const std::string& provider) {
  v1::CareEvent e;
  auto* s = e.mutable_service_started();
  s->set_service_id(id);
  s->set_provider_organization_id(provider);
  s->set_category(v1::SERVICE_CATEGORY_HEALTH_CARE);
  s->set_level_of_care(v1::LEVEL_OF_CARE_OUTPATIENT);
  return e;
}

v1::CareEvent ServiceEnded(const std::string& id) {
  v1::CareEvent e;
  e.mutable_service_ended()->set_service_id(id);
  e.mutable_service_ended()->set_reason("completed");
  return e;
}

v1::CareEvent Referral(const std::string& id, const std::string& to,
                       v1::ServiceCategory category,
                       const std::vector<v1::DataClass>& shared = {}) {
  v1::CareEvent e;
  auto* r = e.mutable_referral_sent();
  r->set_referral_id(id);
  r->set_to_organization_id(to);
  r->set_service_category(category);
  r->set_kind(v1::REFERRAL_KIND_WARM);
  for (v1::DataClass c : shared) r->add_shared_data_classes(c);
  return e;
}

v1::CareEvent Accepted(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_accepted()->set_referral_id(id);
  return e;
}

v1::CareEvent Completed(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_completed()->set_referral_id(id);
  e.mutable_referral_completed()->set_delivered("moved into supported housing");
  return e;
}

v1::CareEvent Assessment(const std::string& id, v1::ServiceCategory domain) {
  v1::CareEvent e;
  auto* a = e.mutable_assessment_recorded();
  a->set_assessment_id(id);
  a->add_domains()->set_domain(domain);
  a->mutable_domains(0)->set_need_level(v1::NEED_LEVEL_HIGH);
  return e;
}

v1::CareEvent Linked(const std::string& other) {
  v1::CareEvent e;
  e.mutable_client_records_linked()->set_other_client_id(other);
  e.mutable_client_records_linked()->set_reason("same person");
  return e;
}

// `message` with every mention of client `id` made "<client>".
std::string Masked(const std::string& message, const std::string& id) {
  return absl::StrReplaceAll(message, {{id, "<client>"}});
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), " ", s.error_message());
}

// --- A network with one client the intruder has nothing to do with -----------

class WriteAccessTest {
 protected:
  void StartNetwork(Transport transport, const std::string& certs_dir) {
    AccessNetworkOptions options;
    options.agencies = {{kHospital, v1::ORGANIZATION_TYPE_HOSPITAL},
                        {kHousing, v1::ORGANIZATION_TYPE_HOUSING},
                        {kIntruder, v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY}};
    options.transport = transport;
    options.certs_dir = certs_dir;
    network_ = std::make_unique<AccessNetwork>(options);
    ASSERT_TRUE(network_->ok());
    // X: registered by the hospital, an open case with a lead case manager,
    // a consent for the housing agency, a hospital service and a housing
    // referral (which involves the housing agency); and a possible duplicate.
    ASSERT_NO_FATAL_FAILURE(Must(kHospital, kX, Registered("Rivera")));
    ASSERT_NO_FATAL_FAILURE(Must(kHospital, kX, CaseOpened()));
    ASSERT_NO_FATAL_FAILURE(Must(
        kHospital, kX,
        Member("lead-1", kHospital, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER)));
    ASSERT_NO_FATAL_FAILURE(
        Must(kHospital, kX,
             Consent("k-hosp", {kHousing},
                     {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING})));
    ASSERT_NO_FATAL_FAILURE(
        Must(kHospital, kX, ServiceStarted("s-hosp", kHospital)));
    ASSERT_NO_FATAL_FAILURE(
        Must(kHospital, kX,
             Referral("r-housing", kHousing, v1::SERVICE_CATEGORY_HOUSING)));
    ASSERT_NO_FATAL_FAILURE(Must(kHospital, "x-dup", Registered("Rivera")));
  }

  uint64_t Head() { return network_->server().event_log().HeadPosition(); }

  void Must(const std::string& org, const std::string& client,
            const v1::CareEvent& e) {
    const grpc::Status s = network_->Send(org, client, e);
    ASSERT_TRUE(s.ok()) << org << " on " << client << ": " << Describe(s)
                        << "\n"
                        << e.ShortDebugString();
  }

  // Refused with `code`, a message holding each of `parts`, and nothing
  // written. Returns the status.
  grpc::Status ExpectRefused(const std::string& org, const std::string& client,
                             const v1::CareEvent& e, grpc::StatusCode code,
                             std::initializer_list<std::string> parts = {}) {
    const uint64_t head = Head();
    const grpc::Status s = network_->Send(org, client, e);
    EXPECT_EQ(s.error_code(), code)
        << org << " on " << client << ": " << Describe(s) << "\n"
        << e.ShortDebugString();
    for (const std::string& part : parts) {
      EXPECT_THAT(s.error_message(), HasSubstr(part)) << e.ShortDebugString();
    }
    EXPECT_EQ(Head(), head)
        << "a refused write moved the log head: " << e.ShortDebugString();
    return s;
  }

  void ExpectCannotRead(const std::string& org, const std::string& client) {
    v1::ReadStreamResponse page;
    const grpc::Status read =
        network_->ReadStream(org, absl::StrCat("client-", client), &page);
    EXPECT_EQ(read.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << Describe(read);
    EXPECT_EQ(page.events_size(), 0);
    v1::GetClientSummaryResponse summary;
    const grpc::Status s = network_->Summary(org, client, &summary);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << Describe(s);
    EXPECT_FALSE(summary.summary().state().registered());
  }

  // The client's stream as the auditor reads it.
  std::vector<v1::Event> AuditorRead(const std::string& client) {
    v1::ReadStreamResponse page;
    const grpc::Status s =
        network_->ReadStream(kAuditor, absl::StrCat("client-", client), &page);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return {page.events().begin(), page.events().end()};
  }

  std::unique_ptr<AccessNetwork> network_;
};

// The intrusions, over loopback and over mutual TLS.
class IntrusionTest : public WriteAccessTest,
                      public ::testing::TestWithParam<Transport> {
 protected:
  static void SetUpTestSuite() {
    certs_ = new testing::ScratchDir("write_access_certs");
    const std::string script =
        absl::StrCat(CASELINE_SOURCE_DIR, "/deploy/make-dev-certs.sh");
    ASSERT_EQ(
        std::system(absl::StrCat("bash ", script, " ", certs_->path(), " ",
                                 kHospital, " ", kHousing, " ", kIntruder, " ",
                                 kAuditor, " ", kAdmin, " > /dev/null")
                        .c_str()),
        0);
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartNetwork(GetParam(), certs_->path()));
  }

  static testing::ScratchDir* certs_;
};

testing::ScratchDir* IntrusionTest::certs_ = nullptr;

// (a) Adding its own staff to X's care team is refused, and it still cannot
// read X.
TEST_P(IntrusionTest, AnUninvolvedAgencyCannotJoinTheCareTeamOrReadAfterwards) {
  ExpectRefused(kIntruder, kX, Member("m-intruder", kIntruder),
                grpc::StatusCode::PERMISSION_DENIED,
                {kX, kIntruder, "not involved", "CareTeamMemberAdded"});
  // Even as a lead case manager.
  ExpectRefused(
      kIntruder, kX,
      Member("m-intruder", kIntruder, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
      grpc::StatusCode::PERMISSION_DENIED, {"not involved"});
  ExpectCannotRead(kIntruder, kX);
}

// (b) A consent for X naming itself.
TEST_P(IntrusionTest, AnUninvolvedAgencyCannotRecordAConsentForItself) {
  ExpectRefused(kIntruder, kX,
                Consent("k-intruder", {kIntruder},
                        {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}),
                grpc::StatusCode::PERMISSION_DENIED,
                {kX, kIntruder, "not involved", "ConsentGiven"});
  ExpectCannotRead(kIntruder, kX);
}

// (c) Another's consent, the case, another provider's service: refused to an
// uninvolved agency, and to an involved one that the command's own rule
// leaves out; the client's request lets an involved one revoke.
TEST_P(IntrusionTest, RevokingClosingAndEndingAreForWhomTheRuleNames) {
  for (const v1::CareEvent& e :
       {Revoked("k-hosp", false), Revoked("k-hosp", true), CaseClosed(),
        ServiceEnded("s-hosp")}) {
    ExpectRefused(kIntruder, kX, e, grpc::StatusCode::PERMISSION_DENIED,
                  {kX, kIntruder, "not involved"});
  }
  // The housing agency is involved (it received a referral) but did not
  // open the case, record the consent, provide the service or lead the team.
  // Each refusal names the command's rule, not standing.
  for (const v1::CareEvent& e :
       {CaseClosed(), Revoked("k-hosp", false), ServiceEnded("s-hosp"),
        Member("m-housing", kHousing), MemberRemoved("lead-1")}) {
    const grpc::Status s =
        ExpectRefused(kHousing, kX, e, grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), Not(HasSubstr("not involved")))
        << e.ShortDebugString();
  }
  ExpectRefused(kHousing, kX, Revoked("k-hosp", false),
                grpc::StatusCode::PERMISSION_DENIED,
                {"recorded by hospital", "on_client_request"});
  // The lead's organisation adds the housing worker; the member's own
  // organisation may take its worker off the team.
  Must(kHospital, kX, Member("m-housing", kHousing));
  Must(kHousing, kX, MemberRemoved("m-housing"));
  // On the client's request any involved organisation passes the revocation
  // on, and the event says so.
  Must(kHousing, kX, Revoked("k-hosp", true));
  const std::vector<v1::Event> events = AuditorRead(kX);
  ASSERT_FALSE(events.empty());
  v1::CareEvent last;
  ASSERT_TRUE(last.ParseFromString(events.back().payload()));
  ASSERT_TRUE(last.has_consent_revoked()) << last.ShortDebugString();
  EXPECT_TRUE(last.consent_revoked().on_client_request());
  EXPECT_EQ(events.back().actor().organization_id(), kHousing);
  // The hospital opened the case: it closes it.
  Must(kHospital, kX, CaseClosed());
  ExpectCannotRead(kIntruder, kX);
}

// (e) A write, a read or a view about a client the caller may not touch
// answers exactly as one about a client that does not exist.
TEST_P(IntrusionTest, AnUnknownClientAndAForbiddenOneGetTheSameAnswer) {
  for (const v1::CareEvent& e :
       {Member("m-9", kIntruder),
        Consent("k-9", {kIntruder}, {v1::DATA_CLASS_GENERAL}), CaseOpened(),
        CaseClosed(), Revoked("k-hosp", true), ServiceEnded("s-hosp"),
        Accepted("r-housing"),
        Referral("r-9", kHousing, v1::SERVICE_CATEGORY_FOOD),
        Assessment("a-9", v1::SERVICE_CATEGORY_FOOD), Linked("x-dup")}) {
    const grpc::Status forbidden =
        ExpectRefused(kIntruder, kX, e, grpc::StatusCode::PERMISSION_DENIED);
    const grpc::Status unknown = ExpectRefused(
        kIntruder, kGhost, e, grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(Masked(forbidden.error_message(), kX),
              Masked(unknown.error_message(), kGhost))
        << e.ShortDebugString();
  }
  // Registering is the one write that tells an id is taken, to everyone.
  ExpectRefused(kIntruder, kX, Registered("Copy"),
                grpc::StatusCode::ALREADY_EXISTS);

  // Reads and every view that names a client.
  using Read = std::function<grpc::Status(const std::string& org,
                                          const std::string& client)>;
  auto context = [](grpc::ClientContext* c, const std::string& org) {
    AccessNetwork::Act(c, org);
  };
  const std::vector<std::pair<std::string, Read>> reads = {
      {"ReadStream",
       [&](const std::string& org, const std::string& client) {
         v1::ReadStreamResponse r;
         return network_->ReadStream(org, absl::StrCat("client-", client), &r);
       }},
      {"GetClientSummary",
       [&](const std::string& org, const std::string& client) {
         v1::GetClientSummaryResponse r;
         return network_->Summary(org, client, &r);
       }},
      {"ListGaps",
       [&](const std::string& org, const std::string& client) {
         grpc::ClientContext c;
         context(&c, org);
         v1::ListGapsRequest q;
         q.set_client_id(client);
         v1::ListGapsResponse r;
         return v1::ContinuityViews::NewStub(network_->channel(org))
             ->ListGaps(&c, q, &r);
       }},
      {"GetTimeline",
       [&](const std::string& org, const std::string& client) {
         std::vector<v1::TimelineEntry> entries;
         return network_->Timeline(org, client, &entries);
       }},
      {"ReplayClient",
       [&](const std::string& org, const std::string& client) {
         grpc::ClientContext c;
         context(&c, org);
         v1::ReplayClientRequest q;
         q.set_client_id(client);
         q.set_position(1);
         v1::ReplayClientResponse r;
         return v1::AuditViews::NewStub(network_->channel(org))
             ->ReplayClient(&c, q, &r);
       }},
      {"ListDisclosures",
       [&](const std::string& org, const std::string& client) {
         grpc::ClientContext c;
         context(&c, org);
         v1::ListDisclosuresRequest q;
         q.set_client_id(client);
         v1::ListDisclosuresResponse r;
         return v1::AuditViews::NewStub(network_->channel(org))
             ->ListDisclosures(&c, q, &r);
       }},
      {"VerifyClientChain",
       [&](const std::string& org, const std::string& client) {
         grpc::ClientContext c;
         context(&c, org);
         v1::VerifyClientChainRequest q;
         q.set_client_id(client);
         v1::VerifyClientChainResponse r;
         return v1::AuditViews::NewStub(network_->channel(org))
             ->VerifyClientChain(&c, q, &r);
       }},
      {"ListFindings",
       [&](const std::string& org, const std::string& client) {
         grpc::ClientContext c;
         context(&c, org);
         v1::ListFindingsRequest q;
         q.set_client_id(client);
         q.set_min_position(Head());
         v1::ListFindingsResponse r;
         grpc::Status s = v1::DuplicationViews::NewStub(network_->channel(org))
                              ->ListFindings(&c, q, &r);
         EXPECT_EQ(r.findings_size(), 0);
         EXPECT_EQ(r.withheld().count(), 0u);
         return s;
       }},
  };
  for (const auto& [name, read] : reads) {
    const grpc::Status forbidden = read(kIntruder, kX);
    const grpc::Status unknown = read(kIntruder, kGhost);
    EXPECT_EQ(forbidden.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << name << ": " << Describe(forbidden);
    EXPECT_EQ(unknown.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << name << ": " << Describe(unknown);
    EXPECT_EQ(Masked(forbidden.error_message(), kX),
              Masked(unknown.error_message(), kGhost))
        << name;
    // The auditor, who reads every client, may learn that one does not
    // exist.
    EXPECT_EQ(read(kAuditor, kGhost).error_code(), grpc::StatusCode::NOT_FOUND)
        << name;
  }
}

// (f) A copy of X registered by the intruder and linked to X gives it nothing;
// even an accepted link shares no standing.
TEST_P(IntrusionTest, ACopyLinkedToTheOriginalGivesNoStanding) {
  Must(kIntruder, "x-copy", Registered("Rivera"));
  const grpc::Status to_known = ExpectRefused(
      kIntruder, "x-copy", Linked(kX), grpc::StatusCode::PERMISSION_DENIED,
      {"client_records_linked.other_client_id", kX});
  const grpc::Status to_unknown = ExpectRefused(
      kIntruder, "x-copy", Linked(kGhost), grpc::StatusCode::PERMISSION_DENIED,
      {"client_records_linked.other_client_id", kGhost});
  EXPECT_EQ(Masked(to_known.error_message(), kX),
            Masked(to_unknown.error_message(), kGhost));
  ExpectRefused(kIntruder, kX, Linked("x-copy"),
                grpc::StatusCode::PERMISSION_DENIED, {"not involved"});
  ExpectCannotRead(kIntruder, kX);
  // The intruder refers its copy to the hospital, which, involved in both
  // records, links them: the link states they are the same person and
  // nothing more.
  Must(kIntruder, "x-copy",
       Referral("r-copy", kHospital, v1::SERVICE_CATEGORY_HEALTH_CARE));
  Must(kHospital, kX, Linked("x-copy"));
  ExpectCannotRead(kIntruder, kX);
  ExpectRefused(kIntruder, kX, Member("m-intruder", kIntruder),
                grpc::StatusCode::PERMISSION_DENIED, {"not involved"});
}

// (g) An auditor writes nothing, not even its own directory entry; an admin
// records no care event.
TEST_P(IntrusionTest, AnAuditorWritesNothing) {
  v1::CareEvent self;
  self.mutable_organization_registered()->set_organization_id(kAuditor);
  self.mutable_organization_registered()->set_name("Privacy Office");
  self.mutable_organization_registered()->set_type(
      v1::ORGANIZATION_TYPE_SOCIAL_SERVICES);
  ExpectRefused(kAuditor, "", self, grpc::StatusCode::PERMISSION_DENIED,
                {"auditor"});
  for (const std::string& role : {std::string(kAuditor), std::string(kAdmin)}) {
    ExpectRefused(role, "new-1", Registered("New"),
                  grpc::StatusCode::PERMISSION_DENIED, {"agency"});
    ExpectRefused(role, kX, CaseClosed(), grpc::StatusCode::PERMISSION_DENIED,
                  {"agency"});
    ExpectRefused(role, kX,
                  Consent("k-role", {kHousing}, {v1::DATA_CLASS_GENERAL}),
                  grpc::StatusCode::PERMISSION_DENIED, {"agency"});
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, IntrusionTest,
                         ::testing::Values(Transport::kLoopback,
                                           Transport::kMutualTls),
                         [](const ::testing::TestParamInfo<Transport>& p) {
                           return p.param == Transport::kLoopback ? "Loopback"
                                                                  : "MutualTls";
                         });

// --- Over loopback only ------------------------------------------------------

class WriteAccessLoopbackTest : public WriteAccessTest, public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartNetwork(Transport::kLoopback, ""));
  }
};

// (h) Care events enter only through the commands.
TEST_F(WriteAccessLoopbackTest, RawAppendsToCareStreamsAreInvalid) {
  auto append = [&](const std::string& stream) {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kAdmin);
    v1::AppendRequest request;
    request.set_stream_id(stream);
    *request.add_events() = testing::JsonEvent("Note", R"({"text":"x"})");
    v1::AppendResponse response;
    return network_->log()->Append(&context, request, &response);
  };
  for (const std::string& stream :
       std::vector<std::string>{"client-77", "access-77", "organizations",
                                absl::StrCat("client-", kX)}) {
    const uint64_t head = Head();
    const grpc::Status s = append(stream);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << stream << ": " << Describe(s);
    EXPECT_THAT(s.error_message(), HasSubstr("stream_id")) << stream;
    EXPECT_EQ(Head(), head) << stream;
  }
  EXPECT_TRUE(append("admin-notes-77").ok());
  // The record still takes commands.
  Must(kHospital, kX, Assessment("a-after", v1::SERVICE_CATEGORY_FOOD));
}

// (i) The hospital sends a housing referral; the consent covers housing data
// for the housing agency only. The agency accepts and completes it: the
// hospital's summary, gaps, worklist and measures all show the loop closed,
// without showing it the agency's own housing assessment.
TEST_F(WriteAccessLoopbackTest, TheSenderSeesItsReferralCloseTheLoop) {
  const std::string c = "loop-1";
  const absl::Time start = absl::Now() - absl::Hours(24 * 30);
  auto must_at = [&](const std::string& org, const v1::CareEvent& e,
                     std::optional<absl::Time> at) {
    v1::CommandResult result;
    const grpc::Status s = network_->Send(org, c, e, &result, at);
    EXPECT_TRUE(s.ok()) << org << ": " << Describe(s) << "\n"
                        << e.ShortDebugString();
    return result.last_global_position();
  };
  must_at(kHospital, Registered("Loop"), start);
  must_at(kHospital, CaseOpened(), start);
  must_at(kHospital,
          Consent("k-housing", {kHousing},
                  {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING}),
          start);
  uint64_t position =
      must_at(kHospital,
              Referral("r-loop", kHousing, v1::SERVICE_CATEGORY_HOUSING,
                       {v1::DATA_CLASS_HOUSING}),
              start + absl::Hours(24 * 10));

  auto summary = [&] {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kHospital);
    v1::GetClientSummaryRequest request;
    request.set_client_id(c);
    request.set_min_position(position);
    v1::GetClientSummaryResponse response;
    const grpc::Status s =
        network_->continuity()->GetClientSummary(&context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return response.summary();
  };
  auto stale_items = [&] {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kHospital);
    v1::GetWorklistRequest request;
    request.set_organization_id(kHospital);
    request.set_horizon_days(30);
    request.set_min_position(position);
    v1::GetWorklistResponse response;
    const grpc::Status s =
        network_->continuity()->GetWorklist(&context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
    int n = 0;
    for (const auto& item : response.items()) {
      n += item.subject_id() == "r-loop" &&
           item.kind() == v1::WORKLIST_ITEM_KIND_STALE_REFERRAL;
    }
    return n;
  };
  auto not_answered = [](const v1::ClientSummary& s) {
    int n = 0;
    for (const auto& gap : s.gaps()) {
      n += gap.subject_id() == "r-loop" &&
           (gap.reason() == v1::GAP_REASON_REFERRAL_NOT_ANSWERED ||
            gap.reason() == v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED);
    }
    return n;
  };
  auto loop_closure = [&] {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kHospital);
    v1::GetMeasuresRequest request;
    *request.mutable_period()->mutable_start() = [&] {
      google::protobuf::Timestamp t;
      t.set_seconds(absl::ToUnixSeconds(start - absl::Hours(24)));
      return t;
    }();
    request.set_organization_id(kHospital);
    request.add_measures("REFERRAL-LOOP-CLOSURE");
    request.set_min_position(position);
    v1::GetMeasuresResponse response;
    const grpc::Status s =
        network_->continuity()->GetMeasures(&context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return response.results_size() == 1 ? response.results(0)
                                        : v1::MeasureResult();
  };

  // Twenty days unanswered: a gap in the summary and an item on the
  // hospital's worklist, the same referral in both.
  v1::ClientSummary before = summary();
  EXPECT_EQ(before.open_referrals_size(), 1);
  EXPECT_EQ(not_answered(before), 1);
  EXPECT_EQ(stale_items(), 1);
  // The fixture's own housing referral counts too: look at this one.
  auto members =
      [](const google::protobuf::RepeatedPtrField<v1::MeasureMember>& list) {
        int n = 0;
        for (const auto& m : list) n += m.subject_id() == "r-loop";
        return n;
      };
  const v1::MeasureResult open_loop = loop_closure();
  EXPECT_EQ(members(open_loop.denominator_members()), 1);
  EXPECT_EQ(members(open_loop.numerator_members()), 0);

  must_at(kHousing, Accepted("r-loop"), std::nullopt);
  must_at(kHousing, Assessment("a-housing", v1::SERVICE_CATEGORY_HOUSING),
          std::nullopt);
  position = must_at(kHousing, Completed("r-loop"), std::nullopt);

  const v1::ClientSummary after = summary();
  ASSERT_EQ(after.state().referrals_size(), 1);
  EXPECT_EQ(after.state().referrals(0).status(), "completed");
  EXPECT_TRUE(after.state().referrals(0).has_status_changed_at());
  EXPECT_EQ(after.open_referrals_size(), 0);
  EXPECT_EQ(not_answered(after), 0);
  EXPECT_EQ(stale_items(), 0);
  const v1::MeasureResult closure = loop_closure();
  EXPECT_EQ(closure.denominator(), open_loop.denominator());
  EXPECT_EQ(closure.numerator(), open_loop.numerator() + 1);
  EXPECT_EQ(members(closure.denominator_members()), 1);
  EXPECT_EQ(members(closure.numerator_members()), 1);
  // The loop closure, not the agency's clinical content: the housing
  // assessment stays withheld.
  v1::ReadStreamResponse page;
  ASSERT_TRUE(
      network_->ReadStream(kHospital, absl::StrCat("client-", c), &page).ok());
  std::vector<std::string> types;
  for (const auto& e : page.events()) types.push_back(e.event_type());
  EXPECT_THAT(types, ::testing::Contains("ReferralCompleted"));
  EXPECT_THAT(types, ::testing::Contains("ReferralAccepted"));
  EXPECT_THAT(types, Not(::testing::Contains("AssessmentRecorded")));
  EXPECT_GE(page.withheld().count(), 1u);
}

// (j) Refused reads of a registered client are on the record, at most once
// per reader, client and minute; a refused read disclosed nothing.
TEST_F(WriteAccessLoopbackTest, RefusedReadsAreRecordedOncePerMinute) {
  const uint64_t from = Head();
  const int64_t first_minute = absl::ToUnixSeconds(absl::Now()) / 60;
  for (int i = 0; i < 50; ++i) {
    v1::ReadStreamResponse page;
    EXPECT_EQ(
        network_->ReadStream(kIntruder, absl::StrCat("client-", kX), &page)
            .error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(
        network_->ReadStream(kIntruder, absl::StrCat("client-", kGhost), &page)
            .error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  const int64_t minutes =
      absl::ToUnixSeconds(absl::Now()) / 60 - first_minute + 1;

  std::string first_denial;
  auto list = [&](bool include_denied, bool include_reviewed = true) {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kAuditor);
    v1::ListBreakGlassRequest request;
    request.set_include_denied(include_denied);
    request.set_include_reviewed(include_reviewed);
    request.set_page_size(1000);
    request.set_min_position(Head());
    v1::ListBreakGlassResponse response;
    const grpc::Status s =
        network_->access_audit()->ListBreakGlass(&context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
    int denied = 0;
    for (const auto& a : response.accesses()) {
      if (a.global_position() <= from) continue;
      EXPECT_EQ(a.client_id(), kX) << a.ShortDebugString();
      EXPECT_EQ(a.organization_id(), kIntruder);
      EXPECT_EQ(a.user_id(), "intruder-worker");
      EXPECT_EQ(a.access().outcome(), v1::ACCESS_OUTCOME_DENIED);
      EXPECT_EQ(a.access().positions_shown_size(), 0);
      EXPECT_EQ(a.access().operation(), "caseline.v1.EventLog/ReadStream");
      if (first_denial.empty()) first_denial = a.access_event_id();
      ++denied;
    }
    return denied;
  };
  const int listed = list(true);
  EXPECT_GE(listed, 1);
  EXPECT_LE(listed, minutes);
  EXPECT_EQ(list(false), 0);
  // Reviewed like an override, it leaves the pending list.
  {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kAuditor);
    v1::MarkBreakGlassReviewedRequest request;
    request.set_access_event_id(first_denial);
    request.set_note("a mistyped client id; the intruder was told");
    v1::MarkBreakGlassReviewedResponse response;
    const grpc::Status s = network_->access_audit()->MarkBreakGlassReviewed(
        &context, request, &response);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_FALSE(response.already_reviewed());
  }
  EXPECT_EQ(list(true, false), listed - 1);

  std::vector<v1::TimelineEntry> entries;
  ASSERT_TRUE(network_->Timeline(kAuditor, kX, &entries).ok());
  int in_timeline = 0;
  for (const auto& e : entries) {
    if (e.event_type() == "RecordAccessed" &&
        e.event().record_accessed().outcome() == v1::ACCESS_OUTCOME_DENIED) {
      EXPECT_EQ(e.organization_id(), kIntruder);
      ++in_timeline;
    }
  }
  EXPECT_EQ(in_timeline, listed);

  grpc::ClientContext context;
  AccessNetwork::Act(&context, kAuditor);
  v1::ListDisclosuresRequest request;
  request.set_client_id(kX);
  v1::ListDisclosuresResponse disclosures;
  ASSERT_TRUE(
      network_->audit()->ListDisclosures(&context, request, &disclosures).ok());
  for (const auto& d : disclosures.disclosures()) {
    EXPECT_NE(d.recipient_organization_id(), kIntruder) << d.ShortDebugString();
  }
  // An id that is not a client has no record to go on.
  v1::ReadStreamResponse page;
  const grpc::Status ghost =
      network_->ReadStream(kAdmin, absl::StrCat("access-", kGhost), &page);
  EXPECT_EQ(page.events_size(), 0) << Describe(ghost);
}

// (k) Provenance is required and named; a Part 2 consent to recipient types
// is refused at write time. Fields are checked before standing.
TEST_F(WriteAccessLoopbackTest,
       AConsentWithoutProvenanceOrPart2ByTypeIsInvalid) {
  struct Case {
    std::string field;
    std::function<void(v1::ConsentGiven*)> spoil;
    // Decidable from the request alone (step 2, before standing). Not
    // obtained_at: "not after occurred_at" compares with occurred_at, which
    // defaults to the server's clock; the docs do not say whether that is
    // a field check.
    bool before_standing = true;
  };
  const std::vector<Case> cases = {
      {"consent_given.method", [](v1::ConsentGiven* k) { k->clear_method(); }},
      {"consent_given.document",
       [](v1::ConsentGiven* k) { k->clear_document(); }},
      {"consent_given.document.document_id",
       [](v1::ConsentGiven* k) { k->mutable_document()->clear_document_id(); }},
      {"consent_given.document.sha256",
       [](v1::ConsentGiven* k) {
         k->mutable_document()->set_sha256(std::string(64, 'G'));
       }},
      {"consent_given.witness",
       [](v1::ConsentGiven* k) {
         k->set_method(v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
       }},
      {"consent_given.representative.authority",
       [](v1::ConsentGiven* k) {
         k->mutable_representative()->mutable_name()->set_family("Rivera");
       }},
      {"consent_given.obtained_at",
       [](v1::ConsentGiven* k) {
         k->mutable_obtained_at()->set_seconds(
             absl::ToUnixSeconds(absl::Now() + absl::Hours(2)));
       },
       false},
      {"consent_given.recipient_organization_types",
       [](v1::ConsentGiven* k) {
         k->add_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
         k->add_recipient_organization_types(v1::ORGANIZATION_TYPE_HOUSING);
       }},
  };
  for (const Case& c : cases) {
    v1::CareEvent e = Consent("k-new", {kHousing}, {v1::DATA_CLASS_GENERAL});
    c.spoil(e.mutable_consent_given());
    ExpectRefused(kHospital, kX, e, grpc::StatusCode::INVALID_ARGUMENT,
                  {c.field});
    // Step 2 comes before standing: the same answer for the intruder.
    if (c.before_standing) {
      ExpectRefused(kIntruder, kX, e, grpc::StatusCode::INVALID_ARGUMENT,
                    {c.field});
    }
  }
  // Complete provenance, by the client's guardian, verbally with a witness.
  v1::CareEvent e = Consent("k-new", {kHousing}, {v1::DATA_CLASS_GENERAL});
  auto* k = e.mutable_consent_given();
  k->set_method(v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
  k->mutable_witness()->set_family("Nguyen");
  k->mutable_representative()->mutable_name()->set_family("Rivera");
  k->mutable_representative()->set_authority(
      v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  Must(kHospital, kX, e);
  // Part 2 named by id is fine.
  Must(kHospital, kX,
       Consent("k-part2", {kHousing},
               {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_SUBSTANCE_USE_PART2}));
}

}  // namespace
}  // namespace caseline
