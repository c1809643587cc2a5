// Backup and restore end to end: a real caselined under load from concurrent
// appenders is backed up with the real `caseline backup --to` CLI; a second
// caselined started with --restore_from into a fresh directory then serves
// every event up to the backup's head, unchanged, with a chain that verifies
// to the reported head hash, and its projections catch up. Refusals (an
// occupied backup directory, a caller without the admin role, a data
// directory that already holds a log, a damaged backup) change nothing.
// Signed heads: a caselined with --signing_key signs its head; the signed
// head and public key fetched with the CLI let `caseline verify --offline`
// accept the backup and reject copies with one envelope byte changed or one
// event removed, naming the position.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/log_tamper.h"
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

// A fresh private key of `type` ("ED25519" or "EC") written as PEM to `path`.
void WritePrivateKey(const char* type, const std::string& path) {
  EVP_PKEY* key = std::string(type) == "EC"
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  ASSERT_NE(key, nullptr);
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(
      PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr),
      1);
  std::fclose(file);
  EVP_PKEY_free(key);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(BackupE2eTest, OfflineVerifierChecksABackupAgainstASignedHead) {
  testing::ScratchDir dir("signed_heads");
  const std::string key = dir.path() + "/signing.pem";
  WritePrivateKey("ED25519", key);
  const std::string data_dir = dir.path() + "/data";
  auto server = std::make_unique<ServerProcess>(
      data_dir,
      std::vector<std::string>{"--signing_key=" + key,
                               "--sign_head_interval=0"});
  std::string address = server->Start();
  ASSERT_FALSE(address.empty());
  auto cli = [&](std::vector<std::string> args, const std::string& name) {
    return RunCli(address, std::move(args), dir.path() + "/cli-" + name);
  };

  // An empty log: nothing kept, nothing to sign.
  const ProgramResult none = cli({"signed-head"}, "none");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, AllOf(HasSubstr("NOT_FOUND"),
                              HasSubstr("no signed head is kept yet")));
  const ProgramResult empty = cli({"signed-head", "--sign"}, "empty");
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_THAT(empty.err, AllOf(HasSubstr("FAILED_PRECONDITION"),
                               HasSubstr("the log is empty")));

  auto event_log = v1::EventLog::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  auto append = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      v1::AppendRequest request;
      request.set_stream_id("case-1");
      *request.add_events() =
          testing::JsonEvent("Noted", absl::StrCat("{\"note\":\"note-", i,
                                                   "-end\"}"));
      grpc::ClientContext context;
      v1::AppendResponse response;
      ASSERT_TRUE(event_log->Append(&context, request, &response).ok());
    }
  };
  append(0, 30);

  // Signed now, written as the file to publish; the public key beside it.
  const std::string head_file = dir.path() + "/head.json";
  const ProgramResult signed_now =
      cli({"signed-head", "--sign", "--out", head_file}, "sign");
  ASSERT_EQ(signed_now.exit_code, 0) << signed_now.err;
  const nlohmann::json head = nlohmann::json::parse(ReadText(head_file));
  EXPECT_EQ(head["position"], "30");
  const std::string public_key = dir.path() + "/public.pem";
  const ProgramResult key_printed =
      cli({"signing-key", "--out", public_key}, "key");
  ASSERT_EQ(key_printed.exit_code, 0) << key_printed.err;
  EXPECT_THAT(key_printed.err,
              HasSubstr("key id " + head["key_id"].get<std::string>()));
  EXPECT_THAT(ReadText(public_key), HasSubstr("-----BEGIN PUBLIC KEY-----"));
  // The signed hash is the chain's at position 30.
  grpc::ClientContext verify_context;
  v1::VerifyChainRequest to_30;
  to_30.set_to_position(30);
  v1::VerifyChainResponse chain;
  ASSERT_TRUE(event_log->VerifyChain(&verify_context, to_30, &chain).ok());
  EXPECT_EQ(head["head_hash"], chain.head_hash());
  // Fetched again (newest; at position 30): the same signed head.
  const ProgramResult fetched = cli({"signed-head", "--position", "30"}, "get");
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(nlohmann::json::parse(fetched.out), head);

  append(30, 40);
  const std::string backup_dir = dir.path() + "/backup";
  const ProgramResult backup =
      cli({"backup", "--to", backup_dir}, "backup");
  ASSERT_EQ(backup.exit_code, 0) << backup.err;

  auto verify_offline = [&](const std::string& backup_path,
                            const std::string& head_path,
                            const std::string& key_path,
                            const std::string& name) {
    // No --server: no server is involved.
    return RunProgram({CASELINE_PATH, "verify", "--offline", "--backup",
                       backup_path, "--signed-head", head_path,
                       "--public-key", key_path},
                      dir.path() + "/offline-" + name);
  };
  const ProgramResult accepted =
      verify_offline(backup_dir, head_file, public_key, "honest");
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  const nlohmann::json report = nlohmann::json::parse(accepted.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["signed_position"], "30");
  EXPECT_EQ(report["backup_head_position"], "40");
  EXPECT_EQ(report["events_checked"], "40");

  // One byte of event 17's payload changed through RocksDB (every checksum
  // passes): rejected at 17.
  const std::string changed = dir.path() + "/changed";
  fs::copy(backup_dir, changed, fs::copy_options::recursive);
  ASSERT_TRUE(caseline::testing::RewriteEventForTest(
                  changed, 17,
                  [](std::string& value) {
                    const size_t at = value.find("-end");
                    ASSERT_NE(at, std::string::npos);
                    value[at + 1] = 'E';
                  })
                  .ok());
  const ProgramResult byte_changed =
      verify_offline(changed, head_file, public_key, "changed");
  EXPECT_EQ(byte_changed.exit_code, 3) << byte_changed.err;
  EXPECT_THAT(byte_changed.err,
              AllOf(HasSubstr("rejected: at position 17"),
                    HasSubstr("hashes to")));
  EXPECT_EQ(nlohmann::json::parse(byte_changed.out)["first_bad_position"],
            "17");

  // Event 23 removed: rejected at 23.
  const std::string removed = dir.path() + "/removed";
  fs::copy(backup_dir, removed, fs::copy_options::recursive);
  ASSERT_TRUE(caseline::testing::DeleteEventForTest(removed, 23).ok());
  const ProgramResult event_removed =
      verify_offline(removed, head_file, public_key, "removed");
  EXPECT_EQ(event_removed.exit_code, 3) << event_removed.err;
  EXPECT_THAT(event_removed.err,
              AllOf(HasSubstr("rejected: at position 23"), HasSubstr("gap")));

  // A signed head edited to claim another position: its signature fails.
  nlohmann::json edited = head;
  edited["position"] = "29";
  const std::string edited_file = dir.path() + "/edited.json";
  std::ofstream(edited_file) << edited.dump();
  const ProgramResult forged =
      verify_offline(backup_dir, edited_file, public_key, "forged");
  EXPECT_EQ(forged.exit_code, 3);
  EXPECT_THAT(forged.err, HasSubstr("signature does not verify"));

  // Another key's public key: rejected, naming both key ids.
  const std::string other_key = dir.path() + "/other.pem";
  WritePrivateKey("ED25519", other_key);
  const std::string other_public = dir.path() + "/other-public.pem";
  {
    EVP_PKEY* pkey = nullptr;
    FILE* in = std::fopen(other_key.c_str(), "r");
    ASSERT_NE(in, nullptr);
    pkey = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
    std::fclose(in);
    ASSERT_NE(pkey, nullptr);
    FILE* out = std::fopen(other_public.c_str(), "w");
    PEM_write_PUBKEY(out, pkey);
    std::fclose(out);
    EVP_PKEY_free(pkey);
  }
  const ProgramResult wrong_key =
      verify_offline(backup_dir, head_file, other_public, "other");
  EXPECT_EQ(wrong_key.exit_code, 3);
  EXPECT_THAT(wrong_key.err, HasSubstr("not by the given public key"));

  // Unusable input: exit code 1.
  EXPECT_EQ(verify_offline(dir.path() + "/nowhere", head_file, public_key,
                           "nowhere")
                .exit_code,
            1);
  EXPECT_EQ(
      verify_offline(backup_dir, public_key, public_key, "not-json").exit_code,
      1);
  EXPECT_EQ(
      verify_offline(backup_dir, head_file, key, "private-key").exit_code, 1);

  // Restarted with the key: the head moved past the last signed head, so it
  // is signed at start-up; then every interval once the head moves again.
  server->Stop();
  server.reset();
  ServerProcess restarted(data_dir, {"--signing_key=" + key,
                                     "--sign_head_interval=1s"});
  address = restarted.Start();
  ASSERT_FALSE(address.empty());
  // The newest signed head, once it is at `position` (up to 20 s).
  const auto newest_at = [&](const std::string& position) {
    ProgramResult newest;
    for (int i = 0; i < 400; ++i) {
      newest = cli({"signed-head"}, "newest");
      if (newest.exit_code == 0 &&
          nlohmann::json::parse(newest.out)["position"] == position) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(newest.exit_code, 0) << newest.err;
    return newest.exit_code == 0
               ? nlohmann::json::parse(newest.out)["position"]
                     .get<std::string>()
               : std::string();
  };
  EXPECT_EQ(newest_at("40"), "40");
  event_log = v1::EventLog::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  append(40, 42);
  EXPECT_EQ(newest_at("42"), "42");
  restarted.Stop();

  // Without a key: heads kept are still served; no key to print.
  ServerProcess keyless(data_dir);
  address = keyless.Start();
  ASSERT_FALSE(address.empty());
  EXPECT_EQ(cli({"signed-head"}, "keyless").exit_code, 0);
  const ProgramResult no_key = cli({"signing-key"}, "no-key");
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_THAT(no_key.err, AllOf(HasSubstr("FAILED_PRECONDITION"),
                                HasSubstr("without --signing_key")));
  keyless.Stop();

  // A key that is not Ed25519 is refused at start-up, without quoting it.
  const std::string ec_key = dir.path() + "/ec.pem";
  WritePrivateKey("EC", ec_key);
  const ProgramResult refused = RunCaselined(
      {"--data_dir=" + dir.path() + "/never", "--signing_key=" + ec_key},
      dir.path() + "/ec");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, AllOf(HasSubstr("--signing_key"),
                                 HasSubstr("EC, not Ed25519")));
  EXPECT_THAT(refused.err, ::testing::Not(HasSubstr("PRIVATE KEY")));
  const ProgramResult unreadable = RunCaselined(
      {"--data_dir=" + dir.path() + "/never",
       "--signing_key=" + dir.path() + "/missing.pem"},
      dir.path() + "/missing");
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_THAT(unreadable.err, HasSubstr("cannot read --signing_key file"));
}

}  // namespace
}  // namespace caseline
