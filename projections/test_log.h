// For projection tests: a real EventLog in a fresh temporary directory, and
// care events appended the way the command services write them.
#ifndef CASELINE_PROJECTIONS_TEST_LOG_H_
#define CASELINE_PROJECTIONS_TEST_LOG_H_

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event_log.h"
#include "gtest/gtest.h"
#include "care/care_event_context.h"

namespace caseline::projections {

class TestLog {
 public:
  // Opens a log in <temp dir>/<name>_<test name>_<pid>; `clock` is the log's
  // source of recorded_at (default: real time). Check ok() before use.
  explicit TestLog(absl::string_view name,
                   absl::AnyInvocable<absl::Time() const> clock = nullptr)
      : dir_(
            std::filesystem::path(::testing::TempDir()) /
            absl::StrCat(
                name, "_",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                "_", getpid())) {
    std::filesystem::remove_all(dir_);
    eventstore::EventLogOptions options;
    options.data_dir = dir_.string();
    options.clock = std::move(clock);
    absl::StatusOr<std::unique_ptr<eventstore::EventLog>> log =
        eventstore::EventLog::Open(std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    if (log.ok()) log_ = *std::move(log);
  }
  ~TestLog() {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  TestLog(const TestLog&) = delete;
  TestLog& operator=(const TestLog&) = delete;

  bool ok() const { return log_ != nullptr; }
  eventstore::EventLog* get() const { return log_.get(); }
  eventstore::EventLog* operator->() const { return log_.get(); }

  // Appends `event` to `stream` as organisation `org` (and `user`), occurred
  // at `occurred_at` (default: when recorded); returns its global position,
  // or 0 after a failed append (which fails the test).
  uint64_t AppendCare(const std::string& stream, const v1::CareEvent& event,
                      std::optional<absl::Time> occurred_at,
                      const std::string& org, const std::string& user = "") {
    eventstore::ProposedEvent proposed;
    proposed.event_type = care::CareEventName(event);
    proposed.content_type = v1::kCareEventContentType;
    proposed.payload = event.SerializeAsString();
    proposed.actor.organization_id = org;
    proposed.actor.user_id = user;
    proposed.occurred_at = occurred_at;
    eventstore::AppendRequest request;
    request.stream_id = stream;
    request.events.push_back(std::move(proposed));
    absl::StatusOr<eventstore::AppendResult> result =
        log_->Append(std::move(request));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->last_position : 0;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<eventstore::EventLog> log_;
};

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_TEST_LOG_H_
