// Backup and restore end to end: a real caselined under load from concurrent
// appenders is backed up with the real `caseline backup --to` CLI; a second
// caselined started with --restore_from into a fresh directory then serves
// every event up to the backup's head, unchanged, with a chain that verifies
// to the reported head hash, and its projections catch up. Refusals (an
// occupied backup directory, a caller without the admin role, a data
// directory that already holds a log, a damaged backup) change nothing.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/test_files.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/access_control.h"
#include "tests/server_process.h"
#include "tests/test_util.h"
#include "tests/views_util.h"

namespace caseline {
namespace {

using ::caseline::testing::FlipByte;
using ::caseline::testing::Listing;
using ::caseline::testing::ReadWholeLog;

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::Appenders;
using testing::Endpoint;
using testing::ProgramResult;
using testing::RunProgram;
using testing::ServerProcess;

// `caseline ARGS...` against `address`.
ProgramResult RunCli(const std::string& address,
                     std::vector<std::string> args,
                     const std::string& scratch_prefix) {
  args.insert(args.begin(), {CASELINE_PATH, "--server", address});
  return RunProgram(args, scratch_prefix);
}

// `caselined ARGS...` run until it exits by itself (a refused restore).
ProgramResult RunCaselined(std::vector<std::string> args,
                           const std::string& scratch_prefix) {
  args.insert(args.begin(), {CASELINED_PATH, "--listen=127.0.0.1:0"});
  return RunProgram(args, scratch_prefix, absl::Seconds(60));
}

// Entries of `dir` whose name starts with '.' (staging directories).
std::vector<std::string> Hidden(const fs::path& dir) {
  std::vector<std::string> names;
  for (const std::string& name : Listing(dir)) {
    if (!name.empty() && name[0] == '.') names.push_back(name);
  }
  return names;
}

TEST(BackupE2eTest, BackupUnderLoadRestoresEveryEventIntoAFreshDirectory) {
  testing::ScratchDir dir("backup_e2e");
  const std::string data_dir = dir.path() + "/data";
  const std::string backup_dir = dir.path() + "/backup-1";
  ServerProcess server(data_dir);
  Endpoint endpoint;
  endpoint.Set(server.Start());
  ASSERT_FALSE(endpoint.address().empty());

  Appenders appenders(&endpoint, "backup-", 8);
  for (int i = 0; i < 400 && appenders.max_acked_position() < 500; ++i) {
    absl::SleepFor(absl::Milliseconds(25));
  }
  const uint64_t acked_before = appenders.max_acked_position();
  ASSERT_GE(acked_before, 500u) << "too little load to mean anything";
  const ProgramResult backup = RunCli(
      endpoint.address(), {"backup", "--to", backup_dir}, dir.path() + "/cli");
  const uint64_t acked_at_backup_end = appenders.max_acked_position();
  absl::SleepFor(absl::Milliseconds(200));  // appends go on after it
  appenders.Stop();
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  ASSERT_GT(appenders.max_acked_position(), acked_at_backup_end)
      << "appends did not continue during and after the backup";

  // What the CLI printed: one JSON line with the directory, head and hash.
  const nlohmann::json printed = nlohmann::json::parse(backup.out);
  EXPECT_EQ(printed["directory"], backup_dir);
  const uint64_t head =
      std::stoull(printed["head_position"].get<std::string>());
  const std::string head_hash = printed["head_hash"].get<std::string>();
  EXPECT_EQ(printed["events_verified"], printed["head_position"]);
  EXPECT_EQ(printed["same_filesystem"], true);
  EXPECT_THAT(backup.err, HasSubstr("hard links"));
  // Every append acknowledged before the backup started is in it.
  EXPECT_GE(head, acked_before);
  EXPECT_EQ(head_hash.size(), 64u);

  auto source_channel = grpc::CreateChannel(
      endpoint.address(), grpc::InsecureChannelCredentials());
  auto source = v1::EventLog::NewStub(source_channel);
  const std::vector<v1::Event> source_events = ReadWholeLog(source.get());
  ASSERT_GT(source_events.size(), head) << "the log went on after the backup";
  EXPECT_EQ(source_events[head - 1].hash(), head_hash);

  // A second caselined restores the backup into a fresh directory, reports
  // the same head, and serves it.
  const std::string restored_dir = dir.path() + "/restored";
  ServerProcess restored(restored_dir, {"--restore_from=" + backup_dir});
  const std::string restored_address = restored.Start();
  ASSERT_FALSE(restored_address.empty());
  const nlohmann::json report = nlohmann::json::parse(restored.Stdout());
  EXPECT_EQ(report["restored_from"], backup_dir);
  EXPECT_EQ(report["data_dir"], restored_dir);
  EXPECT_EQ(report["head_position"], printed["head_position"]);
  EXPECT_EQ(report["head_hash"], head_hash);
  EXPECT_EQ(report["events_verified"], printed["head_position"]);

  auto channel = grpc::CreateChannel(restored_address,
                                     grpc::InsecureChannelCredentials());
  auto copy = v1::EventLog::NewStub(channel);
  const std::vector<v1::Event> restored_events = ReadWholeLog(copy.get());
  ASSERT_EQ(restored_events.size(), head);
  for (uint64_t i = 0; i < head; ++i) {
    const v1::Event& got = restored_events[i];
    const v1::Event& want = source_events[i];
    ASSERT_EQ(got.global_position(), i + 1);
    EXPECT_EQ(got.event_id(), want.event_id()) << i + 1;
    EXPECT_EQ(got.stream_id(), want.stream_id()) << i + 1;
    EXPECT_EQ(got.stream_version(), want.stream_version()) << i + 1;
    EXPECT_EQ(got.payload(), want.payload()) << i + 1;
    EXPECT_EQ(got.hash(), want.hash()) << i + 1;
  }
  // Every acknowledged append the backup holds is where it was acknowledged.
  size_t acked_in_backup = 0;
  for (const auto& [id, where] : appenders.acked()) {
    if (where.position > head) continue;
    ++acked_in_backup;
    EXPECT_EQ(restored_events[where.position - 1].event_id(), id);
    EXPECT_EQ(restored_events[where.position - 1].stream_version(),
              where.stream_version);
  }
  EXPECT_GT(acked_in_backup, 0u);

  grpc::ClientContext verify_context;
  v1::VerifyChainResponse verify;
  ASSERT_TRUE(
      copy->VerifyChain(&verify_context, v1::VerifyChainRequest(), &verify)
          .ok());
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_EQ(verify.events_checked(), head);
  EXPECT_EQ(verify.head_position(), head);
  EXPECT_EQ(verify.head_hash(), head_hash);

  // The projections were not backed up: they rebuild from the restored log.
  testing::WaitForProjections(channel);
  grpc::ClientContext status_context;
  v1::GetProjectionStatusResponse status;
  ASSERT_TRUE(v1::Projections::NewStub(channel)
                  ->GetStatus(&status_context, {}, &status)
                  .ok());
  ASSERT_GT(status.projections_size(), 0);
  for (const auto& p : status.projections()) EXPECT_EQ(p.position(), head);

  // The restored log goes on from the backup's head.
  v1::AppendRequest append;
  append.set_stream_id("after-restore");
  *append.add_events() = testing::JsonEvent("Noted", "{}");
  grpc::ClientContext append_context;
  v1::AppendResponse appended;
  ASSERT_TRUE(copy->Append(&append_context, append, &appended).ok());
  EXPECT_EQ(appended.first_global_position(), head + 1);
  restored.Stop();

  // The backup is intact: --restore_only restores it again, to the same
  // head, and exits.
  ServerProcess again(dir.path() + "/again",
                      {"--restore_from=" + backup_dir, "--restore_only"});
  again.Spawn();
  EXPECT_EQ(again.WaitForExit(absl::Seconds(60)), 0) << again.LogTail();
  EXPECT_THAT(again.Stdout(), HasSubstr(absl::StrCat(
                                  "\"head_hash\":\"", head_hash, "\"")));
  EXPECT_TRUE(fs::exists(dir.path() + "/again/CURRENT"));
  EXPECT_TRUE(Hidden(dir.path()).empty());
}

TEST(BackupE2eTest, RefusalsNameWhatIsWrongAndChangeNothing) {
  testing::ScratchDir dir("backup_refusals");
  const std::string data_dir = dir.path() + "/data";
  ServerProcess server(data_dir, {"--log_level=info"});
  const std::string address = server.Start();
  ASSERT_FALSE(address.empty());
  auto stub = v1::EventLog::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 30; ++i) {
    v1::AppendRequest append;
    append.set_stream_id("case-1");
    *append.add_events() = testing::JsonEvent("Noted", absl::StrCat(i));
    grpc::ClientContext context;
    v1::AppendResponse response;
    ASSERT_TRUE(stub->Append(&context, append, &response).ok());
  }

  // An occupied backup directory: FAILED_PRECONDITION naming it.
  const std::string occupied = dir.path() + "/occupied";
  fs::create_directories(occupied);
  std::ofstream(occupied + "/notes.txt") << "keep me";
  const ProgramResult refused = RunCli(
      address, {"backup", "--to", occupied}, dir.path() + "/cli-occupied");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr("FAILED_PRECONDITION"), HasSubstr(occupied),
                    HasSubstr("not empty"), HasSubstr("new or empty")));
  EXPECT_EQ(Listing(occupied), std::vector<std::string>{"notes.txt"});

  // An agency may not make backups (development mode: a named organisation
  // is an agency).
  const ProgramResult agency =
      RunCli(address,
             {"--as-org", "org-housing", "backup", "--to",
              dir.path() + "/by-agency"},
             dir.path() + "/cli-agency");
  EXPECT_EQ(agency.exit_code, 2);
  EXPECT_THAT(agency.err, AllOf(HasSubstr("PERMISSION_DENIED"),
                                HasSubstr("Admin.Backup needs the role admin")));
  EXPECT_FALSE(fs::exists(dir.path() + "/by-agency"));

  const std::string backup_dir = dir.path() + "/backup";
  const ProgramResult backup = RunCli(
      address, {"backup", "--to", backup_dir}, dir.path() + "/cli-backup");
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_THAT(backup.out, HasSubstr("\"head_position\":\"30\""));
  // The server's log records each backup, and who made it.
  EXPECT_THAT(server.LogTail(),
              AllOf(HasSubstr(absl::StrCat("backup written to ", backup_dir,
                                           " for the local operator: head "
                                           "position 30")),
                    HasSubstr("hard links")));

  // Restoring over a data directory that holds a log: refused, nothing
  // touched.
  const std::vector<std::string> before = Listing(data_dir);
  const ProgramResult over = RunCaselined(
      {"--data_dir=" + data_dir, "--restore_from=" + backup_dir},
      dir.path() + "/over");
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_THAT(over.err,
              AllOf(HasSubstr("cannot restore"),
                    HasSubstr("FAILED_PRECONDITION"), HasSubstr(data_dir),
                    HasSubstr("already holds a log")));
  EXPECT_EQ(Listing(data_dir), before);

  // A damaged backup (a real copy: the backup's table files are hard links
  // to the live log's): DATA_LOSS naming the file, and no data directory
  // that a later start would open.
  const std::string damaged = dir.path() + "/damaged";
  fs::copy(backup_dir, damaged, fs::copy_options::recursive);
  std::vector<fs::path> tables;
  for (const auto& entry : fs::directory_iterator(damaged)) {
    if (entry.path().extension() == ".sst") tables.push_back(entry.path());
  }
  ASSERT_FALSE(tables.empty());
  for (const fs::path& table : tables) FlipByte(table, 100);
  const std::string fresh = dir.path() + "/fresh";
  const ProgramResult from_damaged = RunCaselined(
      {"--data_dir=" + fresh, "--restore_from=" + damaged},
      dir.path() + "/from-damaged");
  EXPECT_EQ(from_damaged.exit_code, 1);
  EXPECT_THAT(from_damaged.err,
              AllOf(HasSubstr("cannot restore"), HasSubstr("DATA_LOSS"),
                    HasSubstr(damaged + "/"), HasSubstr(".sst"),
                    HasSubstr("nothing was restored")));
  EXPECT_FALSE(fs::exists(fresh));
  EXPECT_TRUE(Hidden(dir.path()).empty());

  // Not a backup at all (a live data directory has no CASELINE-BACKUP).
  const ProgramResult from_data = RunCaselined(
      {"--data_dir=" + fresh, "--restore_from=" + data_dir},
      dir.path() + "/from-data");
  EXPECT_EQ(from_data.exit_code, 1);
  EXPECT_THAT(from_data.err, AllOf(HasSubstr("FAILED_PRECONDITION"),
                                   HasSubstr("not a complete backup")));
  EXPECT_FALSE(fs::exists(fresh));
}

// Roles with an access config (no TLS, organisations from metadata): only
// the admin role may back up.
TEST(BackupE2eTest, OnlyAdminsMayBackUp) {
  testing::ScratchDir dir("backup_roles");
  auto server = testing::StartLoopbackServer(
      dir.path() + "/data", [](server::ServerOptions& options) {
        services::AccessConfig access;
        access.roles["org-ops"] = services::kAdmin;
        access.roles["org-audit"] = services::kAuditor;
        access.roles["org-housing"] = services::kAgency;
        options.access = access;
      });
  ASSERT_TRUE(server.ok()) << server.status();
  auto admin = v1::Admin::NewStub(grpc::CreateChannel(
      (*server)->address(), grpc::InsecureChannelCredentials()));
  auto backup_as = [&](const std::string& org, const std::string& to) {
    grpc::ClientContext context;
    if (!org.empty()) context.AddMetadata(services::kOrganizationMetadataKey, org);
    v1::BackupRequest request;
    request.set_directory(to);
    v1::BackupResponse response;
    return admin->Backup(&context, request, &response);
  };
  for (const std::string org : {"org-audit", "org-housing"}) {
    const grpc::Status denied = backup_as(org, dir.path() + "/" + org);
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << org;
    EXPECT_THAT(denied.error_message(),
                AllOf(HasSubstr("Admin.Backup"), HasSubstr("admin")));
    EXPECT_FALSE(fs::exists(dir.path() + "/" + org));
  }
  // With an access config there is no anonymous local operator.
  EXPECT_NE(backup_as("", dir.path() + "/anonymous").error_code(),
            grpc::StatusCode::OK);
  EXPECT_EQ(backup_as("org-ops", "").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  const grpc::Status ok = backup_as("org-ops", dir.path() + "/ops");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_TRUE(fs::exists(dir.path() + "/ops/CASELINE-BACKUP"));
}

}  // namespace
}  // namespace caseline
