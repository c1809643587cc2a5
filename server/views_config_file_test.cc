#include "server/views_config_file.h"

#include "gtest/gtest.h"

namespace caseline::server {
namespace {

TEST(ViewsConfigFile, EmptyObjectKeepsTheDefaults) {
  auto config = ParseViewsConfig("{}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->follow_up_window_days, 7);
  EXPECT_EQ(config->caseload_threshold, 50);
  EXPECT_DOUBLE_EQ(config->match_threshold, 0.8);
  EXPECT_EQ(config->disclosure_lookback_years, 6);
}

TEST(ViewsConfigFile, SetsTheNamedFields) {
  auto config = ParseViewsConfig(
      R"({"fuh_short_days": 8, "caseload_threshold": 40,
          "match_threshold": 0.9, "review_threshold": 0.5})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->fuh_short_days, 8);
  EXPECT_EQ(config->caseload_threshold, 40);
  EXPECT_DOUBLE_EQ(config->match_threshold, 0.9);
  EXPECT_DOUBLE_EQ(config->review_threshold, 0.5);
}

TEST(ViewsConfigFile, RefusesWhatItCannotUseNamingTheKey) {
  EXPECT_NE(ParseViewsConfig("[1]").status().message().find("JSON object"),
            std::string::npos);
  EXPECT_NE(ParseViewsConfig("{\"folow_up_window_days\": 7}")
                .status()
                .message()
                .find("folow_up_window_days"),
            std::string::npos);
  EXPECT_NE(ParseViewsConfig("{\"caseload_threshold\": \"50\"}")
                .status()
                .message()
                .find("caseload_threshold"),
            std::string::npos);
  EXPECT_NE(ParseViewsConfig("{\"fuh_short_days\": 0}")
                .status()
                .message()
                .find("fuh_short_days"),
            std::string::npos);
  EXPECT_NE(ParseViewsConfig("{\"match_threshold\": 0.3}")
                .status()
                .message()
                .find("review_threshold"),
            std::string::npos);
  EXPECT_EQ(LoadViewsConfigFile("/nonexistent/views.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace caseline::server
