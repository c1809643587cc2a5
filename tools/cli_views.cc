#include "tools/cli_views.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "caseline/v1/access.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/cli_connection.h"
#include "tools/cli_json.h"

namespace caseline::tools {
namespace {

// google.protobuf.Timestamp's range:
// 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

constexpr absl::string_view kTimeForms =
    "use RFC 3339 (2026-03-03T10:00:00Z) or a date (2026-03-03, meaning 00:00 "
    "UTC that day)";

// "WorklistItemKind" -> "WORKLIST_ITEM_KIND_": protobuf's style guide prefixes
// enum values with the type name in UPPER_SNAKE_CASE.
std::string EnumValuePrefix(const google::protobuf::EnumDescriptor& type) {
  const std::string& name = type.name();
  std::string prefix;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i > 0 && absl::ascii_isupper(c)) {
      const char before = name[i - 1];
      const bool after_lower =
          absl::ascii_islower(before) || absl::ascii_isdigit(before);
      // "HTTPServer" -> "HTTP_SERVER": an acronym ends before its last capital.
      const bool acronym_end = absl::ascii_isupper(before) &&
                               i + 1 < name.size() &&
                               absl::ascii_islower(name[i + 1]);
      if (after_lower || acronym_end) prefix.push_back('_');
    }
    prefix.push_back(absl::ascii_toupper(c));
  }
  prefix.push_back('_');
  return prefix;
}

std::string NormalizeEnumFlag(absl::string_view value) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(value), {{"_", "-"}});
}

bool IsUnset(const google::protobuf::Timestamp& timestamp) {
  return timestamp.seconds() == 0 && timestamp.nanos() == 0;
}

absl::Time FromTimestampProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

// Control characters would break a table's lines and columns.
std::string TableCell(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

// Display width, approximated by UTF-8 code points.
size_t CellWidth(absl::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string OrDash(absl::string_view text) {
  return text.empty() ? std::string("-") : std::string(text);
}

std::string EnumCell(const google::protobuf::EnumDescriptor& type, int number) {
  const google::protobuf::EnumValueDescriptor* value =
      type.FindValueByNumber(number);
  return value == nullptr ? absl::StrCat(number) : EnumFlagName(*value);
}

int Percent(uint64_t position, uint64_t head) {
  if (head == 0 || position >= head) return 100;
  return static_cast<int>(std::floor(100.0 * static_cast<double>(position) /
                                     static_cast<double>(head)));
}

std::string Count(size_t n, absl::string_view singular,
                  absl::string_view plural) {
  return absl::StrCat(n, " ", n == 1 ? singular : plural);
}

}  // namespace

// --- Flags -------------------------------------------------------------------

absl::StatusOr<absl::Time> ParseTimeFlag(absl::string_view flag,
                                         absl::string_view value) {
  absl::Time time;
  absl::CivilDay day;
  std::string error;
  if (absl::ParseCivilTime(value, &day)) {
    time = absl::FromCivil(day, absl::UTCTimeZone());
  } else if (!absl::ParseTime(absl::RFC3339_full, value, &time, &error) ||
             time == absl::InfiniteFuture() || time == absl::InfinitePast()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", value, "\" is not a time; ", kTimeForms));
  }
  const int64_t seconds = absl::ToUnixSeconds(time);
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", value,
                     "\" is outside the years 0001 to 9999; ", kTimeForms));
  }
  return time;
}

google::protobuf::Timestamp ToTimestampProto(absl::Time time) {
  google::protobuf::Timestamp timestamp;
  const int64_t seconds = absl::ToUnixSeconds(time);  // rounds down
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return timestamp;
}

std::string EnumFlagName(const google::protobuf::EnumValueDescriptor& value) {
  absl::string_view name = value.name();
  const std::string prefix = EnumValuePrefix(*value.type());
  if (name.size() > prefix.size()) name = absl::StripPrefix(name, prefix);
  return NormalizeEnumFlag(name);
}

std::vector<std::string> EnumFlagNames(
    const google::protobuf::EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() == 0) continue;
    names.push_back(EnumFlagName(*type.value(i)));
  }
  return names;
}

absl::StatusOr<int> ParseEnumFlag(const google::protobuf::EnumDescriptor& type,
                                  absl::string_view flag,
                                  absl::string_view value) {
  const std::string wanted = NormalizeEnumFlag(value);
  for (int i = 0; i < type.value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor& candidate = *type.value(i);
    if (candidate.number() != 0 && EnumFlagName(candidate) == wanted) {
      return candidate.number();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " \"", value, "\" is not one of ",
                   absl::StrJoin(EnumFlagNames(type), ", ")));
}

absl::StatusOr<std::vector<int>> ParseEnumFlags(
    const google::protobuf::EnumDescriptor& type, absl::string_view flag,
    const std::vector<std::string>& values) {
  std::vector<int> numbers;
  numbers.reserve(values.size());
  for (const std::string& value : values) {
    absl::StatusOr<int> number = ParseEnumFlag(type, flag, value);
    if (!number.ok()) return number.status();
    numbers.push_back(*number);
  }
  return numbers;
}

// --- Output ------------------------------------------------------------------

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (IsUnset(timestamp)) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromTimestampProto(timestamp),
                          absl::UTCTimeZone());
}

std::string FormatDate(const google::protobuf::Timestamp& timestamp) {
  if (IsUnset(timestamp)) return "-";
  return absl::FormatTime("%Y-%m-%d", FromTimestampProto(timestamp),
                          absl::UTCTimeZone());
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  const size_t columns = header.size();
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  std::vector<size_t> widths(columns, 0);
  const auto add = [&](const std::vector<std::string>& row) {
    std::vector<std::string>& line = cells.emplace_back(columns);
    for (size_t i = 0; i < columns && i < row.size(); ++i) {
      line[i] = TableCell(row[i]);
      widths[i] = std::max(widths[i], CellWidth(line[i]));
    }
  };
  add(header);
  for (const std::vector<std::string>& row : rows) add(row);

  std::string out;
  for (const std::vector<std::string>& line : cells) {
    std::string text;
    for (size_t i = 0; i < columns; ++i) {
      text += line[i];
      if (i + 1 < columns) {
        text.append(widths[i] - CellWidth(line[i]) + 2, ' ');
      }
    }
    absl::StripTrailingAsciiWhitespace(&text);
    absl::StrAppend(&out, text, "\n");
  }
  return out;
}

std::string WorklistTable(const std::vector<v1::WorklistItem>& items,
                          uint64_t view_position) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(items.size());
  for (const v1::WorklistItem& item : items) {
    rows.push_back({FormatDate(item.due()), item.overdue() ? "yes" : "no",
                    EnumCell(*v1::WorklistItemKind_descriptor(), item.kind()),
                    OrDash(item.client_id()), OrDash(item.subject_id()),
                    OrDash(item.claimed_by_user_id()),
                    OrDash(item.description())});
  }
  return absl::StrCat(
      FormatTable({"DUE", "OVERDUE", "KIND", "CLIENT", "SUBJECT", "CLAIMED BY",
                   "DESCRIPTION"},
                  rows),
      Count(items.size(), "item", "items"), ", view position ", view_position,
      "\n");
}

std::string ReferralsTable(const std::vector<v1::ReferralListEntry>& entries,
                           uint64_t view_position) {
  // An unset enum shows as "-", like an empty id.
  const auto enum_or_dash = [](const google::protobuf::EnumDescriptor& type,
                               int number) {
    return number == 0 ? std::string("-") : EnumCell(type, number);
  };
  std::vector<std::vector<std::string>> rows;
  rows.reserve(entries.size());
  for (const v1::ReferralListEntry& entry : entries) {
    const v1::ReferralView& r = entry.referral();
    rows.push_back(
        {FormatTimestamp(r.sent_at()), absl::StrCat(r.age_days(), "d"),
         enum_or_dash(*v1::Urgency_descriptor(), r.urgency()),
         OrDash(r.status()),
         enum_or_dash(*v1::ReferralDirection_descriptor(), entry.direction()),
         OrDash(entry.client_id()), OrDash(r.referral_id()),
         OrDash(r.from_organization_id()), OrDash(r.to_organization_id()),
         enum_or_dash(*v1::ServiceCategory_descriptor(),
                      r.service_category())});
  }
  return absl::StrCat(
      FormatTable({"SENT", "AGE", "URGENCY", "STATUS", "DIRECTION", "CLIENT",
                   "REFERRAL", "FROM", "TO", "CATEGORY"},
                  rows),
      Count(entries.size(), "referral", "referrals"), ", view position ",
      view_position, "\n");
}

std::string TimelineTable(const std::vector<v1::TimelineEntry>& entries,
                          uint64_t view_position) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(entries.size());
  for (const v1::TimelineEntry& entry : entries) {
    std::string user = OrDash(entry.user_id());
    if (!entry.on_behalf_of().empty()) {
      absl::StrAppend(&user, " (for ", entry.on_behalf_of(), ")");
    }
    std::string summary = OrDash(entry.summary());
    if (entry.has_entered_in_error()) {
      absl::StrAppend(&summary, " [ENTERED IN ERROR at position ",
                      entry.entered_in_error().global_position(), " by ",
                      entry.entered_in_error().organization_id(), "]");
    }
    rows.push_back({absl::StrCat(entry.global_position()),
                    FormatTimestamp(entry.recorded_at()),
                    FormatTimestamp(entry.occurred_at()),
                    OrDash(entry.organization_id()), std::move(user),
                    OrDash(entry.event_type()), std::move(summary)});
  }
  return absl::StrCat(FormatTable({"POSITION", "RECORDED", "OCCURRED", "ORG",
                                   "USER", "TYPE", "SUMMARY"},
                                  rows),
                      Count(entries.size(), "event", "events"),
                      ", view position ", view_position, "\n");
}

std::string ProjectionStatusTable(
    const v1::GetProjectionStatusResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::ProjectionStatus& p : response.projections()) {
    std::string state = OrDash(p.state());
    if (p.state() == "rebuilding") {
      absl::StrAppend(&state, " ",
                      Percent(p.rebuild_position(), p.head_position()), "%");
    }
    rows.push_back({p.name(), std::move(state), absl::StrCat(p.position()),
                    absl::StrCat(p.head_position()), absl::StrCat(p.lag()),
                    absl::StrCat(p.generation()),
                    absl::StrCat(std::llround(p.events_per_second())),
                    OrDash(p.last_error())});
  }
  return FormatTable({"NAME", "STATE", "POSITION", "HEAD", "LAG", "GENERATION",
                      "EVENTS/S", "ERROR"},
                     rows);
}

std::string RebuildProgressLine(const v1::RebuildProjectionResponse& update) {
  return absl::StrCat("rebuild ", update.name(), ": ", update.position(), "/",
                      update.head_position(), " events (",
                      Percent(update.position(), update.head_position()),
                      "%), ", std::llround(update.events_per_second()),
                      " events/s", update.done() ? ", done" : "",
                      update.last_error().empty()
                          ? ""
                          : absl::StrCat(", failing: ", update.last_error()));
}

// --- Subcommands -------------------------------------------------------------

namespace {

// The page size the CLI asks for; the server allows up to 1000.
constexpr int32_t kPageSize = 500;

class Connection {
 public:
  Connection(const ConnectionOptions& options,
             std::shared_ptr<grpc::Channel> channel)
      : options_(options), channel_(std::move(channel)) {}

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // The identity metadata and the deadline.
  void SetDeadline(grpc::ClientContext* context) const {
    PrepareContext(options_, context);
  }
  // The identity metadata only (a rebuild runs as long as it takes).
  void SetIdentity(grpc::ClientContext* context) const {
    PrepareContext(options_, context, /*with_deadline=*/false);
  }

 private:
  const ConnectionOptions& options_;
  std::shared_ptr<grpc::Channel> channel_;
};

void PrintJson(const google::protobuf::Message& message) {
  std::cout << MessageToJson(message) << "\n";
}

// Sets `*out` from a TIME/DATE flag's value.
absl::Status SetTime(absl::string_view flag, const std::string& value,
                     google::protobuf::Timestamp* out) {
  absl::StatusOr<absl::Time> time = ParseTimeFlag(flag, value);
  if (!time.ok()) return time.status();
  *out = ToTimestampProto(*time);
  return absl::OkStatus();
}

// Sets a Period from optional from/to flags; leaves it unset when neither is
// given.
template <typename Request>
absl::Status SetPeriod(absl::string_view from_flag, const std::string& from,
                       absl::string_view to_flag, const std::string& to,
                       Request* request,
                       v1::Period* (Request::*mutable_period)()) {
  if (!from.empty()) {
    absl::Status status =
        SetTime(from_flag, from, (request->*mutable_period)()->mutable_start());
    if (!status.ok()) return status;
  }
  if (!to.empty()) {
    return SetTime(to_flag, to, (request->*mutable_period)()->mutable_end());
  }
  return absl::OkStatus();
}

template <typename Stub, typename Request, typename Response>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&,
                                      Response*);

// Says on stderr what a consent-gated answer left out (docs/access.md).
template <typename Response>
void NoteWithheld(const Response& response) {
  if constexpr (requires { response.withheld(); }) {
    const v1::Withheld& w = response.withheld();
    if (w.count() == 0) return;
    std::vector<std::string> classes;
    for (int c : w.data_classes()) {
      classes.push_back(std::string(absl::StripPrefix(
          v1::DataClass_Name(static_cast<v1::DataClass>(c)), "DATA_CLASS_")));
    }
    std::cerr << "caseline: " << w.count() << " withheld"
              << (classes.empty() ? ""
                                  : absl::StrCat(" (", absl::StrJoin(classes, ", "),
                                                 ")"))
              << ": " << w.reason() << "\n";
  }
}

template <typename Stub, typename Request, typename Response>
grpc::Status CallOnce(const Connection& connection, Stub* stub,
                      Method<Stub, Request, Response> method,
                      const Request& request, Response* response) {
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  grpc::Status status = (stub->*method)(&context, request, response);
  if (status.ok()) NoteWithheld(*response);
  return status;
}

// Calls `method` page by page until next_page_token is empty, handing each
// page to `on_page(Response&)`.
template <typename Stub, typename Request, typename Response, typename OnPage>
grpc::Status ForEachPage(const Connection& connection, Stub* stub,
                         Method<Stub, Request, Response> method,
                         Request request, OnPage on_page) {
  request.set_page_size(kPageSize);
  while (true) {
    Response page;
    grpc::Status status =
        CallOnce(connection, stub, method, std::as_const(request), &page);
    if (!status.ok()) return status;
    on_page(page);
    if (page.next_page_token().empty()) return grpc::Status::OK;
    request.set_page_token(page.next_page_token());
  }
}

void AddMinPosition(CLI::App* command, uint64_t* min_position) {
  command->add_option("--min-position", *min_position,
                      "wait until the view has applied this log position "
                      "(e.g. one an append returned); 0: answer at once");
}

void AddFormat(CLI::App* command, std::string* format) {
  command
      ->add_option("--format", *format,
                   "json: one JSON line per row; table: an aligned table")
      ->check(CLI::IsMember({"json", "table"}));
}

std::string EnumHelp(absl::string_view what,
                     const google::protobuf::EnumDescriptor& type,
                     absl::string_view otherwise) {
  return absl::StrCat(what, ": ", absl::StrJoin(EnumFlagNames(type), ", "),
                      " (several allowed); default ", otherwise);
}

// --- Arguments ---------------------------------------------------------------

struct SummaryArgs {
  std::string client;
  std::string at;
  uint64_t min_position = 0;
};

struct WorklistArgs {
  std::string organization;
  std::optional<int32_t> horizon_days;
  std::string at;
  std::vector<std::string> kinds;
  std::string claimed_by;
  std::string claim;
  std::string format = "json";
  uint64_t min_position = 0;
};

struct ReferralsArgs {
  std::string organization;
  std::string direction;
  std::vector<std::string> statuses;
  std::string format = "json";
  uint64_t min_position = 0;
};

struct MeasuresArgs {
  std::string from;
  std::string to;
  std::string organization;
  std::vector<std::string> measures;
  bool counts_only = false;
  uint64_t min_position = 0;
};

struct CaseloadArgs {
  std::string organization;
  std::optional<int32_t> threshold;
  uint64_t min_position = 0;
};

struct FindingsArgs {
  std::string client;
  std::string organization;
  std::vector<std::string> kinds;
  std::vector<std::string> statuses;
  uint64_t min_position = 0;
};

struct MatchModelArgs {
  uint64_t min_position = 0;
};

struct TimelineArgs {
  std::string client;
  std::string recorded_from;
  std::string recorded_to;
  std::string occurred_from;
  std::string occurred_to;
  std::vector<std::string> organizations;
  std::vector<std::string> types;
  std::string format = "json";
  uint64_t min_position = 0;
};

struct ReplayArgs {
  std::string client;
  std::optional<uint64_t> position;
  std::string as_of;
  std::string as_of_occurred;
  uint64_t min_position = 0;
};

struct DisclosuresArgs {
  std::string client;
  std::string from;
  std::string to;
  uint64_t min_position = 0;
};

struct VerifyClientArgs {
  std::string client;
  uint64_t min_position = 0;
};

// --- Runs --------------------------------------------------------------------

int RunSummary(const Connection& connection, const SummaryArgs& args) {
  v1::GetClientSummaryRequest request;
  request.set_client_id(args.client);
  request.set_min_position(args.min_position);
  if (!args.at.empty()) {
    if (absl::Status s = SetTime("--at", args.at, request.mutable_at());
        !s.ok()) {
      return BadInput(s.message());
    }
  }
  auto stub = v1::ContinuityViews::NewStub(connection.channel());
  v1::GetClientSummaryResponse response;
  grpc::Status status = CallOnce(connection, stub.get(),
                                 &v1::ContinuityViews::Stub::GetClientSummary,
                                 request, &response);
  if (!status.ok()) return Fail(status);
  PrintJson(response);
  return 0;
}

int RunGaps(const Connection& connection, const SummaryArgs& args) {
  v1::ListGapsRequest request;
  request.set_client_id(args.client);
  request.set_min_position(args.min_position);
  if (!args.at.empty()) {
    if (absl::Status s = SetTime("--at", args.at, request.mutable_at());
        !s.ok()) {
      return BadInput(s.message());
    }
  }
  auto stub = v1::ContinuityViews::NewStub(connection.channel());
  v1::ListGapsResponse response;
  grpc::Status status =
      CallOnce(connection, stub.get(), &v1::ContinuityViews::Stub::ListGaps,
               request, &response);
  if (!status.ok()) return Fail(status);
  for (const v1::Gap& gap : response.gaps()) PrintJson(gap);
  return 0;
}

int RunWorklist(const Connection& connection, const WorklistArgs& args) {
  v1::GetWorklistRequest request;
  request.set_organization_id(args.organization);
  request.set_min_position(args.min_position);
  if (args.horizon_days.has_value()) {
    request.set_horizon_days(*args.horizon_days);
  }
  if (!args.at.empty()) {
    if (absl::Status s = SetTime("--at", args.at, request.mutable_at());
        !s.ok()) {
      return BadInput(s.message());
    }
  }
  absl::StatusOr<std::vector<int>> kinds =
      ParseEnumFlags(*v1::WorklistItemKind_descriptor(), "--kind", args.kinds);
  if (!kinds.ok()) return BadInput(kinds.status().message());
  for (int kind : *kinds) {
    request.add_kinds(static_cast<v1::WorklistItemKind>(kind));
  }
  request.set_claimed_by(args.claimed_by);
  if (!args.claim.empty()) {
    absl::StatusOr<int> claim = ParseEnumFlag(
        *v1::WorklistClaimFilter_descriptor(), "--claim", args.claim);
    if (!claim.ok()) return BadInput(claim.status().message());
    request.set_claim_filter(static_cast<v1::WorklistClaimFilter>(*claim));
  }
  const bool table = args.format == "table";
  std::vector<v1::WorklistItem> items;
  uint64_t view_position = 0;
  auto stub = v1::ContinuityViews::NewStub(connection.channel());
  grpc::Status status = ForEachPage(
      connection, stub.get(), &v1::ContinuityViews::Stub::GetWorklist, request,
      [&](v1::GetWorklistResponse& page) {
        view_position = page.view_position();
        for (v1::WorklistItem& item : *page.mutable_items()) {
          if (table) {
            items.push_back(std::move(item));
          } else {
            PrintJson(item);
          }
        }
      });
  if (!status.ok()) return Fail(status);
  if (table) std::cout << WorklistTable(items, view_position);
  return 0;
}

int RunReferrals(const Connection& connection, const ReferralsArgs& args) {
  v1::ListReferralsRequest request;
  request.set_organization_id(args.organization);
  request.set_min_position(args.min_position);
  if (!args.direction.empty()) {
    absl::StatusOr<int> direction = ParseEnumFlag(
        *v1::ReferralDirection_descriptor(), "--direction", args.direction);
    if (!direction.ok()) return BadInput(direction.status().message());
    request.set_direction(static_cast<v1::ReferralDirection>(*direction));
  }
  for (const std::string& status : args.statuses) {
    request.add_statuses(status);
  }
  const bool table = args.format == "table";
  std::vector<v1::ReferralListEntry> entries;
  uint64_t view_position = 0;
  auto stub = v1::ContinuityViews::NewStub(connection.channel());
  grpc::Status status = ForEachPage(
      connection, stub.get(), &v1::ContinuityViews::Stub::ListReferrals,
      request, [&](v1::ListReferralsResponse& page) {
        view_position = page.view_position();
        for (v1::ReferralListEntry& entry : *page.mutable_entries()) {
          if (table) {
            entries.push_back(std::move(entry));
          } else {
            PrintJson(entry);
          }
        }
      });
  if (!status.ok()) return Fail(status);
  if (table) std::cout << ReferralsTable(entries, view_position);
  return 0;
}

int RunMeasures(const Connection& connection, const MeasuresArgs& args) {
  v1::GetMeasuresRequest request;
  request.set_organization_id(args.organization);
  request.set_counts_only(args.counts_only);
  request.set_min_position(args.min_position);
  for (const std::string& measure : args.measures) {
    request.add_measures(measure);
  }
  if (absl::Status s = SetPeriod("--from", args.from, "--to", args.to, &request,
                                 &v1::GetMeasuresRequest::mutable_period);
      !s.ok()) {
    return BadInput(s.message());
  }
  auto stub = v1::ContinuityViews::NewStub(connection.channel());
  v1::GetMeasuresResponse response;
  grpc::Status status =
      CallOnce(connection, stub.get(), &v1::ContinuityViews::Stub::GetMeasures,
               request, &response);
  if (!status.ok()) return Fail(status);
  for (const v1::MeasureResult& result : response.results()) PrintJson(result);
  return 0;
}

int RunCaseload(const Connection& connection, const CaseloadArgs& args) {
  v1::GetCaseloadRequest request;
  request.set_organization_id(args.organization);
  if (args.threshold.has_value()) request.set_threshold(*args.threshold);
  request.set_min_position(args.min_position);
  auto stub = v1::ContinuityViews::NewStub(connection.channel());
  v1::GetCaseloadResponse response;
  grpc::Status status =
      CallOnce(connection, stub.get(), &v1::ContinuityViews::Stub::GetCaseload,
               request, &response);
  if (!status.ok()) return Fail(status);
  PrintJson(response);
  return 0;
}

int RunFindings(const Connection& connection, const FindingsArgs& args) {
  if (!args.client.empty() && !args.organization.empty()) {
    return BadInput(
        "give at most one of --client and --org (neither: network-wide)");
  }
  v1::ListFindingsRequest request;
  request.set_client_id(args.client);
  request.set_organization_id(args.organization);
  request.set_min_position(args.min_position);
  absl::StatusOr<std::vector<int>> kinds =
      ParseEnumFlags(*v1::FindingKind_descriptor(), "--kind", args.kinds);
  if (!kinds.ok()) return BadInput(kinds.status().message());
  for (int kind : *kinds) request.add_kinds(static_cast<v1::FindingKind>(kind));
  absl::StatusOr<std::vector<int>> statuses = ParseEnumFlags(
      *v1::FindingStatus_descriptor(), "--status", args.statuses);
  if (!statuses.ok()) return BadInput(statuses.status().message());
  for (int s : *statuses)
    request.add_statuses(static_cast<v1::FindingStatus>(s));
  auto stub = v1::DuplicationViews::NewStub(connection.channel());
  grpc::Status status = ForEachPage(
      connection, stub.get(), &v1::DuplicationViews::Stub::ListFindings,
      request, [](v1::ListFindingsResponse& page) {
        for (const v1::Finding& finding : page.findings()) PrintJson(finding);
      });
  if (!status.ok()) return Fail(status);
  return 0;
}

int RunMatchModel(const Connection& connection, const MatchModelArgs& args) {
  v1::GetMatchModelRequest request;
  request.set_min_position(args.min_position);
  auto views = v1::DuplicationViews::NewStub(connection.channel());
  v1::GetMatchModelResponse response;
  // Nothing in the model is consent-gated (no withheld to note).
  grpc::ClientContext context;
  connection.SetDeadline(&context);
  grpc::Status status = views->GetMatchModel(&context, request, &response);
  if (!status.ok()) return Fail(status);
  PrintJson(response);
  return 0;
}

int RunTimeline(const Connection& connection, const TimelineArgs& args) {
  v1::GetTimelineRequest request;
  request.set_client_id(args.client);
  request.set_min_position(args.min_position);
  for (const std::string& org : args.organizations) {
    request.add_organization_ids(org);
  }
  for (const std::string& type : args.types) request.add_event_types(type);
  if (absl::Status s = SetPeriod("--recorded-from", args.recorded_from,
                                 "--recorded-to", args.recorded_to, &request,
                                 &v1::GetTimelineRequest::mutable_recorded);
      !s.ok()) {
    return BadInput(s.message());
  }
  if (absl::Status s = SetPeriod("--occurred-from", args.occurred_from,
                                 "--occurred-to", args.occurred_to, &request,
                                 &v1::GetTimelineRequest::mutable_occurred);
      !s.ok()) {
    return BadInput(s.message());
  }
  const bool table = args.format == "table";
  std::vector<v1::TimelineEntry> entries;
  uint64_t view_position = 0;
  auto stub = v1::AuditViews::NewStub(connection.channel());
  grpc::Status status =
      ForEachPage(connection, stub.get(), &v1::AuditViews::Stub::GetTimeline,
                  request, [&](v1::GetTimelineResponse& page) {
                    view_position = page.view_position();
                    for (v1::TimelineEntry& entry : *page.mutable_entries()) {
                      if (table) {
                        entries.push_back(std::move(entry));
                      } else {
                        PrintJson(entry);
                      }
                    }
                  });
  if (!status.ok()) return Fail(status);
  if (table) std::cout << TimelineTable(entries, view_position);
  return 0;
}

int RunReplay(const Connection& connection, const ReplayArgs& args) {
  const int given = (args.position.has_value() ? 1 : 0) +
                    (args.as_of.empty() ? 0 : 1) +
                    (args.as_of_occurred.empty() ? 0 : 1);
  if (given != 1) {
    return BadInput(
        "give exactly one of --position (a log position), --as-of (what the "
        "record said at a recorded time) and --as-of-occurred (what had "
        "happened by a business time)");
  }
  v1::ReplayClientRequest request;
  request.set_client_id(args.client);
  request.set_min_position(args.min_position);
  absl::Status parsed;
  if (args.position.has_value()) {
    request.set_position(*args.position);
  } else if (!args.as_of.empty()) {
    parsed = SetTime("--as-of", args.as_of, request.mutable_recorded_at());
  } else {
    parsed = SetTime("--as-of-occurred", args.as_of_occurred,
                     request.mutable_occurred_at());
  }
  if (!parsed.ok()) return BadInput(parsed.message());
  auto stub = v1::AuditViews::NewStub(connection.channel());
  v1::ReplayClientResponse response;
  grpc::Status status =
      CallOnce(connection, stub.get(), &v1::AuditViews::Stub::ReplayClient,
               request, &response);
  if (!status.ok()) return Fail(status);
  PrintJson(response);
  return 0;
}

int RunDisclosures(const Connection& connection, const DisclosuresArgs& args) {
  v1::ListDisclosuresRequest request;
  request.set_client_id(args.client);
  request.set_min_position(args.min_position);
  if (absl::Status s = SetPeriod("--from", args.from, "--to", args.to, &request,
                                 &v1::ListDisclosuresRequest::mutable_period);
      !s.ok()) {
    return BadInput(s.message());
  }
  auto stub = v1::AuditViews::NewStub(connection.channel());
  grpc::Status status = ForEachPage(
      connection, stub.get(), &v1::AuditViews::Stub::ListDisclosures, request,
      [](v1::ListDisclosuresResponse& page) {
        for (const v1::Disclosure& d : page.disclosures()) PrintJson(d);
      });
  if (!status.ok()) return Fail(status);
  return 0;
}

int RunVerifyClient(const Connection& connection,
                    const VerifyClientArgs& args) {
  v1::VerifyClientChainRequest request;
  request.set_client_id(args.client);
  request.set_min_position(args.min_position);
  auto stub = v1::AuditViews::NewStub(connection.channel());
  v1::VerifyClientChainResponse response;
  grpc::Status status =
      CallOnce(connection, stub.get(), &v1::AuditViews::Stub::VerifyClientChain,
               request, &response);
  if (!status.ok()) return Fail(status);
  PrintJson(response);
  if (!response.ok()) {
    std::cerr << "caseline: client " << args.client
              << "'s chain does not verify at position "
              << response.first_bad_position() << ": " << response.problem()
              << "\n";
    return kCliExitChainBroken;
  }
  return 0;
}

int RunProjectionStatus(const Connection& connection,
                        const std::string& format) {
  auto stub = v1::Projections::NewStub(connection.channel());
  v1::GetProjectionStatusResponse response;
  grpc::Status status =
      CallOnce(connection, stub.get(), &v1::Projections::Stub::GetStatus,
               v1::GetProjectionStatusRequest(), &response);
  if (!status.ok()) return Fail(status);
  if (format == "table") {
    std::cout << ProjectionStatusTable(response);
  } else {
    for (const v1::ProjectionStatus& p : response.projections()) PrintJson(p);
  }
  return 0;
}

int RunBreakGlassList(const Connection& connection, bool all,
                      bool include_denied) {
  v1::ListBreakGlassRequest request;
  request.set_include_reviewed(all);
  request.set_include_denied(include_denied);
  auto stub = v1::AccessAudit::NewStub(connection.channel());
  grpc::Status status = ForEachPage(
      connection, stub.get(), &v1::AccessAudit::Stub::ListBreakGlass, request,
      [&](v1::ListBreakGlassResponse& page) {
        for (const v1::BreakGlassAccess& a : page.accesses()) PrintJson(a);
      });
  if (!status.ok()) return Fail(status);
  return 0;
}

int RunBreakGlassReview(const Connection& connection,
                        const std::string& access_event_id,
                        const std::string& note) {
  v1::MarkBreakGlassReviewedRequest request;
  request.set_access_event_id(access_event_id);
  request.set_note(note);
  auto stub = v1::AccessAudit::NewStub(connection.channel());
  v1::MarkBreakGlassReviewedResponse response;
  grpc::Status status =
      CallOnce(connection, stub.get(),
               &v1::AccessAudit::Stub::MarkBreakGlassReviewed, request,
               &response);
  if (!status.ok()) return Fail(status);
  PrintJson(response);
  return 0;
}

// No deadline: a rebuild over a large log takes as long as it takes (like
// subscribe). Progress goes to stderr, overwritten in place on a terminal;
// each projection's final (done) message goes to stdout as a JSON line.
int RunRebuild(const Connection& connection, const std::string& name) {
  v1::RebuildProjectionRequest request;
  request.set_name(name);
  auto stub = v1::Projections::NewStub(connection.channel());
  grpc::ClientContext context;
  connection.SetIdentity(&context);
  std::unique_ptr<grpc::ClientReader<v1::RebuildProjectionResponse>> reader =
      stub->Rebuild(&context, request);
  const bool terminal = isatty(STDERR_FILENO) == 1;
  bool line_open = false;  // a \r-overwritten line is on the terminal
  std::string open_name;
  bool last_done = false;
  bool any = false;
  v1::RebuildProjectionResponse update;
  while (reader->Read(&update)) {
    any = true;
    last_done = update.done();
    const std::string line = RebuildProgressLine(update);
    if (terminal) {
      if (line_open && open_name != update.name()) std::cerr << "\n";
      std::cerr << "\r" << line << "\033[K";
      line_open = !update.done();
      open_name = update.name();
      if (update.done()) std::cerr << "\n";
    } else {
      std::cerr << line << "\n";
    }
    if (update.done()) std::cout << MessageToJson(update) << std::endl;
  }
  if (line_open) std::cerr << "\n";
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Fail(status);
  if (!any || !last_done) {
    std::cerr << "caseline: the server ended the rebuild stream before the "
                 "rebuild was done; see caseline projections status\n";
    return kCliExitCallFailed;
  }
  return 0;
}

}  // namespace

// --- ViewCommands ------------------------------------------------------------

struct ViewCommands::Commands {
  CLI::App* summary_cmd = nullptr;
  SummaryArgs summary;
  CLI::App* gaps_cmd = nullptr;
  SummaryArgs gaps;
  CLI::App* worklist_cmd = nullptr;
  WorklistArgs worklist;
  CLI::App* measures_cmd = nullptr;
  MeasuresArgs measures;
  CLI::App* referrals_cmd = nullptr;
  ReferralsArgs referrals;
  CLI::App* caseload_cmd = nullptr;
  CaseloadArgs caseload;
  CLI::App* findings_cmd = nullptr;
  FindingsArgs findings;
  CLI::App* match_model_cmd = nullptr;
  MatchModelArgs match_model;
  CLI::App* timeline_cmd = nullptr;
  TimelineArgs timeline;
  CLI::App* replay_cmd = nullptr;
  ReplayArgs replay;
  CLI::App* disclosures_cmd = nullptr;
  DisclosuresArgs disclosures;
  CLI::App* verify_client_cmd = nullptr;
  VerifyClientArgs verify_client;
  CLI::App* status_cmd = nullptr;
  std::string status_format = "json";
  CLI::App* rebuild_cmd = nullptr;
  std::string rebuild_name;
  CLI::App* break_glass_list_cmd = nullptr;
  bool break_glass_all = false;
  bool break_glass_denied = false;
  CLI::App* break_glass_review_cmd = nullptr;
  std::string break_glass_access_id;
  std::string break_glass_note;
};

ViewCommands::ViewCommands(std::unique_ptr<Commands> commands)
    : commands_(std::move(commands)) {}

ViewCommands::~ViewCommands() = default;

std::unique_ptr<ViewCommands> ViewCommands::AddTo(CLI::App* app) {
  auto c = std::make_unique<Commands>();
  const std::string time_forms =
      "RFC 3339 (2026-03-03T10:00:00Z) or a date (2026-03-03: 00:00 UTC)";

  // summary
  c->summary_cmd = app->add_subcommand(
      "summary",
      "A client's care at a glance: care team and lead, services, open "
      "referrals, goals, admissions, transitions, follow-ups due, consent "
      "coverage and gaps (one JSON line).");
  c->summary_cmd->add_option("--client", c->summary.client, "client id")
      ->required();
  c->summary_cmd->add_option("--at", c->summary.at,
                             absl::StrCat("judge gaps and ages at this time, ",
                                          time_forms, "; default now"));
  AddMinPosition(c->summary_cmd, &c->summary.min_position);

  // gaps
  c->gaps_cmd = app->add_subcommand(
      "gaps",
      "A client's open gaps in care, each with its reason, the organisation "
      "that should act and the events behind it (one JSON line per gap).");
  c->gaps_cmd->add_option("--client", c->gaps.client, "client id")->required();
  c->gaps_cmd->add_option(
      "--at", c->gaps.at,
      absl::StrCat("judge gaps at this time, ", time_forms, "; default now"));
  AddMinPosition(c->gaps_cmd, &c->gaps.min_position);

  // worklist
  c->worklist_cmd = app->add_subcommand(
      "worklist",
      "A discharge planner's worklist for an organisation, most overdue "
      "first: transitions due, follow-ups due, stale referrals, discharges "
      "without an accepted receiver, services ended without a successor; "
      "with who holds each (Worklists.ClaimWorklistItem).");
  c->worklist_cmd
      ->add_option("--org", c->worklist.organization, "organisation id")
      ->required();
  c->worklist_cmd
      ->add_option("--horizon-days", c->worklist.horizon_days,
                   "items due within this many days of --at, and every "
                   "overdue one (default: the server's, 7)")
      ->check(CLI::PositiveNumber);
  c->worklist_cmd->add_option("--at", c->worklist.at,
                              absl::StrCat("the worklist as of this time, ",
                                           time_forms, "; default now"));
  c->worklist_cmd
      ->add_option("--kind", c->worklist.kinds,
                   EnumHelp("only these kinds",
                            *v1::WorklistItemKind_descriptor(), "all"))
      ->delimiter(',');
  c->worklist_cmd->add_option(
      "--claimed-by", c->worklist.claimed_by,
      "only the items this person (an x-caseline-user id) holds");
  c->worklist_cmd->add_option(
      "--claim", c->worklist.claim,
      absl::StrCat(
          "only unclaimed or only claimed items: ",
          absl::StrJoin(EnumFlagNames(*v1::WorklistClaimFilter_descriptor()),
                        ", "),
          "; default both"));
  AddFormat(c->worklist_cmd, &c->worklist.format);
  AddMinPosition(c->worklist_cmd, &c->worklist.min_position);

  // referrals
  c->referrals_cmd = app->add_subcommand(
      "referrals",
      "An organisation's referrals across its clients: its inbox (received) "
      "and what it sent, open ones first, most urgent and oldest first, each "
      "with its status and days since sent.");
  c->referrals_cmd
      ->add_option("--org", c->referrals.organization, "organisation id")
      ->required();
  c->referrals_cmd
      ->add_option(
          "--direction", c->referrals.direction,
          absl::StrCat(
              "only ",
              absl::StrJoin(EnumFlagNames(*v1::ReferralDirection_descriptor()),
                            " or "),
              " referrals; default both"))
      ->check(
          CLI::IsMember(EnumFlagNames(*v1::ReferralDirection_descriptor())));
  c->referrals_cmd
      ->add_option("--status", c->referrals.statuses,
                   "only these statuses: requested, received, accepted, "
                   "declined, on-hold, in-progress, completed, failed, "
                   "cancelled (several allowed); default the open ones")
      ->delimiter(',');
  AddFormat(c->referrals_cmd, &c->referrals.format);
  AddMinPosition(c->referrals_cmd, &c->referrals.min_position);

  // measures
  c->measures_cmd = app->add_subcommand(
      "measures",
      "Continuity measures over a period (FUH-7/30, FUM-7/30, "
      "READMISSION-30, REFERRAL-LOOP-CLOSURE, TRC-NOTIFICATION, TRC-RECEIPT, "
      "TRC-ENGAGEMENT, TRC-MEDICATION-RECONCILIATION) with numerator and "
      "denominator members (one JSON line per measure).");
  c->measures_cmd
      ->add_option(
          "--from", c->measures.from,
          absl::StrCat("first day of index events (inclusive), ", time_forms))
      ->required();
  c->measures_cmd->add_option("--to", c->measures.to,
                              absl::StrCat("end of the period (exclusive), ",
                                           time_forms, "; default now"));
  c->measures_cmd->add_option("--org", c->measures.organization,
                              "only index events at this organisation "
                              "(facility or referral sender); default "
                              "network-wide");
  c->measures_cmd
      ->add_option("--measure", c->measures.measures,
                   "only these measures, e.g. FUH-7 FUM-30 (several allowed); "
                   "default all")
      ->delimiter(',');
  c->measures_cmd->add_flag("--counts-only", c->measures.counts_only,
                            "leave out the member lists");
  AddMinPosition(c->measures_cmd, &c->measures.min_position);

  // caseload
  c->caseload_cmd = app->add_subcommand(
      "caseload",
      "Active clients per lead case manager and per organisation, and the "
      "workers above the threshold (one JSON line).");
  c->caseload_cmd->add_option("--org", c->caseload.organization,
                              "only this organisation; default all");
  c->caseload_cmd
      ->add_option("--threshold", c->caseload.threshold,
                   "list workers with more active clients than this "
                   "(default: the server's, 50)")
      ->check(CLI::PositiveNumber);
  AddMinPosition(c->caseload_cmd, &c->caseload.min_position);

  // findings
  c->findings_cmd = app->add_subcommand(
      "findings",
      "Duplication findings: overlapping or same-day services, duplicate "
      "referrals, possible duplicate clients (one JSON line per finding).");
  c->findings_cmd->add_option("--client", c->findings.client,
                              "only this client's findings");
  c->findings_cmd->add_option(
      "--org", c->findings.organization,
      "only findings involving this organisation (not with --client); "
      "neither: network-wide");
  c->findings_cmd
      ->add_option(
          "--kind", c->findings.kinds,
          EnumHelp("only these kinds", *v1::FindingKind_descriptor(), "all"))
      ->delimiter(',');
  c->findings_cmd
      ->add_option("--status", c->findings.statuses,
                   EnumHelp("only these statuses",
                            *v1::FindingStatus_descriptor(), "open"))
      ->delimiter(',');
  AddMinPosition(c->findings_cmd, &c->findings.min_position);

  // match-model
  c->match_model_cmd = app->add_subcommand(
      "match-model",
      "The match model possible duplicate clients are scored with: learned "
      "or the default, m, u and weight of each field's agreement levels, the "
      "prior, when it was estimated, the comparisons counted, the next "
      "estimate and the thresholds (one JSON line).");
  AddMinPosition(c->match_model_cmd, &c->match_model.min_position);

  // timeline
  c->timeline_cmd = app->add_subcommand(
      "timeline",
      "A client's audit timeline: every event, who recorded it for which "
      "organisation (on whose behalf), when it happened and when it was "
      "recorded.");
  c->timeline_cmd->add_option("--client", c->timeline.client, "client id")
      ->required();
  c->timeline_cmd->add_option(
      "--recorded-from", c->timeline.recorded_from,
      absl::StrCat("only events recorded at or after this time, ", time_forms));
  c->timeline_cmd->add_option(
      "--recorded-to", c->timeline.recorded_to,
      absl::StrCat("only events recorded before this time, ", time_forms));
  c->timeline_cmd->add_option(
      "--occurred-from", c->timeline.occurred_from,
      absl::StrCat("only events that happened at or after this time, ",
                   time_forms));
  c->timeline_cmd->add_option(
      "--occurred-to", c->timeline.occurred_to,
      absl::StrCat("only events that happened before this time, ", time_forms));
  c->timeline_cmd
      ->add_option("--org", c->timeline.organizations,
                   "only events recorded by these organisations (several "
                   "allowed); default all")
      ->delimiter(',');
  c->timeline_cmd
      ->add_option("--type", c->timeline.types,
                   "only these event types, e.g. ReferralSent (several "
                   "allowed); default all")
      ->delimiter(',');
  AddFormat(c->timeline_cmd, &c->timeline.format);
  AddMinPosition(c->timeline_cmd, &c->timeline.min_position);

  // replay
  c->replay_cmd = app->add_subcommand(
      "replay",
      "A client's state as the record stood at a log position, at a recorded "
      "time, or at a business time (one JSON line). Give exactly one of "
      "--position, --as-of, --as-of-occurred.");
  c->replay_cmd->add_option("--client", c->replay.client, "client id")
      ->required();
  c->replay_cmd->add_option(
      "--position", c->replay.position,
      "the state after the client's last event at or before this position");
  c->replay_cmd->add_option(
      "--as-of", c->replay.as_of,
      absl::StrCat("what the record said at this recorded time, ", time_forms));
  c->replay_cmd->add_option(
      "--as-of-occurred", c->replay.as_of_occurred,
      absl::StrCat("what had happened by this business time, including "
                   "events recorded later, ",
                   time_forms));
  AddMinPosition(c->replay_cmd, &c->replay.min_position);

  // disclosures
  c->disclosures_cmd = app->add_subcommand(
      "disclosures",
      "Accounting of disclosures: what was shared about a client, with whom, "
      "for what purpose and on which consent (one JSON line per "
      "disclosure).");
  c->disclosures_cmd->add_option("--client", c->disclosures.client, "client id")
      ->required();
  c->disclosures_cmd->add_option(
      "--from", c->disclosures.from,
      absl::StrCat("first day (inclusive), ", time_forms,
                   "; default six years before now"));
  c->disclosures_cmd->add_option(
      "--to", c->disclosures.to,
      absl::StrCat("end (exclusive), ", time_forms, "; default now"));
  AddMinPosition(c->disclosures_cmd, &c->disclosures.min_position);

  // verify-client
  c->verify_client_cmd = app->add_subcommand(
      "verify-client",
      "Verify the hash chain of a client's events and print the head hash to "
      "publish. Exit code 3 if any event does not verify.");
  c->verify_client_cmd
      ->add_option("--client", c->verify_client.client, "client id")
      ->required();
  AddMinPosition(c->verify_client_cmd, &c->verify_client.min_position);

  // projections
  CLI::App* projections_cmd = app->add_subcommand(
      "projections",
      "The projections behind the views: their status, and online rebuilds.");
  projections_cmd->require_subcommand(1);
  c->status_cmd = projections_cmd->add_subcommand(
      "status",
      "Each projection's state, position, lag behind the log head, generation "
      "and rate.");
  AddFormat(c->status_cmd, &c->status_format);
  c->rebuild_cmd = projections_cmd->add_subcommand(
      "rebuild",
      "Rebuild a projection from position 0 while queries keep answering "
      "from its old state, then switch; progress on stderr, the final "
      "status as a JSON line. No deadline.");
  c->rebuild_cmd
      ->add_option("name", c->rebuild_name,
                   "a projection's name (see projections status), or all")
      ->required();

  // break-glass
  CLI::App* break_glass_cmd = app->add_subcommand(
      "break-glass",
      "For auditors: emergency overrides of consent awaiting review "
      "(docs/access.md).");
  break_glass_cmd->require_subcommand(1);
  c->break_glass_list_cmd = break_glass_cmd->add_subcommand(
      "list",
      "Break-the-glass accesses awaiting review, oldest first, as JSON lines: "
      "who, which organisation, when, why and what was shown.");
  c->break_glass_list_cmd->add_flag("--all", c->break_glass_all,
                                    "also those already reviewed");
  c->break_glass_list_cmd->add_flag(
      "--include-denied", c->break_glass_denied,
      "also refused reads (outcome ACCESS_OUTCOME_DENIED): attempts to read a "
      "client the reader was not involved with");
  c->break_glass_review_cmd = break_glass_cmd->add_subcommand(
      "review", "Mark a break-the-glass access reviewed, with a note.");
  c->break_glass_review_cmd
      ->add_option("--access-event-id", c->break_glass_access_id,
                   "the access_event_id from break-glass list")
      ->required();
  c->break_glass_review_cmd
      ->add_option("--note", c->break_glass_note, "what the review found")
      ->required();

  return std::unique_ptr<ViewCommands>(new ViewCommands(std::move(c)));
}

std::optional<int> ViewCommands::RunChosen(
    const ConnectionOptions& options) const {
  const Commands& c = *commands_;
  // Connects only when one of these subcommands was chosen.
  std::shared_ptr<grpc::Channel> channel;
  const auto connect = [&] {
    if (channel == nullptr) channel = *OpenChannel(options);
    return Connection(options, channel);
  };
  if (*c.summary_cmd) return RunSummary(connect(), c.summary);
  if (*c.gaps_cmd) return RunGaps(connect(), c.gaps);
  if (*c.worklist_cmd) return RunWorklist(connect(), c.worklist);
  if (*c.referrals_cmd) return RunReferrals(connect(), c.referrals);
  if (*c.measures_cmd) return RunMeasures(connect(), c.measures);
  if (*c.caseload_cmd) return RunCaseload(connect(), c.caseload);
  if (*c.findings_cmd) return RunFindings(connect(), c.findings);
  if (*c.match_model_cmd) return RunMatchModel(connect(), c.match_model);
  if (*c.timeline_cmd) return RunTimeline(connect(), c.timeline);
  if (*c.replay_cmd) return RunReplay(connect(), c.replay);
  if (*c.disclosures_cmd) return RunDisclosures(connect(), c.disclosures);
  if (*c.verify_client_cmd) return RunVerifyClient(connect(), c.verify_client);
  if (*c.status_cmd) return RunProjectionStatus(connect(), c.status_format);
  if (*c.rebuild_cmd) return RunRebuild(connect(), c.rebuild_name);
  if (*c.break_glass_list_cmd) {
    return RunBreakGlassList(connect(), c.break_glass_all,
                             c.break_glass_denied);
  }
  if (*c.break_glass_review_cmd) {
    return RunBreakGlassReview(connect(), c.break_glass_access_id,
                               c.break_glass_note);
  }
  return std::nullopt;
}

}  // namespace caseline::tools
