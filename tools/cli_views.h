// The `caseline` view subcommands: summary, gaps, worklist, referrals,
// measures, caseload, findings, match-model, timeline, replay, disclosures,
// verify-client and projections {status, rebuild}. Each calls one query of
// proto/caseline/v1/views.proto, follows next_page_token to the end, and prints
// JSON lines (one per item) or, for worklists, referral lists, timelines and
// projection status, an aligned table with --format table.
//
// The pure parts (flag parsing, enum names, tables, the rebuild progress line)
// are free functions, tested in cli_views_test.cc. ViewCommands is the thin
// gRPC part: it registers the subcommands on a CLI11 app and runs the chosen
// one.
#ifndef CASELINE_TOOLS_CLI_VIEWS_H_
#define CASELINE_TOOLS_CLI_VIEWS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/views.pb.h"
#include "tools/cli_connection.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "tools/cli_common.h"

namespace CLI {
class App;
}  // namespace CLI

namespace caseline::tools {

// --- Flags -------------------------------------------------------------------

// Parses a TIME or DATE flag value: RFC 3339 ("2026-03-03T10:00:00Z",
// "2026-03-03T11:00:00+01:00", fractional seconds allowed) or a date
// "2026-03-03", meaning 00:00 UTC that day. INVALID_ARGUMENT names `flag`
// (e.g. "--at") and the accepted forms; so does a time outside the years
// 0001..9999 that google.protobuf.Timestamp can hold.
absl::StatusOr<absl::Time> ParseTimeFlag(absl::string_view flag,
                                         absl::string_view value);

// REQUIRES: `time` is finite and within google.protobuf.Timestamp's range
// (ParseTimeFlag's results are).
google::protobuf::Timestamp ToTimestampProto(absl::Time time);

// An enum value's flag name: the value name without the enum's type prefix,
// in lower-kebab-case, e.g. WORKLIST_ITEM_KIND_FOLLOW_UP_DUE (of
// WorklistItemKind) -> "follow-up-due". A value that lacks the prefix keeps
// its whole name.
std::string EnumFlagName(const google::protobuf::EnumValueDescriptor& value);

// The flag names of every value of `type` but the zero (UNSPECIFIED) one, in
// declaration order.
std::vector<std::string> EnumFlagNames(
    const google::protobuf::EnumDescriptor& type);

// The number of the value of `type` whose flag name is `value`
// (case-insensitive; '_' is accepted for '-'). The zero value is never
// accepted. INVALID_ARGUMENT names `flag` and lists the accepted values.
absl::StatusOr<int> ParseEnumFlag(const google::protobuf::EnumDescriptor& type,
                                  absl::string_view flag,
                                  absl::string_view value);

// ParseEnumFlag for each of `values`, in order.
absl::StatusOr<std::vector<int>> ParseEnumFlags(
    const google::protobuf::EnumDescriptor& type, absl::string_view flag,
    const std::vector<std::string>& values);

// --- Output ------------------------------------------------------------------

// "2026-03-03T10:00:00Z" (UTC, whole seconds); "-" for an unset (zero)
// timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);

// "2026-03-03" (the UTC date); "-" for an unset (zero) timestamp.
std::string FormatDate(const google::protobuf::Timestamp& timestamp);

// An aligned plain-text table: the header row, then `rows`, columns separated
// by two spaces and padded to their widest cell (counted in UTF-8 code
// points), no trailing spaces; every line ends in '\n'. Control characters in
// cells (newlines, tabs) become spaces. A row shorter than the header leaves
// its last columns empty; cells beyond the header's width are dropped.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// The worklist as a table (DUE, OVERDUE, KIND, CLIENT, SUBJECT, CLAIMED BY,
// DESCRIPTION) with a footer line: "N items, view position P".
std::string WorklistTable(const std::vector<v1::WorklistItem>& items,
                          uint64_t view_position);

// A referral list as a table (SENT, AGE, URGENCY, STATUS, DIRECTION, CLIENT,
// REFERRAL, FROM, TO, CATEGORY; AGE in whole days, e.g. "12d") with a footer
// line: "N referrals, view position P".
std::string ReferralsTable(const std::vector<v1::ReferralListEntry>& entries,
                           uint64_t view_position);

// The timeline as a table (POSITION, RECORDED, OCCURRED, ORG, USER, TYPE,
// SUMMARY) with a footer line: "N events, view position P".
std::string TimelineTable(const std::vector<v1::TimelineEntry>& entries,
                          uint64_t view_position);

// Projection status as a table: NAME, STATE, POSITION, HEAD, LAG, GENERATION,
// EVENTS/S, ERROR.
std::string ProjectionStatusTable(
    const v1::GetProjectionStatusResponse& response);

// One progress line, without a newline:
// "rebuild continuity: 412000/1000000 events (41%), 310000 events/s", with
// ", done" appended on the last message.
std::string RebuildProgressLine(const v1::RebuildProjectionResponse& update);

// --- Subcommands -------------------------------------------------------------

// Registers the view subcommands on a CLI11 app and runs the chosen one.
// Holds the flags' storage, so it must outlive parsing. Not thread-safe.
class ViewCommands {
 public:
  // Adds the subcommands to `app` (not owned; must outlive the result).
  static std::unique_ptr<ViewCommands> AddTo(CLI::App* app);

  ~ViewCommands();
  ViewCommands(const ViewCommands&) = delete;
  ViewCommands& operator=(const ViewCommands&) = delete;

  // After parsing: when one of these subcommands was chosen, runs it against
  // the server `options` name (OpenChannel must have accepted them), each
  // call with their deadline (none for a rebuild), and returns the exit code;
  // std::nullopt when another subcommand was chosen. Prints JSON lines and
  // tables on stdout, errors and progress on stderr.
  std::optional<int> RunChosen(const ConnectionOptions& options) const;

 private:
  struct Commands;
  explicit ViewCommands(std::unique_ptr<Commands> commands);

  std::unique_ptr<Commands> commands_;
};

}  // namespace caseline::tools

#endif  // CASELINE_TOOLS_CLI_VIEWS_H_
