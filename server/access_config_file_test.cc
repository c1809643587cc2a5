#include "server/access_config_file.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::server {
namespace {

using ::testing::HasSubstr;

TEST(AccessConfigFileTest, ParsesRolesPerOrganisation) {
  absl::StatusOr<services::AccessConfig> config = ParseAccessConfig(
      R"({"organizations": {"org-a": ["agency"],
                            "privacy": ["auditor", "agency"],
                            "ops": ["admin"]}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->roles.at("org-a"), services::kAgency);
  EXPECT_EQ(config->roles.at("privacy"),
            services::kAuditor | services::kAgency);
  EXPECT_EQ(config->roles.at("ops"), services::kAdmin);
}

TEST(AccessConfigFileTest, RefusesWhatItDoesNotKnowNamingIt) {
  struct Case {
    const char* json;
    const char* expected;
  } cases[] = {
      {"[]", "not a JSON object"},
      {R"({"orgs": {}})", "unknown key \"orgs\""},
      {R"({"organizations": []})", "must be an object"},
      {R"({"organizations": {"org-a": []}})", "organizations.org-a"},
      {R"({"organizations": {"org-a": ["root"]}})", "unknown role \"root\""},
      {R"({"organizations": {"org-a": [1]}})", "unknown role 1"},
      {R"({"organizations": {}})", "no organisation is allowed"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<services::AccessConfig> config = ParseAccessConfig(c.json);
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(c.expected)) << c.json;
  }
}

TEST(AccessConfigFileTest, MissingFileIsNotFoundNamingTheFlag) {
  absl::StatusOr<services::AccessConfig> config =
      LoadAccessConfigFile("/nonexistent/access.json");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("--access_config"));
}

}  // namespace
}  // namespace caseline::server
