// End-to-end tests of the views (ContinuityViews, DuplicationViews,
// AuditViews, Projections) over real gRPC on a loopback port. A small care
// network is written through the care-record commands, as JSON the way
// `caseline command` sends it, and every view is read back:
//   - read-your-writes through min_position;
//   - findings of each kind, dismissal, paging;
//   - summary, gaps, worklist, measures, caseload;
//   - referral lists (inbox and sent) with their access rules;
//   - timeline, replay as of a past position and time, accounting of
//     disclosures, chain verification;
//   - online rebuild over gRPC, with every view equal before and after, and a
//     restart that neither loses nor double-applies anything.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/test_util.h"
#include "tests/views_util.h"
#include "tools/cli_command.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;

template <typename Request>
void Deadline(grpc::ClientContext* context, const Request&) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
}

class ViewsTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect(); }

  void Connect() {
    server_ = std::make_unique<testing::LoopbackServer>("views_e2e");
    ASSERT_TRUE(server_->ok());
    Stubs();
  }

  void Stubs() {
    continuity_ = v1::ContinuityViews::NewStub(server_->channel());
    duplication_ = v1::DuplicationViews::NewStub(server_->channel());
    audit_ = v1::AuditViews::NewStub(server_->channel());
    projections_ = v1::Projections::NewStub(server_->channel());
    channel_ = server_->channel();
  }

  // Sends a care-record command as `org`; `json` may use single quotes for
  // readability. Returns the last position written.
  uint64_t Command(const std::string& org, const std::string& method,
                   const std::string& json) {
    const std::string text = absl::StrReplaceAll(json, {{"'", "\""}});
    auto command = tools::PrepareCommand(method, text);
    EXPECT_TRUE(command.ok()) << method << ": " << command.status();
    if (!command.ok()) return 0;
    auto response = tools::SendCommand(server_->channel(), *command, org,
                                       "u-" + org, absl::Seconds(30));
    EXPECT_TRUE(response.ok())
        << method << " " << text << ": " << response.status();
    if (!response.ok()) return 0;
    v1::CommandResult result;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(*response, &result).ok());
    last_position_ = result.last_global_position();
    return last_position_;
  }

  void RegisterOrganization(const std::string& id, const std::string& type) {
    Command(id, "Organizations.RegisterOrganization",
            absl::StrCat("{'command_id':'org-", id,
                         "','organization_registered':{'organization_id':'", id,
                         "','name':'", id, "','type':'", type, "'}}"));
  }

  // The network every test starts from (times are in 2026, before "now").
  void BuildNetwork() {
    RegisterOrganization("hospital", "ORGANIZATION_TYPE_HOSPITAL");
    RegisterOrganization("bh", "ORGANIZATION_TYPE_BEHAVIORAL_HEALTH");
    RegisterOrganization("housing", "ORGANIZATION_TYPE_HOUSING");
    RegisterOrganization("housing2", "ORGANIZATION_TYPE_HOUSING");
    RegisterOrganization("shelter", "ORGANIZATION_TYPE_COMMUNITY_AGENCY");

    // Ann: an inpatient mental-health stay with a follow-up on day 4.
    Command("hospital", "Clients.RegisterClient", R"({
      'command_id':'ann-1','client_id':'ann','occurred_at':'2026-02-20T09:00:00Z',
      'client_registered':{'name':{'given':'Ann','family':'Lee'},
        'birth_date':{'year':1980,'month':4,'day':2},'sex':'SEX_FEMALE',
        'phone':'555-010-2000'}})");
    Command("hospital", "Clients.OpenCase", R"({
      'command_id':'ann-2','client_id':'ann','occurred_at':'2026-02-20T09:05:00Z',
      'case_opened':{'reason':'admitted'}})");
    Command("hospital", "Consents.GiveConsent", R"({
      'command_id':'ann-3','client_id':'ann','occurred_at':'2026-02-20T09:10:00Z',
      'consent_given':{'consent_id':'k1',
        'recipient_organization_ids':['bh','housing','housing2','hospital'],
        'data_classes':['DATA_CLASS_GENERAL','DATA_CLASS_MENTAL_HEALTH'],
        'purposes':['PURPOSE_OF_USE_CARE_COORDINATION','PURPOSE_OF_USE_TREATMENT'],
        'method':'CONSENT_METHOD_SIGNED_FORM',
        'document':{'document_id':'form-k1','sha256':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}}})");
    // The registering hospital adds the lead case manager from bh (the team
    // has no lead yet); an organisation never adds itself.
    Command("hospital", "CareTeams.AddCareTeamMember", R"({
      'command_id':'ann-4','client_id':'ann','occurred_at':'2026-02-21T09:00:00Z',
      'care_team_member_added':{'member_id':'cm-1','name':{'given':'Cy','family':'Moe'},
        'organization_id':'bh','discipline':'DISCIPLINE_SOCIAL_WORK',
        'role':'CARE_TEAM_ROLE_LEAD_CASE_MANAGER'}})");
    Command("hospital", "Transitions.RecordAdmission", R"({
      'command_id':'ann-5','client_id':'ann','occurred_at':'2026-03-01T12:00:00Z',
      'admission_recorded':{'admission_id':'adm-1','facility_organization_id':'hospital',
        'level_of_care':'LEVEL_OF_CARE_INPATIENT','primary_need':'SERVICE_CATEGORY_MENTAL_HEALTH'}})");
    Command("hospital", "Referrals.SendReferral", R"({
      'command_id':'ann-6','client_id':'ann','occurred_at':'2026-03-05T10:00:00Z',
      'referral_sent':{'referral_id':'ref-bh','from_organization_id':'hospital',
        'to_organization_id':'bh','service_category':'SERVICE_CATEGORY_MENTAL_HEALTH',
        'kind':'REFERRAL_KIND_WARM','urgency':'URGENCY_URGENT','reason':'after-care',
        'shared_data_classes':['DATA_CLASS_MENTAL_HEALTH'],
        'purpose':'PURPOSE_OF_USE_CARE_COORDINATION'}})");
    Command("bh", "Referrals.AcceptReferral", R"({
      'command_id':'ann-7','client_id':'ann','occurred_at':'2026-03-06T10:00:00Z',
      'referral_accepted':{'referral_id':'ref-bh'}})");
    Command("hospital", "Transitions.PlanTransition", R"({
      'command_id':'ann-8','client_id':'ann','occurred_at':'2026-03-07T10:00:00Z',
      'transition_planned':{'transition_id':'tr-1','admission_id':'adm-1',
        'from_level_of_care':'LEVEL_OF_CARE_INPATIENT','from_organization_id':'hospital',
        'to_level_of_care':'LEVEL_OF_CARE_OUTPATIENT','to_organization_id':'bh',
        'planned_date':{'year':2026,'month':3,'day':10},
        'follow_up_due':{'year':2026,'month':3,'day':17}}})");
    before_discharge_ = last_position_;
    Command("hospital", "Transitions.RecordDischarge", R"({
      'command_id':'ann-9','client_id':'ann','occurred_at':'2026-03-10T11:00:00Z',
      'discharge_recorded':{'admission_id':'adm-1','disposition':'DISCHARGE_DISPOSITION_HOME'}})");
    Command("bh", "Transitions.RecordFollowUp", R"({
      'command_id':'ann-10','client_id':'ann','occurred_at':'2026-03-14T15:00:00Z',
      'follow_up_completed':{'follow_up_id':'fu-1','transition_id':'tr-1',
        'admission_id':'adm-1','contact_kind':'CONTACT_KIND_IN_PERSON',
        'provider_organization_id':'bh','provider_discipline':'DISCIPLINE_PSYCHIATRY'}})");
    // Two open housing referrals to different organisations, never answered.
    Command("bh", "Referrals.SendReferral", R"({
      'command_id':'ann-11','client_id':'ann','occurred_at':'2026-03-20T10:00:00Z',
      'referral_sent':{'referral_id':'ref-h1','from_organization_id':'bh',
        'to_organization_id':'housing','service_category':'SERVICE_CATEGORY_HOUSING',
        'kind':'REFERRAL_KIND_WARM','urgency':'URGENCY_ROUTINE','reason':'unhoused',
        'shared_data_classes':['DATA_CLASS_GENERAL'],
        'purpose':'PURPOSE_OF_USE_CARE_COORDINATION'}})");
    Command("bh", "Referrals.SendReferral", R"({
      'command_id':'ann-12','client_id':'ann','occurred_at':'2026-03-21T10:00:00Z',
      'referral_sent':{'referral_id':'ref-h2','from_organization_id':'bh',
        'to_organization_id':'housing2','service_category':'SERVICE_CATEGORY_HOUSING',
        'kind':'REFERRAL_KIND_WARM','urgency':'URGENCY_ROUTINE','reason':'unhoused',
        'shared_data_classes':['DATA_CLASS_GENERAL'],
        'purpose':'PURPOSE_OF_USE_CARE_COORDINATION'}})");
    // The same person registered again by the shelter, with a typo.
    Command("shelter", "Clients.RegisterClient", R"({
      'command_id':'anne-1','client_id':'anne','occurred_at':'2026-03-22T09:00:00Z',
      'client_registered':{'name':{'given':'Anne','family':'Lee'},
        'birth_date':{'year':1980,'month':4,'day':2},'sex':'SEX_FEMALE',
        'phone':'(555) 010-2000'}})");
    // Bob: housing services at two providers at once.
    Command("shelter", "Clients.RegisterClient", R"({
      'command_id':'bob-1','client_id':'bob','occurred_at':'2026-04-01T09:00:00Z',
      'client_registered':{'name':{'given':'Bob','family':'Okafor'},
        'birth_date':{'year':1975,'month':11,'day':30},'sex':'SEX_MALE'}})");
    // The shelter records the services it arranged with each provider.
    Command("shelter", "Services.StartService", R"({
      'command_id':'bob-2','client_id':'bob','occurred_at':'2026-04-02T09:00:00Z',
      'service_started':{'service_id':'svc-1','provider_organization_id':'housing',
        'category':'SERVICE_CATEGORY_HOUSING','level_of_care':'LEVEL_OF_CARE_COMMUNITY'}})");
    Command("shelter", "Services.StartService", R"({
      'command_id':'bob-3','client_id':'bob','occurred_at':'2026-04-10T09:00:00Z',
      'service_started':{'service_id':'svc-2','provider_organization_id':'housing2',
        'category':'SERVICE_CATEGORY_HOUSING','level_of_care':'LEVEL_OF_CARE_COMMUNITY'}})");
  }

  std::vector<v1::Finding> Findings(v1::ListFindingsRequest request) {
    std::vector<v1::Finding> out;
    request.set_page_size(2);  // exercise paging
    while (true) {
      grpc::ClientContext context;
      Deadline(&context, request);
      v1::ListFindingsResponse response;
      grpc::Status status =
          duplication_->ListFindings(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) return out;
      for (const auto& f : response.findings()) out.push_back(f);
      if (response.next_page_token().empty()) return out;
      request.set_page_token(response.next_page_token());
    }
  }

  std::string ProjectedState() {
    return testing::ProjectedViews(channel_, last_position_);
  }

  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<v1::ContinuityViews::Stub> continuity_;
  std::unique_ptr<v1::DuplicationViews::Stub> duplication_;
  std::unique_ptr<v1::AuditViews::Stub> audit_;
  std::unique_ptr<v1::Projections::Stub> projections_;
  std::shared_ptr<grpc::Channel> channel_;
  uint64_t last_position_ = 0;
  uint64_t before_discharge_ = 0;
};

TEST_F(ViewsTest, FindingsOfEachKindWithReadYourWrites) {
  BuildNetwork();
  v1::ListFindingsRequest request;
  request.set_min_position(last_position_);
  std::vector<v1::Finding> findings = Findings(request);
  std::map<v1::FindingKind, std::vector<v1::Finding>> by_kind;
  for (const auto& f : findings) by_kind[f.kind()].push_back(f);

  ASSERT_EQ(by_kind[v1::FINDING_KIND_DUPLICATE_REFERRALS].size(), 1u);
  const v1::Finding& referrals =
      by_kind[v1::FINDING_KIND_DUPLICATE_REFERRALS][0];
  EXPECT_THAT(referrals.client_ids(), ::testing::ElementsAre("ann"));
  EXPECT_THAT(referrals.subject_ids(),
              ::testing::UnorderedElementsAre("ref-h1", "ref-h2"));
  EXPECT_EQ(referrals.status(), v1::FINDING_STATUS_OPEN);
  EXPECT_EQ(referrals.cause_positions_size(), 2);
  EXPECT_GT(referrals.first_detected_position(), 0u);

  ASSERT_EQ(by_kind[v1::FINDING_KIND_OVERLAPPING_SERVICES].size(), 1u);
  EXPECT_THAT(by_kind[v1::FINDING_KIND_OVERLAPPING_SERVICES][0].client_ids(),
              ::testing::ElementsAre("bob"));

  ASSERT_EQ(by_kind[v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS].size(), 1u);
  const v1::Finding& pair =
      by_kind[v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS][0];
  EXPECT_THAT(pair.client_ids(),
              ::testing::UnorderedElementsAre("ann", "anne"));
  EXPECT_EQ(pair.match_class(), v1::MATCH_CLASS_MATCH);
  EXPECT_GE(pair.match_probability(), 0.8);
  EXPECT_GE(pair.comparisons_size(), 4);

  // By organisation: housing2 is the receiver of one duplicate referral and
  // the provider of one overlapping service.
  v1::ListFindingsRequest by_org;
  by_org.set_organization_id("housing2");
  EXPECT_EQ(Findings(by_org).size(), 2u);
  // By client.
  v1::ListFindingsRequest by_client;
  by_client.set_client_id("bob");
  EXPECT_EQ(Findings(by_client).size(), 1u);

  // A dismissal closes the pair for good.
  const uint64_t dismissed = Command(
      "shelter", "Clients.DismissDuplicate",
      absl::StrCat("{'command_id':'dismiss-1','client_id':'anne',"
                   "'duplicate_dismissed':{'finding_id':'",
                   pair.finding_id(), "','reason':'different mothers'}}"));
  v1::ListFindingsRequest open_pairs;
  open_pairs.set_min_position(dismissed);
  open_pairs.add_kinds(v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS);
  EXPECT_TRUE(Findings(open_pairs).empty());
  open_pairs.add_statuses(v1::FINDING_STATUS_DISMISSED);
  std::vector<v1::Finding> dismissed_pairs = Findings(open_pairs);
  ASSERT_EQ(dismissed_pairs.size(), 1u);
  EXPECT_EQ(dismissed_pairs[0].status(), v1::FINDING_STATUS_DISMISSED);
}

// A birth date that is not a calendar date is registered, not refused: the
// year is kept, the rest recorded as text, and the duplication view reports
// it until a correction gives a whole date.
// Two registrations of one person: the finding explains each field with the
// model's m and u, and GetMatchModel shows that model (the default one: far
// fewer than 1,000 comparisons were counted).
TEST_F(ViewsTest, DuplicateFindingsShowTheMatchModel) {
  RegisterOrganization("hospital", "ORGANIZATION_TYPE_HOSPITAL");
  for (const char* id : {"kim-1", "kim-2"}) {
    Command("hospital", "Clients.RegisterClient",
            absl::StrCat("{'command_id':'", id, "','client_id':'", id, R"(',
      'client_registered':{'name':{'given':'Kim','family':'Okafor'},
        'birth_date':{'year':1961,'month':4,'day':9},'sex':'SEX_FEMALE',
        'phone':'541-555-0142'}})"));
    // A finding shows what a consent covers for the reader.
    Command("hospital", "Consents.GiveConsent",
            absl::StrCat("{'command_id':'", id, "-k','client_id':'", id, R"(',
      'consent_given':{'consent_id':'k1','recipient_organization_ids':['hospital'],
        'data_classes':['DATA_CLASS_GENERAL'],
        'purposes':['PURPOSE_OF_USE_CARE_COORDINATION'],
        'method':'CONSENT_METHOD_SIGNED_FORM',
        'document':{'document_id':'form-k1','sha256':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}}})"));
  }
  v1::ListFindingsRequest request;
  request.set_client_id("kim-1");
  request.set_min_position(last_position_);
  v1::ListFindingsResponse findings;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "hospital");
    grpc::Status status =
        duplication_->ListFindings(&context, request, &findings);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(findings.findings_size(), 1);
  const v1::Finding& f = findings.findings(0);
  EXPECT_EQ(f.finding_id(), "duplicate-clients:kim-1:kim-2");
  EXPECT_EQ(f.match_class(), v1::MATCH_CLASS_MATCH);
  EXPECT_EQ(f.match_model_pairs(), 0u);
  ASSERT_EQ(f.comparisons_size(), 7);
  EXPECT_EQ(f.comparisons(0).field(), "given_name");
  EXPECT_EQ(f.comparisons(6).field(), "identifier");
  EXPECT_EQ(f.comparisons(6).agreement(), v1::FIELD_AGREEMENT_MISSING);

  v1::GetMatchModelRequest model_request;
  model_request.set_min_position(last_position_);
  v1::GetMatchModelResponse model;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "hospital");
    grpc::Status status =
        duplication_->GetMatchModel(&context, model_request, &model);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(model.estimated_at_pairs(), 0u);
  EXPECT_EQ(model.compared_pairs(), 1u);
  EXPECT_EQ(model.next_estimate_at_pairs(), 1000u);
  EXPECT_EQ(model.given_name_clients(), 2u);
  EXPECT_DOUBLE_EQ(model.prior(), 0.001);
  EXPECT_DOUBLE_EQ(model.match_threshold(), 0.8);
  ASSERT_EQ(model.fields_size(), 7);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(model.fields(i).field(), f.comparisons(i).field());
    const v1::MatchModelLevel& agree = model.fields(i).levels(0);
    EXPECT_EQ(agree.agreement(), v1::FIELD_AGREEMENT_AGREE);
    if (f.comparisons(i).agreement() == v1::FIELD_AGREEMENT_AGREE) {
      // The finding's m and u are the model's, level for level.
      EXPECT_DOUBLE_EQ(f.comparisons(i).m_probability(), agree.m_probability())
          << f.comparisons(i).field();
      EXPECT_DOUBLE_EQ(f.comparisons(i).u_probability(), agree.u_probability())
          << f.comparisons(i).field();
    }
  }
}

TEST_F(ViewsTest, AnImperfectBirthDateIsRegisteredAndReported) {
  RegisterOrganization("hospital", "ORGANIZATION_TYPE_HOSPITAL");
  Command("hospital", "Clients.RegisterClient", R"({
    'command_id':'dora-1','client_id':'dora',
    'client_registered':{'name':{'given':'Dora','family':'Ames'},
      'birth_date':{'year':1972,'month':95,'day':18}}})");
  // A finding shows what a consent covers for the reader (docs/access.md
  // "Per read").
  Command("hospital", "Consents.GiveConsent", R"({
    'command_id':'dora-k','client_id':'dora',
    'consent_given':{'consent_id':'k1','recipient_organization_ids':['hospital'],
      'data_classes':['DATA_CLASS_GENERAL'],
      'purposes':['PURPOSE_OF_USE_CARE_COORDINATION'],
      'method':'CONSENT_METHOD_SIGNED_FORM',
      'document':{'document_id':'form-k1','sha256':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}}})");
  auto details = [&] {
    v1::GetClientSummaryRequest request;
    request.set_client_id("dora");
    request.set_min_position(last_position_);
    v1::GetClientSummaryResponse response;
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "hospital");
    grpc::Status status =
        continuity_->GetClientSummary(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.summary().state().details();
  };
  EXPECT_EQ(details().birth_date().ShortDebugString(), "year: 1972");
  EXPECT_EQ(details().birth_date_recorded_as(), "1972-95-18");

  // Read by the registering hospital, about itself.
  v1::ListFindingsRequest request;
  request.set_organization_id("hospital");
  request.add_kinds(v1::FINDING_KIND_BIRTH_DATE_QUALITY);
  request.add_statuses(v1::FINDING_STATUS_OPEN);
  request.add_statuses(v1::FINDING_STATUS_RESOLVED);
  auto list = [&] {
    request.set_min_position(last_position_);
    v1::ListFindingsResponse response;
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "hospital");
    grpc::Status status =
        duplication_->ListFindings(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.withheld().count(), 0);
    return std::vector<v1::Finding>(response.findings().begin(),
                                    response.findings().end());
  };
  std::vector<v1::Finding> findings = list();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].finding_id(), "birth-date:dora");
  EXPECT_EQ(findings[0].status(), v1::FINDING_STATUS_OPEN);
  EXPECT_EQ(findings[0].description(),
            "Client dora's birth date was recorded as text that is not a "
            "calendar date; correct it when a document shows it.");

  Command("hospital", "Clients.CorrectClientDetails", R"({
    'command_id':'dora-2','client_id':'dora',
    'client_details_corrected':{'birth_date':{'year':1972,'month':5,'day':18},
      'reason':'passport seen'}})");
  EXPECT_EQ(details().birth_date().ShortDebugString(),
            "year: 1972 month: 5 day: 18");
  EXPECT_EQ(details().birth_date_recorded_as(), "");
  findings = list();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].status(), v1::FINDING_STATUS_RESOLVED);
}

TEST_F(ViewsTest, BadRequestsNameTheField) {
  BuildNetwork();
  v1::ListFindingsRequest both;
  both.set_client_id("ann");
  both.set_organization_id("bh");
  {
    grpc::ClientContext context;
    v1::ListFindingsResponse response;
    grpc::Status status = duplication_->ListFindings(&context, both, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  v1::GetWorklistRequest beyond;
  beyond.set_organization_id("bh");
  beyond.set_min_position(last_position_ + 1000);
  {
    grpc::ClientContext context;
    v1::GetWorklistResponse response;
    grpc::Status status = continuity_->GetWorklist(&context, beyond, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("min_position"));
  }
  v1::GetClientSummaryRequest unknown;
  unknown.set_client_id("nobody");
  {
    grpc::ClientContext context;
    v1::GetClientSummaryResponse response;
    grpc::Status status =
        continuity_->GetClientSummary(&context, unknown, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("nobody"));
  }
  v1::ReplayClientRequest no_as_of;
  no_as_of.set_client_id("ann");
  {
    grpc::ClientContext context;
    v1::ReplayClientResponse response;
    grpc::Status status = audit_->ReplayClient(&context, no_as_of, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(ViewsTest, ContinuityViews) {
  BuildNetwork();
  // Summary: the lead, the open referrals, consent coverage, and gaps.
  v1::GetClientSummaryRequest summary_request;
  summary_request.set_client_id("ann");
  summary_request.set_min_position(last_position_);
  v1::GetClientSummaryResponse summary;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        continuity_->GetClientSummary(&context, summary_request, &summary)
            .ok());
  }
  EXPECT_EQ(summary.summary().lead_case_manager().member_id(), "cm-1");
  EXPECT_EQ(summary.summary().open_referrals_size(), 3);  // bh accepted + 2
  EXPECT_EQ(summary.summary().last_discharge().admission_id(), "adm-1");
  EXPECT_GE(summary.view_position(), last_position_);
  bool bh_covered = false;
  for (const auto& coverage : summary.summary().consent_coverage()) {
    if (coverage.organization_id() == "bh") {
      bh_covered = coverage.missing_data_classes().empty() &&
                   !coverage.covered_data_classes().empty();
    }
  }
  EXPECT_TRUE(bh_covered);
  bool unanswered = false;
  for (const auto& gap : summary.summary().gaps()) {
    if (gap.reason() == v1::GAP_REASON_REFERRAL_NOT_ANSWERED) {
      unanswered = true;
      EXPECT_FALSE(gap.cause_positions().empty());
    }
  }
  EXPECT_TRUE(unanswered) << summary.ShortDebugString();

  // The housing provider's worklist shows the stale referral.
  v1::GetWorklistRequest worklist;
  worklist.set_organization_id("housing");
  worklist.set_min_position(last_position_);
  v1::GetWorklistResponse items;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(continuity_->GetWorklist(&context, worklist, &items).ok());
  }
  ASSERT_GE(items.items_size(), 1);
  EXPECT_EQ(items.items(0).kind(), v1::WORKLIST_ITEM_KIND_STALE_REFERRAL);
  EXPECT_EQ(items.items(0).subject_id(), "ref-h1");
  EXPECT_TRUE(items.items(0).overdue());

  // TRC around the same stay (admitted 03-01, discharged 03-10 11:00, the
  // follow-up on day 4): bh is notified of the admission on day 2 (counts),
  // gets the discharge information on day 3 (does not), and reconciles the
  // medications on the discharge date before the discharge hour (counts).
  Command("bh", "Transitions.RecordAdmissionNotification", R"({
    'command_id':'ann-trc-1','client_id':'ann','occurred_at':'2026-03-03T23:00:00Z',
    'admission_notification_received':{'notification_id':'n-1','admission_id':'adm-1'}})");
  Command("bh", "Transitions.RecordDischargeInformation", R"({
    'command_id':'ann-trc-2','client_id':'ann','occurred_at':'2026-03-13T08:00:00Z',
    'discharge_information_received':{'receipt_id':'i-1','admission_id':'adm-1'}})");
  Command("bh", "Transitions.RecordMedicationReconciliation", R"({
    'command_id':'ann-trc-3','client_id':'ann','occurred_at':'2026-03-10T09:00:00Z',
    'medication_reconciliation_recorded':{'reconciliation_id':'m-1',
      'admission_id':'adm-1','performer_discipline':'DISCIPLINE_PSYCHIATRY'}})");

  // FUH: one inpatient mental-health discharge, followed up on day 4.
  v1::GetMeasuresRequest measures;
  measures.mutable_period()->mutable_start()->set_seconds(absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone())));
  measures.set_min_position(last_position_);
  v1::GetMeasuresResponse results;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(continuity_->GetMeasures(&context, measures, &results).ok());
  }
  std::map<std::string, v1::MeasureResult> by_name;
  for (const auto& r : results.results()) by_name[r.measure()] = r;
  EXPECT_EQ(by_name["FUH-7"].denominator(), 1);
  EXPECT_EQ(by_name["FUH-7"].numerator(), 1);
  EXPECT_EQ(by_name["FUH-30"].numerator(), 1);
  EXPECT_EQ(by_name["REFERRAL-LOOP-CLOSURE"].denominator(), 3);
  ASSERT_EQ(results.results_size(), 10);
  EXPECT_EQ(results.results(6).measure(), "TRC-NOTIFICATION");
  for (const char* trc : {"TRC-NOTIFICATION", "TRC-RECEIPT", "TRC-ENGAGEMENT",
                          "TRC-MEDICATION-RECONCILIATION"}) {
    EXPECT_EQ(by_name[trc].denominator(), 1) << trc;
  }
  EXPECT_EQ(by_name["TRC-NOTIFICATION"].numerator(), 1);
  EXPECT_EQ(by_name["TRC-NOTIFICATION"].numerator_members(0).qualifying_id(),
            "n-1");
  EXPECT_EQ(by_name["TRC-RECEIPT"].numerator(), 0);
  EXPECT_EQ(by_name["TRC-RECEIPT"].window_days(), 2);
  EXPECT_EQ(by_name["TRC-ENGAGEMENT"].numerator(), 1);
  EXPECT_EQ(by_name["TRC-ENGAGEMENT"].numerator_members(0).qualifying_id(),
            "fu-1");
  EXPECT_EQ(by_name["TRC-MEDICATION-RECONCILIATION"].numerator(), 1);
  EXPECT_EQ(by_name["TRC-MEDICATION-RECONCILIATION"]
                .numerator_members(0)
                .subject_id(),
            "adm-1");

  // Caseload: cm-1 leads one open case.
  v1::GetCaseloadRequest caseload;
  caseload.set_min_position(last_position_);
  caseload.set_threshold(1);
  v1::GetCaseloadResponse loads;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(continuity_->GetCaseload(&context, caseload, &loads).ok());
  }
  ASSERT_EQ(loads.workers_size(), 1);
  EXPECT_EQ(loads.workers(0).member_id(), "cm-1");
  EXPECT_EQ(loads.workers(0).active_clients(), 1);
  EXPECT_TRUE(loads.above_threshold().empty());  // 1 is not above 1
}

TEST_F(ViewsTest, AuditViews) {
  BuildNetwork();
  // Timeline, filtered by organisation.
  v1::GetTimelineRequest timeline;
  timeline.set_client_id("ann");
  v1::GetTimelineResponse entries;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->GetTimeline(&context, timeline, &entries).ok());
  }
  EXPECT_EQ(entries.entries_size(), 12);
  EXPECT_EQ(entries.entries(0).event_type(), "ClientRegistered");
  EXPECT_EQ(entries.entries(0).organization_id(), "hospital");
  EXPECT_EQ(entries.entries(0).user_id(), "u-hospital");
  timeline.add_organization_ids("bh");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->GetTimeline(&context, timeline, &entries).ok());
  }
  // bh's acceptance, follow-up and two referrals (the hospital added bh's
  // lead case manager).
  EXPECT_EQ(entries.entries_size(), 4);

  // Replay: before the discharge the stay was open; as recorded now it is
  // closed.
  v1::ReplayClientRequest replay;
  replay.set_client_id("ann");
  replay.set_position(before_discharge_);
  v1::ReplayClientResponse past;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->ReplayClient(&context, replay, &past).ok());
  }
  ASSERT_EQ(past.state().admissions_size(), 1);
  EXPECT_FALSE(past.state().admissions(0).has_discharged_at());
  replay.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilDay(2026, 12, 31), absl::UTCTimeZone())));
  v1::ReplayClientResponse now;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->ReplayClient(&context, replay, &now).ok());
  }
  ASSERT_EQ(now.state().admissions_size(), 1);
  EXPECT_TRUE(now.state().admissions(0).has_discharged_at());

  // Accounting of disclosures: the three referrals that shared data.
  v1::ListDisclosuresRequest disclosures;
  disclosures.set_client_id("ann");
  v1::ListDisclosuresResponse listed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->ListDisclosures(&context, disclosures, &listed).ok());
  }
  ASSERT_EQ(listed.disclosures_size(), 3);
  EXPECT_EQ(listed.disclosures(0).recipient_organization_id(), "bh");
  EXPECT_EQ(listed.disclosures(0).consent_id(), "k1");

  // Chain verification of the client's events.
  v1::VerifyClientChainRequest verify;
  verify.set_client_id("ann");
  v1::VerifyClientChainResponse verified;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->VerifyClientChain(&context, verify, &verified).ok());
  }
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.events_checked(), 12u);
  EXPECT_EQ(verified.head_position(), last_position_);
  EXPECT_EQ(verified.head_hash().size(), 64u);
}

TEST_F(ViewsTest, OnlineRebuildAndRestartGiveTheSameViews) {
  BuildNetwork();
  const std::string before = ProjectedState();
  ASSERT_THAT(before, HasSubstr("FINDING_KIND_DUPLICATE_REFERRALS"));
  ASSERT_THAT(before, HasSubstr("REFERRAL_DIRECTION_RECEIVED"));

  testing::RebuildAll(channel_);

  v1::GetProjectionStatusResponse status;
  {
    grpc::ClientContext status_context;
    ASSERT_TRUE(projections_
                    ->GetStatus(&status_context,
                                v1::GetProjectionStatusRequest(), &status)
                    .ok());
  }
  ASSERT_EQ(status.projections_size(), 3);  // continuity, duplication, access
  for (const auto& p : status.projections()) {
    EXPECT_EQ(p.generation(), 2u) << p.name();
    EXPECT_EQ(p.state(), "running");
    EXPECT_EQ(p.last_error(), "");
  }
  EXPECT_EQ(ProjectedState(), before);

  // Restart on the same directory: the projections resume from their
  // checkpoints.
  const std::string dir = server_->data_dir();
  server_->server().Shutdown(absl::Seconds(5));
  auto restarted = testing::StartLoopbackServer(dir);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  channel_ = grpc::CreateChannel((*restarted)->address(),
                                 grpc::InsecureChannelCredentials());
  EXPECT_EQ(ProjectedState(), before);
}

// views.proto: NOT_FOUND for an unknown organisation, so that a mistyped id
// is not answered with an empty list.
TEST_F(ViewsTest, UnregisteredOrganisationsAreNotFound) {
  BuildNetwork();
  auto expect_not_found = [](const grpc::Status& status, const char* what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
        << what << ": " << status.error_message();
    EXPECT_THAT(status.error_message(),
                HasSubstr("organisation nowhere is not registered"))
        << what;
  };
  {
    v1::GetWorklistRequest request;
    request.set_organization_id("nowhere");
    grpc::ClientContext context;
    v1::GetWorklistResponse response;
    expect_not_found(continuity_->GetWorklist(&context, request, &response),
                     "GetWorklist");
  }
  {
    v1::ListReferralsRequest request;
    request.set_organization_id("nowhere");
    grpc::ClientContext context;
    v1::ListReferralsResponse response;
    expect_not_found(continuity_->ListReferrals(&context, request, &response),
                     "ListReferrals");
  }
  {
    v1::GetMeasuresRequest request;
    request.mutable_period()->mutable_start()->set_seconds(0);
    request.set_organization_id("nowhere");
    grpc::ClientContext context;
    v1::GetMeasuresResponse response;
    expect_not_found(continuity_->GetMeasures(&context, request, &response),
                     "GetMeasures");
  }
  {
    v1::GetCaseloadRequest request;
    request.set_organization_id("nowhere");
    grpc::ClientContext context;
    v1::GetCaseloadResponse response;
    expect_not_found(continuity_->GetCaseload(&context, request, &response),
                     "GetCaseload");
  }
  {
    v1::ListFindingsRequest request;
    request.set_organization_id("nowhere");
    grpc::ClientContext context;
    v1::ListFindingsResponse response;
    expect_not_found(duplication_->ListFindings(&context, request, &response),
                     "ListFindings");
  }
  {
    v1::GetTimelineRequest request;
    request.set_client_id("ann");
    request.add_organization_ids("bh");
    request.add_organization_ids("nowhere");
    grpc::ClientContext context;
    v1::GetTimelineResponse response;
    expect_not_found(audit_->GetTimeline(&context, request, &response),
                     "GetTimeline");
  }
  // Registered organisations, and none where a request allows none, answer.
  {
    v1::GetCaseloadRequest request;
    grpc::ClientContext context;
    v1::GetCaseloadResponse response;
    EXPECT_TRUE(continuity_->GetCaseload(&context, request, &response).ok());
  }
  {
    v1::GetTimelineRequest request;
    request.set_client_id("ann");
    request.add_organization_ids("bh");
    grpc::ClientContext context;
    v1::GetTimelineResponse response;
    const grpc::Status status =
        audit_->GetTimeline(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_GT(response.entries_size(), 0);
  }
}

// views.proto: page_size at most 1000; more is refused, not quietly cut.
TEST_F(ViewsTest, PageSizeAboveTheMaximumIsInvalidArgument) {
  BuildNetwork();
  auto expect_refused = [](const grpc::Status& status, const char* what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << what << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("page_size: at most 1000"))
        << what;
  };
  {
    v1::GetWorklistRequest request;
    request.set_organization_id("bh");
    request.set_page_size(5000);
    grpc::ClientContext context;
    v1::GetWorklistResponse response;
    expect_refused(continuity_->GetWorklist(&context, request, &response),
                   "GetWorklist");
    request.set_page_size(1000);
    grpc::ClientContext at_most;
    EXPECT_TRUE(continuity_->GetWorklist(&at_most, request, &response).ok());
  }
  {
    v1::ListReferralsRequest request;
    request.set_organization_id("bh");
    request.set_page_size(5000);
    grpc::ClientContext context;
    v1::ListReferralsResponse response;
    expect_refused(continuity_->ListReferrals(&context, request, &response),
                   "ListReferrals");
  }
  {
    v1::ListFindingsRequest request;
    request.set_page_size(1001);
    grpc::ClientContext context;
    v1::ListFindingsResponse response;
    expect_refused(duplication_->ListFindings(&context, request, &response),
                   "ListFindings");
  }
  {
    v1::GetTimelineRequest request;
    request.set_client_id("ann");
    request.set_page_size(5000);
    grpc::ClientContext context;
    v1::GetTimelineResponse response;
    expect_refused(audit_->GetTimeline(&context, request, &response),
                   "GetTimeline");
  }
  {
    v1::ListDisclosuresRequest request;
    request.set_client_id("ann");
    request.set_page_size(5000);
    grpc::ClientContext context;
    v1::ListDisclosuresResponse response;
    expect_refused(audit_->ListDisclosures(&context, request, &response),
                   "ListDisclosures");
  }
}

// An organisation's referral lists (ContinuityViews.ListReferrals), called
// as `caller` (an agency in development mode; empty: the local operator).
grpc::Status ListReferrals(v1::ContinuityViews::Stub* continuity,
                           const std::string& caller,
                           const v1::ListReferralsRequest& request,
                           v1::ListReferralsResponse* response) {
  grpc::ClientContext context;
  Deadline(&context, request);
  if (!caller.empty()) context.AddMetadata("x-caseline-org", caller);
  return continuity->ListReferrals(&context, request, response);
}

std::vector<std::string> ReferralIds(const v1::ListReferralsResponse& list) {
  std::vector<std::string> ids;
  for (const v1::ReferralListEntry& entry : list.entries()) {
    ids.push_back(entry.referral().referral_id());
  }
  return ids;
}

TEST_F(ViewsTest, ReferralInboxAndSentList) {
  using ::testing::ElementsAre;
  BuildNetwork();
  // bh received ref-bh (urgent, accepted) and sent ref-h1 and ref-h2
  // (routine, unanswered).
  v1::ListReferralsRequest bh;
  bh.set_organization_id("bh");
  bh.set_min_position(last_position_);
  v1::ListReferralsResponse list;
  grpc::Status status = ListReferrals(continuity_.get(), "bh", bh, &list);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(ReferralIds(list), ElementsAre("ref-bh", "ref-h1", "ref-h2"));
  EXPECT_GE(list.view_position(), last_position_);
  EXPECT_EQ(list.withheld().count(), 0u);
  ASSERT_EQ(list.entries_size(), 3);
  const v1::ReferralListEntry& received = list.entries(0);
  EXPECT_EQ(received.client_id(), "ann");
  EXPECT_EQ(received.direction(), v1::REFERRAL_DIRECTION_RECEIVED);
  EXPECT_EQ(received.organization_id(), "bh");
  EXPECT_EQ(received.referral().from_organization_id(), "hospital");
  EXPECT_EQ(received.referral().status(), "accepted");
  EXPECT_EQ(received.referral().urgency(), v1::URGENCY_URGENT);
  EXPECT_GT(received.referral().age_days(), 0);  // sent in March 2026
  EXPECT_EQ(list.entries(1).direction(), v1::REFERRAL_DIRECTION_SENT);
  EXPECT_EQ(list.entries(1).referral().to_organization_id(), "housing");

  bh.set_direction(v1::REFERRAL_DIRECTION_SENT);
  ASSERT_TRUE(ListReferrals(continuity_.get(), "bh", bh, &list).ok());
  EXPECT_THAT(ReferralIds(list), ElementsAre("ref-h1", "ref-h2"));

  // An agency lists only its own organisation; an unknown organisation is
  // NOT_FOUND; bad fields are named.
  {
    v1::ListReferralsRequest other;
    other.set_organization_id("bh");
    status = ListReferrals(continuity_.get(), "housing", other, &list);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(status.error_message(),
                HasSubstr("organization_id: organisation housing may ask "
                          "only about itself (housing), not about bh"));
    other.clear_organization_id();
    status = ListReferrals(continuity_.get(), "housing", other, &list);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    status = ListReferrals(continuity_.get(), "", other, &list);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("organization_id"));
    other.set_organization_id("nowhere");
    status = ListReferrals(continuity_.get(), "", other, &list);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    other.set_organization_id("housing");
    other.add_statuses("open");
    status = ListReferrals(continuity_.get(), "housing", other, &list);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                HasSubstr("statuses: \"open\" is not a referral status"));
  }

  // housing received ref-h1, a housing referral: no consent covers housing
  // for HOUSING yet, so its inbox withholds it.
  v1::ListReferralsRequest inbox;
  inbox.set_organization_id("housing");
  inbox.set_direction(v1::REFERRAL_DIRECTION_RECEIVED);
  ASSERT_TRUE(ListReferrals(continuity_.get(), "housing", inbox, &list).ok());
  EXPECT_TRUE(list.entries().empty());
  EXPECT_EQ(list.withheld().count(), 1u);
  EXPECT_THAT(list.withheld().data_classes(),
              ::testing::Contains(v1::DATA_CLASS_HOUSING));
  // The local operator sees it.
  ASSERT_TRUE(ListReferrals(continuity_.get(), "", inbox, &list).ok());
  EXPECT_THAT(ReferralIds(list), ElementsAre("ref-h1"));

  // With consent the inbox shows it, as new; accepted, it moves from the
  // new ones to the accepted ones.
  inbox.set_min_position(Command("hospital", "Consents.GiveConsent", R"({
      'command_id':'ann-k2','client_id':'ann',
      'consent_given':{'consent_id':'k2','recipient_organization_ids':['housing'],
        'data_classes':['DATA_CLASS_HOUSING'],
        'method':'CONSENT_METHOD_SIGNED_FORM',
        'document':{'document_id':'form-k2','sha256':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}}})"));
  v1::ListReferralsRequest fresh = inbox;
  fresh.add_statuses("requested");
  fresh.add_statuses("received");
  v1::ListReferralsRequest accepted = inbox;
  accepted.add_statuses("accepted");
  accepted.add_statuses("on-hold");
  accepted.add_statuses("in-progress");
  ASSERT_TRUE(ListReferrals(continuity_.get(), "housing", fresh, &list).ok());
  EXPECT_THAT(ReferralIds(list), ElementsAre("ref-h1"));
  EXPECT_EQ(list.withheld().count(), 0u);
  EXPECT_EQ(list.entries(0).referral().status(), "requested");
  ASSERT_TRUE(
      ListReferrals(continuity_.get(), "housing", accepted, &list).ok());
  EXPECT_TRUE(list.entries().empty());

  const uint64_t accepted_at =
      Command("housing", "Referrals.AcceptReferral", R"({
      'command_id':'h1-accept','client_id':'ann',
      'referral_accepted':{'referral_id':'ref-h1'}})");
  fresh.set_min_position(accepted_at);
  accepted.set_min_position(accepted_at);
  ASSERT_TRUE(ListReferrals(continuity_.get(), "housing", fresh, &list).ok());
  EXPECT_TRUE(list.entries().empty());
  ASSERT_TRUE(
      ListReferrals(continuity_.get(), "housing", accepted, &list).ok());
  EXPECT_THAT(ReferralIds(list), ElementsAre("ref-h1"));
  EXPECT_EQ(list.entries(0).referral().status(), "accepted");
  // The sender sees it accepted.
  bh.set_min_position(accepted_at);
  ASSERT_TRUE(ListReferrals(continuity_.get(), "bh", bh, &list).ok());
  ASSERT_EQ(list.entries_size(), 2);
  EXPECT_EQ(list.entries(0).referral().status(), "accepted");

  // Declined, ref-h2 leaves the sender's open list and is listed by status.
  const uint64_t declined =
      Command("housing2", "Referrals.DeclineReferral", R"({
      'command_id':'h2-decline','client_id':'ann',
      'referral_declined':{'referral_id':'ref-h2','reason':'no capacity'}})");
  bh.set_min_position(declined);
  ASSERT_TRUE(ListReferrals(continuity_.get(), "bh", bh, &list).ok());
  EXPECT_THAT(ReferralIds(list), ElementsAre("ref-h1"));
  bh.add_statuses("declined");
  ASSERT_TRUE(ListReferrals(continuity_.get(), "bh", bh, &list).ok());
  EXPECT_THAT(ReferralIds(list), ElementsAre("ref-h2"));
  EXPECT_EQ(list.entries(0).referral().status(), "declined");

  // Pages of one entry give every entry once, in order.
  v1::ListReferralsRequest everything;
  everything.set_organization_id("bh");
  for (const char* s :
       {"requested", "received", "accepted", "declined", "on-hold",
        "in-progress", "completed", "failed", "cancelled"}) {
    everything.add_statuses(s);
  }
  everything.set_page_size(1);
  std::vector<std::string> paged;
  while (true) {
    ASSERT_TRUE(ListReferrals(continuity_.get(), "bh", everything, &list).ok());
    ASSERT_LE(list.entries_size(), 1);
    for (const std::string& id : ReferralIds(list)) paged.push_back(id);
    if (list.next_page_token().empty()) break;
    everything.set_page_token(list.next_page_token());
  }
  // Received, then sent: open (ref-h1) before closed (ref-h2).
  EXPECT_THAT(paged, ElementsAre("ref-bh", "ref-h1", "ref-h2"));
  everything.set_page_size(1001);
  status = ListReferrals(continuity_.get(), "bh", everything, &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size: at most 1000"));

  // housing's list showed ann's referral, recorded by bh: on ann's record.
  // bh's lists showed ref-bh, recorded by the hospital: on it too.
  int housing_reads = 0, bh_reads = 0;
  for (const v1::Event& e : server_->ReadStream("access-ann")) {
    v1::CareEvent event;
    ASSERT_TRUE(event.ParseFromString(e.payload()));
    if (!event.has_record_accessed() ||
        event.record_accessed().operation() !=
            "caseline.v1.ContinuityViews/ListReferrals") {
      continue;
    }
    EXPECT_EQ(event.record_accessed().outcome(), v1::ACCESS_OUTCOME_SUCCESS);
    if (e.actor().organization_id() == "housing") {
      ++housing_reads;
      EXPECT_THAT(event.record_accessed().subject_ids_shown(),
                  ElementsAre("ref-h1"));
      EXPECT_EQ(event.record_accessed().basis(), v1::ACCESS_BASIS_CONSENT);
    }
    if (e.actor().organization_id() == "bh") ++bh_reads;
  }
  EXPECT_EQ(housing_reads, 2);  // the two lists that showed ref-h1
  EXPECT_GE(bh_reads, 1);
}

// Worklists: the discharging hospital's planners see a discharge without a
// receiver on their worklist; one claims it, a colleague sees the claim and
// cannot take it, releases it at a hand-over; another organisation and a
// caller who names no person are refused; the worklist filters by claimant
// and claim; done work takes the claim with it.
TEST_F(ViewsTest, WorklistClaimsShowToColleagues) {
  BuildNetwork();
  // Cal: an inpatient stay at the hospital, discharged with no transition.
  Command("hospital", "Clients.RegisterClient", R"({
    'command_id':'cal-1','client_id':'cal','occurred_at':'2026-04-01T09:00:00Z',
    'client_registered':{'name':{'given':'Cal','family':'Ruiz'}}})");
  Command("hospital", "Clients.OpenCase", R"({
    'command_id':'cal-2','client_id':'cal','occurred_at':'2026-04-01T09:05:00Z',
    'case_opened':{'reason':'admitted'}})");
  Command("hospital", "Transitions.RecordAdmission", R"({
    'command_id':'cal-3','client_id':'cal','occurred_at':'2026-04-01T10:00:00Z',
    'admission_recorded':{'admission_id':'adm-c','facility_organization_id':'hospital',
      'level_of_care':'LEVEL_OF_CARE_INPATIENT','primary_need':'SERVICE_CATEGORY_HEALTH_CARE'}})");
  Command("hospital", "Transitions.RecordDischarge", R"({
    'command_id':'cal-4','client_id':'cal','occurred_at':'2026-04-05T11:00:00Z',
    'discharge_recorded':{'admission_id':'adm-c','disposition':'DISCHARGE_DISPOSITION_HOME'}})");

  // Sends a command as `user` of `org` ("" names no person).
  auto command_as = [this](const std::string& org, const std::string& user,
                           const std::string& method, const std::string& json)
      -> absl::StatusOr<v1::CommandResult> {
    auto command = tools::PrepareCommand(
        method, absl::StrReplaceAll(json, {{"'", "\""}}));
    if (!command.ok()) return command.status();
    auto response = tools::SendCommand(server_->channel(), *command, org, user,
                                       absl::Seconds(30));
    if (!response.ok()) return response.status();
    v1::CommandResult result;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(*response, &result).ok());
    last_position_ = result.last_global_position();
    return result;
  };
  auto claim = [](const std::string& n, const std::string& extra) {
    return absl::StrCat(
        "{'command_id':'claim-", n, "','client_id':'cal',",
        "'worklist_item_claimed':{'kind':'WORKLIST_ITEM_KIND_DISCHARGE_",
        "WITHOUT_ACCEPTED_RECEIVER','subject_id':'adm-c'", extra, "}}");
  };
  auto release = [](const std::string& n) {
    return absl::StrCat(
        "{'command_id':'release-", n, "','client_id':'cal',",
        "'worklist_item_released':{'kind':'WORKLIST_ITEM_KIND_DISCHARGE_",
        "WITHOUT_ACCEPTED_RECEIVER','subject_id':'adm-c',",
        "'reason':'end of shift'}}");
  };
  // The hospital's worklist as one of its people sees it.
  auto worklist = [this](const std::string& user, const std::string& by,
                         v1::WorklistClaimFilter filter) {
    v1::GetWorklistRequest request;
    request.set_organization_id("hospital");
    request.set_min_position(last_position_);
    request.set_claimed_by(by);
    request.set_claim_filter(filter);
    request.add_kinds(
        v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER);
    grpc::ClientContext context;
    Deadline(&context, request);
    context.AddMetadata("x-caseline-org", "hospital");
    context.AddMetadata("x-caseline-user", user);
    v1::GetWorklistResponse response;
    const grpc::Status status =
        continuity_->GetWorklist(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  constexpr auto kAny = v1::WORKLIST_CLAIM_FILTER_UNSPECIFIED;

  v1::GetWorklistResponse seen = worklist("planner-2", "", kAny);
  ASSERT_EQ(seen.items_size(), 1) << seen.ShortDebugString();
  EXPECT_EQ(seen.items(0).client_id(), "cal");
  EXPECT_EQ(seen.items(0).subject_id(), "adm-c");
  EXPECT_TRUE(seen.items(0).overdue());
  EXPECT_TRUE(seen.items(0).claimed_by_user_id().empty());

  // A claim needs a person; another organisation may not claim it.
  absl::StatusOr<v1::CommandResult> refused = command_as(
      "hospital", "", "Worklists.ClaimWorklistItem", claim("0", ""));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("x-caseline-user"));
  refused = command_as("housing", "h-1", "Worklists.ClaimWorklistItem",
                       R"({'command_id':'claim-h','client_id':'ann',
      'worklist_item_claimed':{'kind':'WORKLIST_ITEM_KIND_STALE_REFERRAL',
        'subject_id':'ref-h1','organization_id':'bh'}})");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), HasSubstr("worklist claims"));

  absl::StatusOr<v1::CommandResult> claimed =
      command_as("hospital", "planner-1", "Worklists.ClaimWorklistItem",
                 claim("1", ",'note':'calling Harbor'"));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->stream_id(), "client-cal");
  EXPECT_THAT(claimed->event_types(),
              ::testing::ElementsAre("WorklistItemClaimed"));
  // A retry answers the original result.
  absl::StatusOr<v1::CommandResult> retried =
      command_as("hospital", "planner-1", "Worklists.ClaimWorklistItem",
                 claim("1", ",'note':'calling Harbor'"));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->already_applied());
  last_position_ = claimed->last_global_position();

  // A colleague sees who holds it, and cannot take it.
  seen = worklist("planner-2", "", kAny);
  ASSERT_EQ(seen.items_size(), 1);
  EXPECT_EQ(seen.items(0).claimed_by_user_id(), "planner-1");
  EXPECT_EQ(seen.items(0).claim_note(), "calling Harbor");
  EXPECT_EQ(seen.items(0).claim_position(), claimed->last_global_position());
  EXPECT_TRUE(seen.items(0).has_claimed_at());
  refused = command_as("hospital", "planner-2", "Worklists.ClaimWorklistItem",
                       claim("2", ""));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("is claimed by planner-1"));
  refused = command_as("hospital", "planner-1", "Worklists.ClaimWorklistItem",
                       claim("3", ""));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);

  // Filters.
  EXPECT_EQ(worklist("planner-2", "planner-1", kAny).items_size(), 1);
  EXPECT_EQ(worklist("planner-2", "planner-2", kAny).items_size(), 0);
  EXPECT_EQ(
      worklist("planner-2", "", v1::WORKLIST_CLAIM_FILTER_CLAIMED).items_size(),
      1);
  EXPECT_EQ(worklist("planner-2", "", v1::WORKLIST_CLAIM_FILTER_UNCLAIMED)
                .items_size(),
            0);

  // The colleague releases it at the hand-over; a second release is refused.
  ASSERT_TRUE(command_as("hospital", "planner-2",
                         "Worklists.ReleaseWorklistItem", release("1"))
                  .ok());
  seen = worklist("planner-1", "", kAny);
  ASSERT_EQ(seen.items_size(), 1);
  EXPECT_TRUE(seen.items(0).claimed_by_user_id().empty());
  refused = command_as("hospital", "planner-2",
                       "Worklists.ReleaseWorklistItem", release("2"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("is not claimed"));

  // Claimed again, then the work is done: a transition to bh, which accepts
  // a referral. The item, and its claim, are gone.
  ASSERT_TRUE(command_as("hospital", "planner-2",
                         "Worklists.ClaimWorklistItem", claim("4", ""))
                  .ok());
  Command("hospital", "Referrals.SendReferral", R"({
    'command_id':'cal-5','client_id':'cal','occurred_at':'2026-04-06T10:00:00Z',
    'referral_sent':{'referral_id':'ref-c','from_organization_id':'hospital',
      'to_organization_id':'bh','service_category':'SERVICE_CATEGORY_HEALTH_CARE',
      'kind':'REFERRAL_KIND_WARM','urgency':'URGENCY_ROUTINE','reason':'after-care'}})");
  Command("hospital", "Transitions.PlanTransition", R"({
    'command_id':'cal-6','client_id':'cal','occurred_at':'2026-04-06T10:05:00Z',
    'transition_planned':{'transition_id':'tr-c','admission_id':'adm-c',
      'from_level_of_care':'LEVEL_OF_CARE_INPATIENT','from_organization_id':'hospital',
      'to_level_of_care':'LEVEL_OF_CARE_HOME','to_organization_id':'bh',
      'planned_date':{'year':2026,'month':4,'day':8}}})");
  seen = worklist("planner-1", "", kAny);
  ASSERT_EQ(seen.items_size(), 1);  // now about the transition, unclaimed
  EXPECT_EQ(seen.items(0).subject_id(), "tr-c");
  EXPECT_TRUE(seen.items(0).claimed_by_user_id().empty());
  Command("bh", "Referrals.AcceptReferral", R"({
    'command_id':'cal-7','client_id':'cal','occurred_at':'2026-04-06T11:00:00Z',
    'referral_accepted':{'referral_id':'ref-c'}})");
  EXPECT_EQ(worklist("planner-1", "", kAny).items_size(), 0);
  EXPECT_EQ(worklist("planner-1", "planner-2", kAny).items_size(), 0);
  refused = command_as("hospital", "planner-2",
                       "Worklists.ReleaseWorklistItem", release("3"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound);
}

// The audit timeline of `client` as the local operator sees it.
v1::GetTimelineResponse Timeline(v1::AuditViews::Stub* audit,
                                 const std::string& client) {
  v1::GetTimelineRequest request;
  request.set_client_id(client);
  v1::GetTimelineResponse response;
  grpc::ClientContext context;
  Deadline(&context, request);
  const grpc::Status status = audit->GetTimeline(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

// EventEnteredInError (docs/views.md "Entered in error"): a referral and a
// service recorded in error leave every view, measure, finding, referral
// list and the accounting of disclosures; the timeline keeps them, marked;
// a replay before the correction shows the record as it was believed; and a
// rebuild from the log gives exactly the views the live projections hold.
TEST_F(ViewsTest, EnteredInErrorHidesTheEventFromEveryView) {
  BuildNetwork();
  // The event ids of bh's second housing referral and the shelter's second
  // service, from the timelines.
  std::string ref_h2;
  const v1::GetTimelineResponse ann = Timeline(audit_.get(), "ann");
  for (const v1::TimelineEntry& e : ann.entries()) {
    if (e.event().referral_sent().referral_id() == "ref-h2") ref_h2 = e.event_id();
  }
  std::string svc_2;
  const v1::GetTimelineResponse bob = Timeline(audit_.get(), "bob");
  for (const v1::TimelineEntry& e : bob.entries()) {
    if (e.event().service_started().service_id() == "svc-2") svc_2 = e.event_id();
  }
  ASSERT_FALSE(ref_h2.empty());
  ASSERT_FALSE(svc_2.empty());
  const uint64_t before_correction = last_position_;

  auto mark = [&](const std::string& org, const std::string& client,
                  const std::string& command_id, const std::string& event_id)
      -> absl::StatusOr<std::string> {
    auto command = tools::PrepareCommand(
        "Clients.MarkEnteredInError",
        absl::StrReplaceAll(
            absl::StrCat("{'command_id':'", command_id, "','client_id':'",
                         client, "','event_entered_in_error':{'event_id':'",
                         event_id, "','reason':'recorded on the wrong client'}}"),
            {{"'", "\""}}));
    if (!command.ok()) return command.status();
    return tools::SendCommand(server_->channel(), *command, org, "u-" + org,
                              absl::Seconds(30));
  };
  // Only the organisation that recorded it: housing2 received ref-h2 and is
  // involved, the hospital is involved too; neither recorded it.
  for (const std::string org : {"housing2", "hospital"}) {
    absl::StatusOr<std::string> refused = mark(org, "ann", "x-" + org, ref_h2);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied)
        << org << ": " << refused.status();
  }
  // An event of another client's stream is not in this record.
  EXPECT_EQ(mark("bh", "ann", "x-other", svc_2).status().code(),
            absl::StatusCode::kNotFound);

  Command("bh", "Clients.MarkEnteredInError",
          absl::StrCat("{'command_id':'eie-1','client_id':'ann',"
                       "'event_entered_in_error':{'event_id':'", ref_h2,
                       "','reason':'meant for another client'}}"));
  const uint64_t referral_marked = last_position_;
  Command("shelter", "Clients.MarkEnteredInError",
          absl::StrCat("{'command_id':'eie-2','client_id':'bob',"
                       "'event_entered_in_error':{'event_id':'", svc_2,
                       "','reason':'never started'}}"));
  EXPECT_EQ(mark("bh", "ann", "eie-3", ref_h2).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Findings: the duplicate referrals and the overlapping services resolved.
  v1::ListFindingsRequest open;
  open.set_min_position(last_position_);
  open.add_kinds(v1::FINDING_KIND_DUPLICATE_REFERRALS);
  open.add_kinds(v1::FINDING_KIND_OVERLAPPING_SERVICES);
  EXPECT_TRUE(Findings(open).empty());
  open.add_statuses(v1::FINDING_STATUS_RESOLVED);
  EXPECT_EQ(Findings(open).size(), 2u);

  // Referral lists: housing2 has nothing received; bh sent ref-h1 only.
  v1::ListReferralsRequest inbox;
  inbox.set_organization_id("housing2");
  inbox.set_min_position(last_position_);
  v1::ListReferralsResponse listed;
  ASSERT_TRUE(ListReferrals(continuity_.get(), "housing2", inbox, &listed).ok());
  EXPECT_TRUE(ReferralIds(listed).empty());
  v1::ListReferralsRequest sent = inbox;
  sent.set_organization_id("bh");
  sent.set_direction(v1::REFERRAL_DIRECTION_SENT);
  ASSERT_TRUE(ListReferrals(continuity_.get(), "bh", sent, &listed).ok());
  EXPECT_THAT(ReferralIds(listed), ::testing::ElementsAre("ref-h1"));

  // The summary no longer holds ref-h2.
  v1::GetClientSummaryRequest summary_request;
  summary_request.set_client_id("ann");
  summary_request.set_min_position(last_position_);
  v1::GetClientSummaryResponse summary;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        continuity_->GetClientSummary(&context, summary_request, &summary)
            .ok());
  }
  EXPECT_THAT(summary.ShortDebugString(), HasSubstr("ref-h1"));
  EXPECT_THAT(summary.ShortDebugString(), ::testing::Not(HasSubstr("ref-h2")));

  // Disclosures: two referrals shared data, not three.
  v1::ListDisclosuresRequest disclosures;
  disclosures.set_client_id("ann");
  v1::ListDisclosuresResponse disclosed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(
        audit_->ListDisclosures(&context, disclosures, &disclosed).ok());
  }
  EXPECT_EQ(disclosed.disclosures_size(), 2);

  // The timeline shows both, the referral marked.
  const v1::GetTimelineResponse timeline = Timeline(audit_.get(), "ann");
  ASSERT_EQ(timeline.entries_size(), 13);
  const v1::TimelineEntry* referral = nullptr;
  for (const v1::TimelineEntry& e : timeline.entries()) {
    if (e.event_id() == ref_h2) referral = &e;
  }
  ASSERT_NE(referral, nullptr);
  EXPECT_EQ(referral->entered_in_error().global_position(), referral_marked);
  EXPECT_EQ(referral->entered_in_error().organization_id(), "bh");
  EXPECT_EQ(referral->entered_in_error().reason(), "meant for another client");
  const v1::TimelineEntry& correction = timeline.entries(12);
  EXPECT_EQ(correction.event_type(), "EventEnteredInError");
  EXPECT_EQ(correction.entered_in_error().event_id(), "");
  EXPECT_EQ(referral->entered_in_error().event_id(), correction.event_id());
  EXPECT_EQ(correction.event().event_entered_in_error().event_type(),
            "ReferralSent");
  EXPECT_THAT(correction.summary(),
              HasSubstr("ReferralSent at version "));

  // Replay: before the correction the referral was believed; after, not.
  v1::ReplayClientRequest replay;
  replay.set_client_id("ann");
  replay.set_position(before_correction);
  v1::ReplayClientResponse then;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->ReplayClient(&context, replay, &then).ok());
  }
  EXPECT_EQ(then.state().referrals_size(), 3);
  replay.set_position(referral_marked);
  v1::ReplayClientResponse now;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(audit_->ReplayClient(&context, replay, &now).ok());
  }
  EXPECT_EQ(now.state().referrals_size(), 2);

  // Measures: the follow-up bh recorded in error no longer counts for FUH.
  std::string follow_up;
  for (const v1::TimelineEntry& e : ann.entries()) {
    if (e.event_type() == "FollowUpCompleted") follow_up = e.event_id();
  }
  ASSERT_FALSE(follow_up.empty());
  Command("bh", "Clients.MarkEnteredInError",
          absl::StrCat("{'command_id':'eie-4','client_id':'ann',"
                       "'event_entered_in_error':{'event_id':'", follow_up,
                       "','reason':'the visit was another patient'}}"));
  v1::GetMeasuresRequest measures;
  measures.mutable_period()->mutable_start()->set_seconds(absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone())));
  measures.set_min_position(last_position_);
  measures.add_measures("FUH-7");
  v1::GetMeasuresResponse results;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(continuity_->GetMeasures(&context, measures, &results).ok());
  }
  ASSERT_EQ(results.results_size(), 1);
  EXPECT_EQ(results.results(0).denominator(), 1);
  EXPECT_EQ(results.results(0).numerator(), 0);

  // A rebuild from the log folds the corrections the same way.
  const std::string live = ProjectedState();
  testing::RebuildAll(channel_);
  EXPECT_EQ(ProjectedState(), live);
}

}  // namespace
}  // namespace caseline
