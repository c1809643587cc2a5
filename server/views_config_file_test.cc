#include "server/views_config_file.h"

#include <fstream>
#include <string>

#include "absl/time/civil_time.h"
#include "care/views_config.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
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
  EXPECT_EQ(config->time_zone, absl::UTCTimeZone());
  EXPECT_EQ(config->phone_region, "US");
  EXPECT_EQ(config->address_abbreviations, care::UspsAddressAbbreviations());
  EXPECT_EQ(config->address_abbreviations.size(), 24u);
}

TEST(ViewsConfigFile, TimeZoneIsAnIanaName) {
  auto config = ParseViewsConfig(R"({"time_zone": "America/New_York"})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->time_zone.name(), "America/New_York");
  // Loaded, not only named: 2026-01-09 23:30 in New York is 04:30 UTC.
  EXPECT_EQ(absl::FromCivil(absl::CivilSecond(2026, 1, 9, 23, 30, 0),
                            config->time_zone),
            absl::FromCivil(absl::CivilSecond(2026, 1, 10, 4, 30, 0),
                            absl::UTCTimeZone()));
  config = ParseViewsConfig(R"({"time_zone": "UTC"})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->time_zone, absl::UTCTimeZone());
}

TEST(ViewsConfigFile, RefusesAnUnknownTimeZoneNamingTheKeyAndTheValue) {
  for (const char* json :
       {R"({"time_zone": "Mars/Olympus_Mons"})", R"({"time_zone": ""})",
        R"({"time_zone": "localtime"})", R"({"time_zone": -5})"}) {
    absl::StatusOr<care::ViewsConfig> config = ParseViewsConfig(json);
    ASSERT_FALSE(config.ok()) << json;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(config.status().message()),
                ::testing::HasSubstr("time_zone"));
  }
  EXPECT_THAT(
      std::string(ParseViewsConfig(R"({"time_zone": "Mars/Olympus_Mons"})")
                      .status()
                      .message()),
      ::testing::HasSubstr("\"Mars/Olympus_Mons\" is not a time zone"));
}

TEST(ViewsConfigFile, PhoneRegionIsALibphonenumberRegion) {
  auto config = ParseViewsConfig(R"({"phone_region": "AU"})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->phone_region, "AU");
  for (const char* json :
       {R"({"phone_region": "XX"})", R"({"phone_region": "au"})",
        R"({"phone_region": "AUS"})", R"({"phone_region": ""})",
        R"({"phone_region": 61})"}) {
    absl::StatusOr<care::ViewsConfig> refused = ParseViewsConfig(json);
    ASSERT_FALSE(refused.ok()) << json;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(refused.status().message()),
                ::testing::HasSubstr("phone_region")) << json;
  }
  EXPECT_THAT(std::string(ParseViewsConfig(R"({"phone_region": "XX"})")
                              .status()
                              .message()),
              ::testing::HasSubstr("phone_region \"XX\" is not a region"));
}

// The table replaces the default one, normalised as address words are:
// "Parade" and "Straße" are stored as "parade" and "strasse".
TEST(ViewsConfigFile, AddressAbbreviationsReplaceTheDefaultTable) {
  auto config = ParseViewsConfig(
      R"({"address_abbreviations": {"Parade": "Pde", "street": "st",
                                    "Straße": "Str."}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->address_abbreviations,
              ::testing::UnorderedElementsAre(
                  ::testing::Pair("parade", "pde"), ::testing::Pair("street", "st"),
                  ::testing::Pair("strasse", "str")));
  config = ParseViewsConfig(R"({"address_abbreviations": {}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->address_abbreviations.empty());

  for (const char* json :
       {R"({"address_abbreviations": ["street", "st"]})",
        R"({"address_abbreviations": {"street": 1}})",
        R"({"address_abbreviations": {"north east": "ne"}})",
        R"({"address_abbreviations": {"--": "x"}})",
        R"({"address_abbreviations": {"Street": "st", "STREET": "str"}})"}) {
    absl::StatusOr<care::ViewsConfig> refused = ParseViewsConfig(json);
    ASSERT_FALSE(refused.ok()) << json;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(refused.status().message()),
                ::testing::HasSubstr("address_abbreviations")) << json;
  }
}

// A nickname list in names.csv's layout, read relative to the config's
// directory, replaces the built-in list; a list that cannot be read or
// parsed is refused naming the key.
TEST(ViewsConfigFile, NicknamesFileReplacesTheBuiltInList) {
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream out(dir + "/names.csv");
    out << "name1,relationship,name2\nignacio,has_nickname,nacho\n";
    std::ofstream bad(dir + "/bad.csv");
    bad << "name1,relationship,name2\nignacio\n";
  }
  auto config = ParseViewsConfig(R"({"nicknames_file": "names.csv"})", dir);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->nicknames->AreNicknames("nacho", "ignacio"));
  EXPECT_FALSE(config->nicknames->AreNicknames("bob", "robert"));
  config = ParseViewsConfig(
      absl::StrCat(R"({"nicknames_file": ")", dir, R"(/names.csv"})"));
  ASSERT_TRUE(config.ok()) << config.status();
  // A config file names the list relative to itself.
  {
    std::ofstream out(dir + "/views.json");
    out << R"({"nicknames_file": "names.csv"})";
  }
  config = LoadViewsConfigFile(dir + "/views.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->nicknames->AreNicknames("nacho", "ignacio"));
  // The default is the built-in list.
  EXPECT_TRUE(ParseViewsConfig("{}")->nicknames->AreNicknames("bob", "robert"));
  for (const std::string& json :
       {std::string(R"({"nicknames_file": 7})"),
        std::string(R"({"nicknames_file": ""})"),
        std::string(R"({"nicknames_file": "missing.csv"})"),
        std::string(R"({"nicknames_file": "bad.csv"})")}) {
    absl::StatusOr<care::ViewsConfig> refused = ParseViewsConfig(json, dir);
    ASSERT_FALSE(refused.ok()) << json;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(refused.status().message()),
                ::testing::HasSubstr("nicknames_file")) << json;
  }
  EXPECT_THAT(std::string(ParseViewsConfig(R"({"nicknames_file": "bad.csv"})",
                                           dir)
                              .status()
                              .message()),
              ::testing::HasSubstr("line 2"));
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
