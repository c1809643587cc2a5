#include "server/fhir/writes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/resources.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(IdsTest, EncodeAndDecodeAreInverse) {
  EXPECT_EQ(EncodeId({"c_1", "r.2"}), "c.11..r.02");
  EXPECT_EQ(EncodeId({"client-7"}), "client-7");
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"c", "r"}, {"a.b", "_x_"}, {".", "."}, {"a..b", "c__d"}}) {
    absl::StatusOr<std::vector<std::string>> parts =
        DecodeId(EncodeId({a, b}), 2);
    ASSERT_TRUE(parts.ok()) << a << " " << b;
    EXPECT_EQ((*parts)[0], a);
    EXPECT_EQ((*parts)[1], b);
  }
}

TEST(IdsTest, MalformedIdsAreNotFound) {
  for (const char* id : {"", "a..", "..b", "a.2", "a...", "a/b", "a..b..c"}) {
    EXPECT_EQ(DecodeId(id, 2).status().code(), absl::StatusCode::kNotFound)
        << id;
  }
  EXPECT_EQ(DecodeId("a..b", 1).status().code(), absl::StatusCode::kNotFound);
}

TEST(ETagTest, WeakAndStrongForms) {
  EXPECT_EQ(VersionOfETag("W/\"7\""), 7u);
  EXPECT_EQ(VersionOfETag("\"12\""), 12u);
  EXPECT_EQ(VersionOfETag("3"), 3u);
  EXPECT_FALSE(VersionOfETag("W/\"x\"").has_value());
}

TEST(JsonPatchTest, AppliesTheOperations) {
  const json task = {{"status", "requested"}, {"output", json::array()}};
  absl::StatusOr<json> patched = ApplyJsonPatch(
      task, json::parse(R"([
        {"op":"test","path":"/status","value":"requested"},
        {"op":"replace","path":"/status","value":"completed"},
        {"op":"add","path":"/output/-","value":{"valueString":"bed"}},
        {"op":"add","path":"/statusReason","value":{"text":"x"}},
        {"op":"remove","path":"/statusReason"}])"));
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ((*patched)["status"], "completed");
  EXPECT_EQ((*patched)["output"][0]["valueString"], "bed");
  EXPECT_FALSE(patched->contains("statusReason"));
}

TEST(JsonPatchTest, RefusesWhatDoesNotApply) {
  const json task = {{"status", "requested"}};
  EXPECT_EQ(ApplyJsonPatch(task, json::object()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ApplyJsonPatch(task, json::parse(
                                       R"([{"op":"replace","path":"/nope","value":1}])"))
                  .status()
                  .message(),
              HasSubstr("patch[0]"));
  EXPECT_EQ(ApplyJsonPatch(task, json::parse(
                                     R"([{"op":"test","path":"/status","value":"x"}])"))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ApplyJsonPatch(task, json::parse(R"([{"op":"swap","path":"/a"}])"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

json ServiceRequest() {
  return json::parse(R"({
    "resourceType": "ServiceRequest",
    "identifier": [{"system": "urn:caseline:referral-id", "value": "ref-1"}],
    "status": "active", "intent": "order", "priority": "urgent",
    "code": {"coding": [{"system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes", "code": "housing-instability"}]},
    "subject": {"reference": "Patient/c.11"},
    "requester": {"reference": "Organization/mercy"},
    "performer": [{"reference": "Organization/harbor"}],
    "reasonCode": [{"text": "homeless at discharge"}],
    "authoredOn": "2026-03-01T10:00:00Z",
    "extension": [
      {"url": "urn:caseline:fhir:extension:referral-kind", "valueCoding": {"system": "urn:caseline:referral-kind", "code": "warm"}},
      {"url": "urn:caseline:fhir:extension:shared-data-class", "valueCoding": {"system": "urn:caseline:data-class", "code": "housing"}}]
  })");
}

TEST(ReferralCommandTest, MapsTheServiceRequest) {
  absl::StatusOr<care::CommandFields> fields =
      ReferralCommandOf(ServiceRequest(), nullptr, "unused");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(fields->client_id, "c_1");
  EXPECT_EQ(fields->command_id, "fhir:ServiceRequest:ref-1");
  const v1::ReferralSent& sent = fields->event.referral_sent();
  EXPECT_EQ(sent.referral_id(), "ref-1");
  EXPECT_EQ(sent.from_organization_id(), "mercy");
  EXPECT_EQ(sent.to_organization_id(), "harbor");
  EXPECT_EQ(sent.service_category(), v1::SERVICE_CATEGORY_HOUSING);
  EXPECT_EQ(sent.urgency(), v1::URGENCY_URGENT);
  EXPECT_EQ(sent.kind(), v1::REFERRAL_KIND_WARM);
  EXPECT_EQ(sent.reason(), "homeless at discharge");
  EXPECT_THAT(sent.shared_data_classes(),
              ::testing::ElementsAre(v1::DATA_CLASS_HOUSING));
  ASSERT_TRUE(fields->occurred_at.has_value());
}

TEST(ReferralCommandTest, NamesTheElementThatIsWrong) {
  json request = ServiceRequest();
  request.erase("performer");
  EXPECT_THAT(ReferralCommandOf(request, nullptr, "x").status().message(),
              HasSubstr("ServiceRequest.performer"));
  request = ServiceRequest();
  request["code"] = {{"coding", json::array({{{"system", "x"}, {"code", "y"}}})}};
  EXPECT_THAT(ReferralCommandOf(request, nullptr, "x").status().message(),
              HasSubstr("ServiceRequest.code"));
  json task = {{"resourceType", "Task"},
               {"status", "accepted"},
               {"owner", {{"reference", "Organization/harbor"}}}};
  EXPECT_THAT(ReferralCommandOf(ServiceRequest(), &task, "x").status().message(),
              HasSubstr("Task.status"));
  task["status"] = "requested";
  task["owner"] = {{"reference", "Organization/other"}};
  EXPECT_THAT(ReferralCommandOf(ServiceRequest(), &task, "x").status().message(),
              HasSubstr("Task.owner"));
}

v1::ReferralView Referral(const std::string& status);

// occurrencePeriod.end is the referral's start_by; a partial or impossible
// date, or a period without an end, is refused naming the element.
TEST(ReferralCommandTest, OccurrencePeriodEndIsTheStartByDate) {
  json request = ServiceRequest();
  EXPECT_FALSE(ReferralCommandOf(request, nullptr, "x")
                   ->event.referral_sent()
                   .has_start_by());
  request["occurrencePeriod"] = {{"end", "2026-03-15"}};
  absl::StatusOr<care::CommandFields> fields =
      ReferralCommandOf(request, nullptr, "x");
  ASSERT_TRUE(fields.ok()) << fields.status();
  const v1::Date& start_by = fields->event.referral_sent().start_by();
  EXPECT_EQ(start_by.year(), 2026);
  EXPECT_EQ(start_by.month(), 3);
  EXPECT_EQ(start_by.day(), 15);
  for (const char* bad : {"2026-03", "2026-02-30", "15/03/2026"}) {
    request["occurrencePeriod"] = {{"end", bad}};
    EXPECT_THAT(ReferralCommandOf(request, nullptr, "x").status().message(),
                HasSubstr("ServiceRequest.occurrencePeriod.end: \""))
        << bad;
  }
  // Read back: the ServiceRequest's occurrencePeriod.end and the Task's
  // restriction.period.end.
  v1::ReferralView view = Referral("requested");
  *view.mutable_start_by() = start_by;
  EXPECT_EQ(ServiceRequestOf("c_1", view)["occurrencePeriod"]["end"],
            "2026-03-15");
  EXPECT_EQ(TaskOf("c_1", view)["restriction"]["period"]["end"], "2026-03-15");
  EXPECT_FALSE(TaskOf("c_1", Referral("requested")).contains("restriction"));
  request["occurrencePeriod"] = {{"start", "2026-03-02"}};
  EXPECT_THAT(ReferralCommandOf(request, nullptr, "x").status().message(),
              HasSubstr("ServiceRequest.occurrencePeriod.end: required"));
}

v1::ReferralView Referral(const std::string& status) {
  v1::ReferralView referral;
  referral.set_referral_id("ref-1");
  referral.set_from_organization_id("mercy");
  referral.set_to_organization_id("harbor");
  referral.set_status(status);
  referral.set_version(4);
  return referral;
}

TEST(TaskCommandTest, EachStatusIsItsCommand) {
  const std::vector<std::pair<std::string, v1::CareEvent::EventCase>> cases = {
      {"received", v1::CareEvent::kReferralReceived},
      {"accepted", v1::CareEvent::kReferralAccepted},
      {"rejected", v1::CareEvent::kReferralDeclined},
      {"on-hold", v1::CareEvent::kReferralOnHold},
      {"in-progress", v1::CareEvent::kReferralStarted},
      {"completed", v1::CareEvent::kReferralCompleted},
      {"failed", v1::CareEvent::kReferralFailed},
      {"cancelled", v1::CareEvent::kReferralCancelled}};
  for (const auto& [status, event] : cases) {
    json task = TaskOf("c_1", Referral("requested"));
    task["status"] = status;
    task["statusReason"] = {{"text", "why"}};
    task["output"] = json::array({{{"valueString", "a bed"}}});
    absl::StatusOr<std::optional<care::CommandFields>> fields =
        TaskCommandOf("c_1", Referral("requested"), task);
    ASSERT_TRUE(fields.ok()) << status << " " << fields.status();
    ASSERT_TRUE(fields->has_value()) << status;
    EXPECT_EQ((*fields)->event.event_case(), event) << status;
    EXPECT_EQ((*fields)->command_id,
              absl::StrCat("fhir:Task:ref-1:", status, ":4"));
  }
  json declined = TaskOf("c_1", Referral("requested"));
  declined["status"] = "rejected";
  declined["statusReason"] = {{"text", "no beds"}};
  EXPECT_EQ(TaskCommandOf("c_1", Referral("requested"), declined)
                .value()
                ->event.referral_declined()
                .reason(),
            "no beds");
}

TEST(TaskCommandTest, SameStatusWritesNothingAndOtherChangesAreRefused) {
  json task = TaskOf("c_1", Referral("accepted"));
  absl::StatusOr<std::optional<care::CommandFields>> same =
      TaskCommandOf("c_1", Referral("accepted"), task);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->has_value());
  task["owner"] = {{"reference", "Organization/someone-else"}};
  task["status"] = "completed";
  EXPECT_THAT(TaskCommandOf("c_1", Referral("accepted"), task).status().message(),
              HasSubstr("Task.owner: cannot change"));
  task = TaskOf("c_1", Referral("accepted"));
  task["status"] = "draft";
  EXPECT_THAT(TaskCommandOf("c_1", Referral("accepted"), task).status().message(),
              HasSubstr("Task.status"));
}

TEST(ConsentCommandTest, RoundTripsThroughConsentOf) {
  v1::ConsentView view;
  view.set_consent_id("k1");
  v1::ConsentGiven* given = view.mutable_consent();
  given->set_consent_id("k1");
  given->add_recipient_organization_ids("harbor");
  given->add_recipient_organization_types(v1::ORGANIZATION_TYPE_HOUSING);
  given->add_data_classes(v1::DATA_CLASS_HOUSING);
  given->add_data_classes(v1::DATA_CLASS_MENTAL_HEALTH);
  given->add_purposes(v1::PURPOSE_OF_USE_CARE_COORDINATION);
  given->set_method(v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
  given->mutable_witness()->set_given("Ana");
  given->mutable_witness()->set_family("Lee");
  given->mutable_representative()->set_authority(
      v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  given->mutable_representative()->mutable_name()->set_family("Diaz");
  given->mutable_document()->set_document_id("form-9");
  given->mutable_document()->set_sha256(std::string(64, 'a'));
  given->mutable_obtained_at()->set_seconds(1'700'000'000);
  given->mutable_period()->mutable_start()->set_seconds(1'700'000'000);
  *view.mutable_start() = given->period().start();
  absl::StatusOr<care::CommandFields> fields =
      ConsentCommandOf(ConsentOf("c_1", view, true), "unused");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(fields->client_id, "c_1");
  EXPECT_EQ(fields->command_id, "fhir:Consent:k1");
  v1::ConsentGiven expected = *given;
  EXPECT_EQ(fields->event.consent_given().SerializeAsString(),
            expected.SerializeAsString())
      << fields->event.consent_given().DebugString();
}

}  // namespace
}  // namespace caseline::server::fhir
