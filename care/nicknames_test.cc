#include "care/nicknames.h"

#include <memory>

#include "care/client_matching.h"
#include "care/views_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

using ::testing::HasSubstr;

TEST(NicknameTable, BuiltInKnowsCommonNames) {
  const auto table = NicknameTable::BuiltIn();
  EXPECT_GT(table->group_count(), 40u);
  EXPECT_TRUE(table->AreNicknames("bob", "robert"));
  EXPECT_TRUE(table->AreNicknames("robert", "bob"));
  EXPECT_TRUE(table->AreNicknames("paco", "francisco"));
  EXPECT_FALSE(table->AreNicknames("bob", "bob"));
  EXPECT_FALSE(table->AreNicknames("bob", "bill"));
  // "pat" is in two groups.
  EXPECT_TRUE(table->AreNicknames("pat", "patricia"));
  EXPECT_TRUE(table->AreNicknames("pat", "patrick"));
  EXPECT_FALSE(table->AreNicknames("patricia", "patrick"));
}

// The layout of carltonnorthern/nicknames' names.csv today: one relationship
// per line under a header.
TEST(NicknameTable, ReadsRelationshipLines) {
  absl::StatusOr<std::shared_ptr<const NicknameTable>> table =
      NicknameTable::Parse(
          "name1,relationship,name2\n"
          "aaron,has_nickname,erin\n"
          "aaron,has_nickname,ron\n"
          "Abigail,has_nickname,Abby\n"
          "alexander,is_translation_of:en-sp,alejandro\n"
          "\n"
          "# a comment\n"
          "José,has_nickname,Pepe\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->group_count(), 3u);
  EXPECT_TRUE((*table)->AreNicknames("erin", "aaron"));
  EXPECT_TRUE((*table)->AreNicknames("erin", "ron"));
  EXPECT_TRUE((*table)->AreNicknames("abigail", "abby"));
  EXPECT_TRUE((*table)->AreNicknames("jose", "pepe"));
  // Relationships other than has_nickname are skipped.
  EXPECT_FALSE((*table)->AreNicknames("alexander", "alejandro"));
  EXPECT_FALSE((*table)->AreNicknames("bob", "robert"));

  // The header may follow blank lines and comments.
  table = NicknameTable::Parse(
      "# names.csv\n\nname1,relationship,name2\nann,has_nickname,annie\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->group_count(), 1u);
  EXPECT_TRUE((*table)->AreNicknames("ann", "annie"));
  EXPECT_THAT((*table)->GroupsOf("name1"), ::testing::IsEmpty());
}

// Its older layout: a name and its nicknames on one line.
TEST(NicknameTable, ReadsGroupLines) {
  absl::StatusOr<std::shared_ptr<const NicknameTable>> table =
      NicknameTable::Parse("robert,bob,rob,bobby\r\nmargaret,peggy,maggie\n"
                           "solo\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->group_count(), 2u);
  EXPECT_TRUE((*table)->AreNicknames("bob", "rob"));
  EXPECT_TRUE((*table)->AreNicknames("peggy", "margaret"));
  EXPECT_THAT((*table)->GroupsOf("solo"), ::testing::IsEmpty());
}

TEST(NicknameTable, RefusesWhatItCannotRead) {
  absl::StatusOr<std::shared_ptr<const NicknameTable>> table =
      NicknameTable::Parse("name1,relationship,name2\naaron,erin\n");
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(table.status().message(), HasSubstr("line 2"));
  table = NicknameTable::Parse("robert,bob\nann,--\n");
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(table.status().message(), HasSubstr("line 2: \"--\""));
  table = NicknameTable::Parse("\n# nothing\n");
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(table.status().message(), HasSubstr("no group"));
}

// The configured list is the one matching uses.
TEST(NicknameTable, MatchingUsesTheConfiguredList) {
  ViewsConfig config;
  v1::ClientRegistered a;
  a.mutable_name()->set_given("Ignacio");
  a.mutable_name()->set_family("Ruiz");
  v1::ClientRegistered b = a;
  b.mutable_name()->set_given("Nacho");
  auto given = [&](const ViewsConfig& c) {
    ClientMatch match = CompareClients(MakeMatchProfile(a, c),
                                       MakeMatchProfile(b, c), c);
    return match.comparisons[kGivenNameField];
  };
  EXPECT_EQ(given(config).agreement(), v1::FIELD_AGREEMENT_DISAGREE);
  config.nicknames = *NicknameTable::Parse("ignacio,nacho\n");
  EXPECT_EQ(given(config).agreement(), v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_THAT(given(config).detail(), HasSubstr("nickname"));
}

}  // namespace
}  // namespace caseline::care
