#include "tools/cli_views.h"

#include "CLI/CLI.hpp"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

google::protobuf::Timestamp At(absl::string_view rfc3339) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &time, &error))
      << error;
  return ToTimestampProto(time);
}

// --- Time flags --------------------------------------------------------------

TEST(CliViewsTimeTest, ParsesRfc3339) {
  absl::StatusOr<absl::Time> t = ParseTimeFlag("--at", "2026-03-03T10:00:00Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, absl::FromCivil(absl::CivilSecond(2026, 3, 3, 10, 0, 0),
                                absl::UTCTimeZone()));

  t = ParseTimeFlag("--at", "2026-03-03T11:30:00.250+01:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, absl::FromCivil(absl::CivilSecond(2026, 3, 3, 10, 30, 0),
                                absl::UTCTimeZone()) +
                    absl::Milliseconds(250));
}

TEST(CliViewsTimeTest, ADateMeansMidnightUtc) {
  absl::StatusOr<absl::Time> t = ParseTimeFlag("--from", "2026-03-03");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t,
            absl::FromCivil(absl::CivilDay(2026, 3, 3), absl::UTCTimeZone()));
}

TEST(CliViewsTimeTest, RejectsOtherFormsNamingTheFlag) {
  for (absl::string_view bad :
       {"", "yesterday", "03/03/2026", "2026-13-01", "2026-02-30",
        "2026-03-03T10:00:00", "2026-03-03 10:00:00Z", "infinite-future",
        "infinite-past", "1700000000"}) {
    absl::StatusOr<absl::Time> t = ParseTimeFlag("--recorded-from", bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("--recorded-from"));
    EXPECT_THAT(t.status().message(), HasSubstr("RFC 3339"));
    EXPECT_THAT(t.status().message(), HasSubstr("2026-03-03"));
  }
}

TEST(CliViewsTimeTest, RejectsTimesATimestampCannotHold) {
  absl::StatusOr<absl::Time> t = ParseTimeFlag("--to", "10000-01-01");
  EXPECT_FALSE(t.ok());
  t = ParseTimeFlag("--to", "0000-12-31T23:59:59Z");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("--to"));
  EXPECT_TRUE(ParseTimeFlag("--to", "0001-01-01").ok());
  EXPECT_TRUE(ParseTimeFlag("--to", "9999-12-31T23:59:59Z").ok());
}

TEST(CliViewsTimeTest, TimestampRoundTrip) {
  google::protobuf::Timestamp ts = At("2026-03-03T10:00:00.5Z");
  EXPECT_EQ(ts.seconds(), 1772532000);
  EXPECT_EQ(ts.nanos(), 500000000);

  // Before 1970 the nanos stay non-negative, as Timestamp requires.
  ts = At("1969-12-31T23:59:59.25Z");
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 250000000);

  EXPECT_EQ(FormatTimestamp(At("2026-03-03T10:00:07.9Z")),
            "2026-03-03T10:00:07Z");
  EXPECT_EQ(FormatDate(At("2026-03-03T23:59:59Z")), "2026-03-03");
  EXPECT_EQ(FormatTimestamp(google::protobuf::Timestamp()), "-");
  EXPECT_EQ(FormatDate(google::protobuf::Timestamp()), "-");
}

// --- Enum flags --------------------------------------------------------------

TEST(CliViewsEnumTest, NamesAreKebabCaseWithoutTheTypePrefix) {
  EXPECT_EQ(EnumFlagName(*v1::WorklistItemKind_descriptor()->FindValueByName(
                "WORKLIST_ITEM_KIND_FOLLOW_UP_DUE")),
            "follow-up-due");
  EXPECT_THAT(EnumFlagNames(*v1::WorklistItemKind_descriptor()),
              ElementsAre("transition-due", "follow-up-due", "stale-referral",
                          "discharge-without-accepted-receiver",
                          "service-ended-without-successor"));
  EXPECT_THAT(EnumFlagNames(*v1::FindingKind_descriptor()),
              ElementsAre("overlapping-services", "same-day-services",
                          "duplicate-referrals", "possible-duplicate-clients",
                          "birth-date-quality"));
  EXPECT_THAT(EnumFlagNames(*v1::FindingStatus_descriptor()),
              ElementsAre("open", "resolved", "dismissed"));
  EXPECT_THAT(EnumFlagNames(*v1::GapReason_descriptor()),
              testing::Contains("open-case-without-lead"));
}

TEST(CliViewsEnumTest, ParsesNamesLeniently) {
  const google::protobuf::EnumDescriptor& kind =
      *v1::WorklistItemKind_descriptor();
  EXPECT_EQ(ParseEnumFlag(kind, "--kind", "follow-up-due").value(),
            v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE);
  EXPECT_EQ(ParseEnumFlag(kind, "--kind", "Stale_Referral").value(),
            v1::WORKLIST_ITEM_KIND_STALE_REFERRAL);

  absl::StatusOr<std::vector<int>> several = ParseEnumFlags(
      *v1::FindingStatus_descriptor(), "--status", {"open", "dismissed"});
  ASSERT_TRUE(several.ok()) << several.status();
  EXPECT_THAT(*several, ElementsAre(v1::FINDING_STATUS_OPEN,
                                    v1::FINDING_STATUS_DISMISSED));
  EXPECT_THAT(ParseEnumFlags(kind, "--kind", {}).value(), testing::IsEmpty());
}

TEST(CliViewsEnumTest, RejectsUnknownAndUnspecifiedListingTheAccepted) {
  const google::protobuf::EnumDescriptor& kind =
      *v1::WorklistItemKind_descriptor();
  for (absl::string_view bad : {"overdue", "unspecified", "", "1"}) {
    absl::StatusOr<int> n = ParseEnumFlag(kind, "--kind", bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(n.status().message(),
                HasSubstr("--kind \"" + std::string(bad) + "\""));
    EXPECT_THAT(n.status().message(),
                HasSubstr("transition-due, follow-up-due, stale-referral, "
                          "discharge-without-accepted-receiver, "
                          "service-ended-without-successor"));
  }
  absl::StatusOr<std::vector<int>> several = ParseEnumFlags(
      *v1::FindingKind_descriptor(), "--kind", {"same-day-services", "twins"});
  ASSERT_FALSE(several.ok());
  EXPECT_THAT(several.status().message(), HasSubstr("\"twins\""));
}

// --- Tables ------------------------------------------------------------------

TEST(CliViewsTableTest, AlignsColumnsWithoutTrailingSpaces) {
  EXPECT_EQ(FormatTable({"A", "LONG HEADER", "C"},
                        {{"wide value", "x", "last"}, {"y", "", ""}}),
            "A           LONG HEADER  C\n"
            "wide value  x            last\n"
            "y\n");
}

TEST(CliViewsTableTest, CountsCodePointsAndFlattensControlCharacters) {
  EXPECT_EQ(FormatTable({"NAME", "X"}, {{"Zoë", "1"}, {"a\tb\nc", "2"}}),
            "NAME   X\n"
            "Zoë    1\n"
            "a b c  2\n");
}

TEST(CliViewsTableTest, ShortRowsAndExtraCells) {
  EXPECT_EQ(FormatTable({"A", "B"}, {{"1"}, {"1", "2", "dropped"}}),
            "A  B\n"
            "1\n"
            "1  2\n");
  EXPECT_EQ(FormatTable({"ONLY"}, {}), "ONLY\n");
  EXPECT_EQ(FormatTable({}, {{"x"}}), "\n\n");
}

TEST(CliViewsTableTest, Worklist) {
  std::vector<v1::WorklistItem> items(2);
  items[0].set_kind(v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE);
  items[0].set_client_id("client-1");
  items[0].set_subject_id("adm-7");
  *items[0].mutable_due() = At("2026-03-01T12:00:00Z");
  items[0].set_overdue(true);
  items[0].set_description("no follow-up within 7 days of discharge");
  items[1].set_kind(v1::WORKLIST_ITEM_KIND_TRANSITION_DUE);
  items[1].set_client_id("client-22");
  items[1].set_subject_id("tr-1");
  *items[1].mutable_due() = At("2026-03-09T00:00:00Z");
  items[1].set_claimed_by_user_id("ana");
  EXPECT_EQ(WorklistTable(items, 4711),
            "DUE         OVERDUE  KIND            CLIENT     SUBJECT  "
            "CLAIMED BY  DESCRIPTION\n"
            "2026-03-01  yes      follow-up-due   client-1   adm-7    "
            "-           no follow-up within 7 days of discharge\n"
            "2026-03-09  no       transition-due  client-22  tr-1     "
            "ana         -\n"
            "2 items, view position 4711\n");
  EXPECT_EQ(WorklistTable({}, 9),
            "DUE  OVERDUE  KIND  CLIENT  SUBJECT  CLAIMED BY  DESCRIPTION\n"
            "0 items, view position 9\n");
}

TEST(CliViewsTableTest, Referrals) {
  std::vector<v1::ReferralListEntry> entries(2);
  entries[0].set_client_id("client-1");
  entries[0].set_direction(v1::REFERRAL_DIRECTION_RECEIVED);
  v1::ReferralView* r = entries[0].mutable_referral();
  r->set_referral_id("ref-1");
  r->set_from_organization_id("org-hospital");
  r->set_to_organization_id("org-housing");
  r->set_service_category(v1::SERVICE_CATEGORY_HOUSING);
  r->set_urgency(v1::URGENCY_URGENT);
  r->set_status("requested");
  *r->mutable_sent_at() = At("2026-03-01T12:00:00Z");
  r->set_age_days(12);
  entries[1].set_client_id("client-22");
  entries[1].set_direction(v1::REFERRAL_DIRECTION_SENT);
  entries[1].mutable_referral()->set_referral_id("ref-2");
  entries[1].mutable_referral()->set_status("on-hold");
  EXPECT_EQ(ReferralsTable(entries, 4711),
            "SENT                  AGE  URGENCY  STATUS     DIRECTION  CLIENT  "
            "   REFERRAL  FROM          TO           CATEGORY\n"
            "2026-03-01T12:00:00Z  12d  urgent   requested  received   "
            "client-1   ref-1     org-hospital  org-housing  housing\n"
            "-                     0d   -        on-hold    sent       "
            "client-22  ref-2     -             -            -\n"
            "2 referrals, view position 4711\n");
  EXPECT_EQ(
      ReferralsTable({}, 9),
      "SENT  AGE  URGENCY  STATUS  DIRECTION  CLIENT  REFERRAL  FROM  TO  "
      "CATEGORY\n"
      "0 referrals, view position 9\n");
}

TEST(CliViewsTableTest, Timeline) {
  std::vector<v1::TimelineEntry> entries(1);
  entries[0].set_global_position(12);
  *entries[0].mutable_recorded_at() = At("2026-03-03T10:00:05Z");
  *entries[0].mutable_occurred_at() = At("2026-03-02T09:00:00Z");
  entries[0].set_organization_id("org-hospital");
  entries[0].set_user_id("u-9");
  entries[0].set_on_behalf_of("rep-1");
  entries[0].set_event_type("ConsentGiven");
  entries[0].set_summary("consent c1 given to org-housing");
  EXPECT_EQ(TimelineTable(entries, 12),
            "POSITION  RECORDED              OCCURRED              ORG        "
            "   USER             TYPE          SUMMARY\n"
            "12        2026-03-03T10:00:05Z  2026-03-02T09:00:00Z  "
            "org-hospital  u-9 (for rep-1)  ConsentGiven  consent c1 given to "
            "org-housing\n"
            "1 event, view position 12\n");
}

TEST(CliViewsTableTest, ProjectionStatus) {
  v1::GetProjectionStatusResponse response;
  v1::ProjectionStatus* running = response.add_projections();
  running->set_name("continuity");
  running->set_state("running");
  running->set_position(990);
  running->set_head_position(1000);
  running->set_lag(10);
  running->set_generation(2);
  running->set_events_per_second(1234.6);
  v1::ProjectionStatus* rebuilding = response.add_projections();
  rebuilding->set_name("duplication");
  rebuilding->set_state("rebuilding");
  rebuilding->set_position(1000);
  rebuilding->set_head_position(1000);
  rebuilding->set_rebuild_position(412);
  rebuilding->set_generation(1);
  rebuilding->set_last_error("");
  EXPECT_EQ(ProjectionStatusTable(response),
            "NAME         STATE           POSITION  HEAD  LAG  GENERATION  "
            "EVENTS/S  ERROR\n"
            "continuity   running         990       1000  10   2           "
            "1235      -\n"
            "duplication  rebuilding 41%  1000      1000  0    1           0 "
            "        -\n");
}

// --- Rebuild progress --------------------------------------------------------

TEST(CliViewsRebuildTest, ProgressLine) {
  v1::RebuildProjectionResponse update;
  update.set_name("continuity");
  update.set_position(412000);
  update.set_head_position(1000000);
  update.set_events_per_second(310000.4);
  EXPECT_EQ(RebuildProgressLine(update),
            "rebuild continuity: 412000/1000000 events (41%), 310000 events/s");
  update.set_position(999999);
  EXPECT_THAT(RebuildProgressLine(update), HasSubstr("(99%)"));
  update.set_position(1000000);
  update.set_done(true);
  EXPECT_EQ(
      RebuildProgressLine(update),
      "rebuild continuity: 1000000/1000000 events (100%), 310000 events/s, "
      "done");
  // An empty log is done at once.
  v1::RebuildProjectionResponse empty;
  empty.set_name("audit");
  empty.set_done(true);
  EXPECT_EQ(RebuildProgressLine(empty),
            "rebuild audit: 0/0 events (100%), 0 events/s, done");
}

// --- Registration ------------------------------------------------------------

TEST(CliViewsCommandsTest, ParsesEveryViewSubcommand) {
  const std::vector<std::vector<std::string>> command_lines = {
      {"summary", "--client", "c1", "--at", "2026-03-03", "--min-position",
       "5"},
      {"gaps", "--client", "c1"},
      {"worklist", "--org", "o1", "--kind", "follow-up-due", "stale-referral",
       "--format", "table", "--horizon-days", "14"},
      {"worklist", "--org", "o1", "--kind", "follow-up-due,stale-referral"},
      {"measures", "--from", "2026-01-01", "--measure", "FUH-7",
       "--counts-only"},
      {"caseload", "--threshold", "40"},
      {"findings", "--status", "open", "resolved"},
      {"match-model"},
      {"match-model", "--min-position", "12"},
      {"timeline", "--client", "c1", "--type", "ReferralSent", "--format",
       "table"},
      {"replay", "--client", "c1", "--as-of", "2026-03-03"},
      {"disclosures", "--client", "c1", "--from", "2020-01-01"},
      {"verify-client", "--client", "c1"},
      {"projections", "status", "--format", "table"},
      {"projections", "rebuild", "all"},
  };
  for (const std::vector<std::string>& line : command_lines) {
    CLI::App app;
    app.require_subcommand(1);
    std::unique_ptr<ViewCommands> views = ViewCommands::AddTo(&app);
    std::vector<std::string> reversed(line.rbegin(), line.rend());
    EXPECT_NO_THROW(app.parse(reversed)) << line[0];
  }
}

TEST(CliViewsCommandsTest, RejectsBadFormatsAndMissingRequiredFlags) {
  const std::vector<std::vector<std::string>> command_lines = {
      {"worklist", "--org", "o1", "--format", "csv"},
      {"worklist"},
      {"measures"},
      {"projections"},
      {"projections", "rebuild"},
      {"match-model", "--min-position", "soon"},
  };
  for (const std::vector<std::string>& line : command_lines) {
    CLI::App app;
    app.require_subcommand(1);
    std::unique_ptr<ViewCommands> views = ViewCommands::AddTo(&app);
    std::vector<std::string> reversed(line.rbegin(), line.rend());
    EXPECT_THROW(app.parse(reversed), CLI::ParseError) << line[0];
  }
}

TEST(CliViewsCommandsTest, NoViewChosenRunsNothing) {
  CLI::App app;
  CLI::App* other = app.add_subcommand("append", "");
  std::unique_ptr<ViewCommands> views = ViewCommands::AddTo(&app);
  std::vector<std::string> args = {"append"};
  app.parse(args);
  ASSERT_TRUE(*other);
  ConnectionOptions options;
  options.server = "127.0.0.1:1";
  EXPECT_EQ(views->RunChosen(options), std::nullopt);
}

}  // namespace
}  // namespace caseline::tools
