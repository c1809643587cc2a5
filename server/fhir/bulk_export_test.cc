#include "server/fhir/bulk_export.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fhir/resources.h"

namespace caseline::server::fhir {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAsync[] = "respond-async";

absl::StatusOr<ExportRequest> Parse(const ExportParameters& parameters,
                                    ExportLevel level = ExportLevel::kSystem,
                                    const char* prefer = kAsync) {
  return ParseExportRequest(level, "", parameters, prefer);
}

TEST(ParseExportRequestTest, NeedsPreferRespondAsync) {
  absl::StatusOr<ExportRequest> request = Parse({}, ExportLevel::kSystem, "");
  ASSERT_TRUE(absl::IsInvalidArgument(request.status()));
  EXPECT_THAT(request.status().message(),
              HasSubstr("Prefer: respond-async"));
  // Among other preferences, in any case.
  EXPECT_TRUE(Parse({}, ExportLevel::kSystem, "return=minimal, Respond-Async").ok());
  EXPECT_TRUE(
      Parse({}, ExportLevel::kSystem, "handling=lenient; respond-async").ok());
}

TEST(ParseExportRequestTest, DefaultsToEveryTypeOfTheLevel) {
  absl::StatusOr<ExportRequest> system = Parse({});
  ASSERT_TRUE(system.ok()) << system.status();
  EXPECT_EQ(system->types, ExportTypes(ExportLevel::kSystem));
  EXPECT_EQ(system->types.back(), "Organization");
  EXPECT_FALSE(system->since.has_value());

  absl::StatusOr<ExportRequest> patient = Parse({}, ExportLevel::kPatient);
  ASSERT_TRUE(patient.ok()) << patient.status();
  EXPECT_EQ(patient->types, ClientResourceTypes());
}

TEST(ParseExportRequestTest, TypeListsInExportOrderWithoutDuplicates) {
  absl::StatusOr<ExportRequest> request =
      Parse({{"_type", "Task, Patient"}, {"_type", "Organization,Task"}});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(request->types, ElementsAre("Patient", "Task", "Organization"));
}

TEST(ParseExportRequestTest, RefusesUnknownAndMisplacedTypes) {
  absl::StatusOr<ExportRequest> unknown = Parse({{"_type", "Patient,Claim"}});
  ASSERT_TRUE(absl::IsInvalidArgument(unknown.status()));
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("_type: \"Claim\" is not a resource type this server "
                        "exports; this export can hold Patient"));

  absl::StatusOr<ExportRequest> organization =
      Parse({{"_type", "Organization"}}, ExportLevel::kGroup);
  ASSERT_TRUE(absl::IsInvalidArgument(organization.status()));
  EXPECT_THAT(organization.status().message(),
              HasSubstr("only by a system-level export"));

  absl::StatusOr<ExportRequest> empty = Parse({{"_type", "Patient,,Task"}});
  ASSERT_TRUE(absl::IsInvalidArgument(empty.status()));
  EXPECT_THAT(empty.status().message(), HasSubstr("empty entry"));
}

TEST(ParseExportRequestTest, OutputFormatIsNdjson) {
  for (const char* format : {"application/fhir+ndjson", "application/ndjson",
                             "ndjson", "application/fhir ndjson"}) {
    EXPECT_TRUE(Parse({{"_outputFormat", format}}).ok()) << format;
  }
  absl::StatusOr<ExportRequest> csv = Parse({{"_outputFormat", "text/csv"}});
  ASSERT_TRUE(absl::IsInvalidArgument(csv.status()));
  EXPECT_THAT(csv.status().message(),
              HasSubstr("_outputFormat: \"text/csv\" is not supported"));
  EXPECT_TRUE(absl::IsInvalidArgument(
      Parse({{"_outputFormat", "ndjson"}, {"_outputFormat", "ndjson"}})
          .status()));
}

TEST(ParseExportRequestTest, SinceIsAnInstant) {
  absl::StatusOr<ExportRequest> request =
      Parse({{"_since", "2026-03-01T10:00:00Z"}});
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_TRUE(request->since.has_value());
  EXPECT_EQ(*request->since, absl::FromUnixSeconds(1772359200));

  absl::StatusOr<ExportRequest> bad = Parse({{"_since", "yesterday"}});
  ASSERT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_THAT(bad.status().message(), HasSubstr("_since"));
}

TEST(ParseExportRequestTest, UnknownParametersUnlessLenient) {
  absl::StatusOr<ExportRequest> strict = Parse({{"_typeFilter", "Task?x=y"}});
  ASSERT_TRUE(absl::IsInvalidArgument(strict.status()));
  EXPECT_THAT(strict.status().message(),
              HasSubstr("does not support the parameter \"_typeFilter\""));
  EXPECT_TRUE(Parse({{"_typeFilter", "Task?x=y"}}, ExportLevel::kSystem,
                    "respond-async, handling=lenient")
                  .ok());
}

TEST(ParametersOfTest, ReadsNamesAndStringValues) {
  nlohmann::json body = {
      {"resourceType", "Parameters"},
      {"parameter",
       {{{"name", "_type"}, {"valueString", "Patient"}},
        {{"name", "_since"}, {"valueInstant", "2026-03-01T10:00:00Z"}},
        {{"name", "patient"}, {"valueReference", {{"reference", "Patient/x"}}}}}}};
  absl::StatusOr<ExportParameters> parameters = ParametersOf(body);
  ASSERT_TRUE(parameters.ok()) << parameters.status();
  EXPECT_THAT(*parameters,
              ElementsAre(std::make_pair(std::string("_type"), std::string("Patient")),
                          std::make_pair(std::string("_since"),
                                         std::string("2026-03-01T10:00:00Z")),
                          std::make_pair(std::string("patient"), std::string())));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParametersOf({{"resourceType", "Patient"}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParametersOf({{"resourceType", "Parameters"}, {"parameter", {{{"value", 1}}}}})
          .status()));
}

TEST(InvolvedInTest, FollowsTheAccessRulesInvolvement) {
  v1::ClientState state;
  state.set_registered_by_organization_id("hospital");
  EXPECT_TRUE(InvolvedIn(state, "hospital"));
  EXPECT_FALSE(InvolvedIn(state, "housing"));
  EXPECT_FALSE(InvolvedIn(state, ""));

  v1::ReferralView* referral = state.add_referrals();
  referral->set_from_organization_id("hospital");
  referral->set_to_organization_id("housing");
  referral->set_status("declined");
  EXPECT_TRUE(InvolvedIn(state, "housing"));  // in any status

  state.add_care_team()->set_organization_id("clinic");
  EXPECT_TRUE(InvolvedIn(state, "clinic"));

  v1::ServiceView* service = state.add_services();
  service->set_provider_organization_id("food-bank");
  EXPECT_TRUE(InvolvedIn(state, "food-bank"));
  service->mutable_ended_at()->set_seconds(1);
  EXPECT_FALSE(InvolvedIn(state, "food-bank"));

  state.add_transitions()->set_to_organization_id("snf");
  EXPECT_TRUE(InvolvedIn(state, "snf"));

  // An admission's facility alone is not involved.
  state.add_admissions()->set_facility_organization_id("er");
  EXPECT_FALSE(InvolvedIn(state, "er"));
}

TEST(ChangedSinceTest, ComparesMetaLastUpdated) {
  const absl::Time since = absl::FromUnixSeconds(1772359200);  // 10:00Z
  auto at = [](const char* instant) {
    return nlohmann::json{{"resourceType", "Task"},
                          {"meta", {{"lastUpdated", instant}}}};
  };
  EXPECT_TRUE(ChangedSince(at("2026-03-01T10:00:00.001Z"), since));
  EXPECT_FALSE(ChangedSince(at("2026-03-01T10:00:00.000Z"), since));
  EXPECT_FALSE(ChangedSince(at("2026-02-28T10:00:00.000Z"), since));
  // Without a readable lastUpdated it is exported rather than lost.
  EXPECT_TRUE(ChangedSince({{"resourceType", "Task"}}, since));
  EXPECT_TRUE(ChangedSince(at("garbage"), since));
}

}  // namespace
}  // namespace caseline::server::fhir
