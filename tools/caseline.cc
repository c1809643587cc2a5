// caseline: command-line client for caselined. See `caseline --help`.
// Prints JSON lines on stdout; errors go to stderr with a non-zero exit code:
// 1 bad input, 2 the server refused or failed the call, 3 the chain did not
// verify (or `verify --offline` rejected the backup). `demo` prints its progress on stderr and one summary line on stdout.
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/cli_command.h"
#include "tools/cli_connection.h"
#include "tools/cli_common.h"
#include "tools/cli_json.h"
#include "tools/cli_signed_heads.h"
#include "tools/cli_views.h"
#include "tools/demo/demo.h"

namespace {

using caseline::v1::EventLog;

using caseline::tools::BadInput;
using caseline::tools::Fail;
using caseline::tools::kCliExitBadInput;
using caseline::tools::kCliExitCallFailed;
using caseline::tools::kCliExitChainBroken;

struct Globals {
  caseline::tools::ConnectionOptions connection;
  std::shared_ptr<grpc::Channel> channel;  // opened once the flags are parsed
};

std::unique_ptr<EventLog::Stub> Connect(const Globals& globals) {
  return EventLog::NewStub(globals.channel);
}

void SetDeadline(grpc::ClientContext* context, const Globals& globals) {
  caseline::tools::PrepareContext(globals.connection, context);
}

// Reads `file`, or standard input for "-", into `text`.
bool ReadInput(const std::string& file, std::string* text) {
  if (file == "-") {
    text->assign(std::istreambuf_iterator<char>(std::cin), {});
    return true;
  }
  std::ifstream in(file);
  if (!in) return false;
  text->assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

// --- append ---------------------------------------------------------------

struct AppendArgs {
  std::string stream;
  std::string expected = "any";
  std::string file = "-";
};

int RunAppend(const Globals& globals, const AppendArgs& args) {
  caseline::v1::AppendRequest request;
  request.set_stream_id(args.stream);
  uint64_t exact = 0;
  if (args.expected == "any") {
    request.mutable_any();
  } else if (args.expected == "no-stream") {
    request.mutable_no_stream();
  } else if (args.expected == "exists") {
    request.mutable_stream_exists();
  } else if (absl::SimpleAtoi(args.expected, &exact)) {
    request.set_exact(exact);
  } else {
    return BadInput(
        absl::StrCat("--expected-version \"", args.expected,
                     "\": use any, no-stream, exists or a version number"));
  }
  std::string text;
  if (!ReadInput(args.file, &text))
    return BadInput(absl::StrCat("cannot read --file ", args.file));
  absl::StatusOr<std::vector<caseline::v1::EventData>> events =
      caseline::tools::ParseEvents(text);
  if (!events.ok()) return BadInput(events.status().message());
  for (auto& e : *events) *request.add_events() = std::move(e);

  grpc::ClientContext context;
  SetDeadline(&context, globals);
  caseline::v1::AppendResponse response;
  grpc::Status status = Connect(globals)->Append(&context, request, &response);
  if (!status.ok()) return Fail(status);
  std::cout << caseline::tools::MessageToJson(response) << "\n";
  return 0;
}

// --- reads ----------------------------------------------------------------

struct ReadArgs {
  std::string stream;
  std::optional<uint64_t> from;
  bool backward = false;
  uint32_t page_size = 100;
  uint64_t limit = 0;  // 0: everything
  std::string type_prefix;
  std::string stream_prefix;
};

int RunReadStream(const Globals& globals, const ReadArgs& args) {
  auto stub = Connect(globals);
  caseline::v1::ReadStreamRequest request;
  request.set_stream_id(args.stream);
  if (args.from.has_value()) request.set_from_version(*args.from);
  request.set_direction(args.backward ? caseline::v1::BACKWARD
                                      : caseline::v1::FORWARD);
  request.set_max_count(args.page_size);
  uint64_t printed = 0;
  while (true) {
    grpc::ClientContext context;
    SetDeadline(&context, globals);
    caseline::v1::ReadStreamResponse response;
    grpc::Status status = stub->ReadStream(&context, request, &response);
    if (!status.ok()) return Fail(status);
    if (response.withheld().count() > 0) {
      std::cerr << "caseline: " << response.withheld().count()
                << " events withheld: " << response.withheld().reason() << "\n";
    }
    for (const auto& e : response.events()) {
      std::cout << caseline::tools::EventToJson(e) << "\n";
      if (++printed == args.limit) return 0;
    }
    if (response.end_of_stream()) return 0;
    request.set_from_version(response.next_version());
  }
}

int RunReadAll(const Globals& globals, const ReadArgs& args) {
  auto stub = Connect(globals);
  caseline::v1::ReadAllRequest request;
  if (args.from.has_value()) request.set_from_position(*args.from);
  request.set_direction(args.backward ? caseline::v1::BACKWARD
                                      : caseline::v1::FORWARD);
  request.set_max_count(args.page_size);
  request.mutable_filter()->set_event_type_prefix(args.type_prefix);
  request.mutable_filter()->set_stream_id_prefix(args.stream_prefix);
  uint64_t printed = 0;
  while (true) {
    grpc::ClientContext context;
    SetDeadline(&context, globals);
    caseline::v1::ReadAllResponse response;
    grpc::Status status = stub->ReadAll(&context, request, &response);
    if (!status.ok()) return Fail(status);
    for (const auto& e : response.events()) {
      std::cout << caseline::tools::EventToJson(e) << "\n";
      if (++printed == args.limit) return 0;
    }
    if (response.end_of_log()) return 0;
    request.set_from_position(response.next_position());
  }
}

// --- subscribe ------------------------------------------------------------

struct SubscribeArgs {
  std::optional<uint64_t> from;
  std::string type_prefix;
  std::string stream_prefix;
  bool checkpoints = false;
  uint64_t limit = 0;  // 0: follow until interrupted
};

int RunSubscribe(const Globals& globals, const SubscribeArgs& args) {
  caseline::v1::SubscribeRequest request;
  if (args.from.has_value()) {
    request.set_from_position(*args.from);
  } else {
    request.mutable_from_end();
  }
  request.mutable_filter()->set_event_type_prefix(args.type_prefix);
  request.mutable_filter()->set_stream_id_prefix(args.stream_prefix);
  grpc::ClientContext context;
  caseline::tools::PrepareContext(globals.connection, &context,
                                  /*with_deadline=*/false);
  auto reader = Connect(globals)->Subscribe(&context, request);
  caseline::v1::SubscribeResponse message;
  uint64_t printed = 0;
  while (reader->Read(&message)) {
    if (message.has_event()) {
      std::cout << caseline::tools::EventToJson(message.event()) << std::endl;
      if (++printed == args.limit) {
        context.TryCancel();
        break;
      }
    } else if (args.checkpoints) {
      std::cout << caseline::tools::MessageToJson(message) << std::endl;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok() && !(args.limit != 0 && printed == args.limit))
    return Fail(status);
  return 0;
}

// --- verify ---------------------------------------------------------------

int RunVerify(const Globals& globals, uint64_t from, uint64_t to) {
  caseline::v1::VerifyChainRequest request;
  request.set_from_position(from);
  request.set_to_position(to);
  grpc::ClientContext context;
  SetDeadline(&context, globals);
  caseline::v1::VerifyChainResponse response;
  grpc::Status status =
      Connect(globals)->VerifyChain(&context, request, &response);
  if (!status.ok()) return Fail(status);
  std::cout << caseline::tools::MessageToJson(response) << "\n";
  if (!response.ok()) {
    std::cerr << "caseline: the chain does not verify at position "
              << response.first_bad_position() << ": " << response.problem()
              << "\n";
    return kCliExitChainBroken;
  }
  return 0;
}

// --- backup ---------------------------------------------------------------

// A backup reads the whole log to verify it, so without an explicit
// --timeout it may take this long.
constexpr auto kBackupDefaultDeadline = std::chrono::hours(1);

int RunBackup(const Globals& globals, const std::string& directory,
              bool timeout_given) {
  caseline::v1::BackupRequest request;
  request.set_directory(directory);
  grpc::ClientContext context;
  caseline::tools::PrepareContext(globals.connection, &context,
                                  /*with_deadline=*/timeout_given);
  if (!timeout_given) {
    context.set_deadline(std::chrono::system_clock::now() +
                         kBackupDefaultDeadline);
  }
  caseline::v1::BackupResponse response;
  grpc::Status status = caseline::v1::Admin::NewStub(globals.channel)
                            ->Backup(&context, request, &response);
  if (!status.ok()) return Fail(status);
  std::cout << caseline::tools::MessageToJson(response) << "\n";
  if (response.same_filesystem()) {
    std::cerr << "caseline: note: " << response.directory()
              << " is on the server's data filesystem, where its table files "
                 "are hard links to the live log's: copy it to other storage "
                 "to survive a disk failure\n";
  }
  return 0;
}

// --- erase-client, keys rotate ----------------------------------------------

// An erasure flushes and compacts the database; a rotation rewraps every
// data key. Without an explicit --timeout each may take this long.
constexpr auto kKeysDefaultDeadline = std::chrono::minutes(10);

struct EraseArgs {
  std::string client_id;
  std::string legal_basis;
  std::string reason;
};

int RunEraseClient(const Globals& globals, const EraseArgs& args,
                   bool timeout_given) {
  caseline::v1::EraseClientRequest request;
  request.set_client_id(args.client_id);
  request.set_legal_basis(args.legal_basis);
  request.set_reason(args.reason);
  grpc::ClientContext context;
  caseline::tools::PrepareContext(globals.connection, &context,
                                  /*with_deadline=*/timeout_given);
  if (!timeout_given) {
    context.set_deadline(std::chrono::system_clock::now() +
                         kKeysDefaultDeadline);
  }
  caseline::v1::EraseClientResponse response;
  grpc::Status status = caseline::v1::Admin::NewStub(globals.channel)
                            ->EraseClient(&context, request, &response);
  if (!status.ok()) return Fail(status);
  std::cout << caseline::tools::MessageToJson(response) << "\n";
  return 0;
}

int RunRotateKeys(const Globals& globals, bool timeout_given) {
  grpc::ClientContext context;
  caseline::tools::PrepareContext(globals.connection, &context,
                                  /*with_deadline=*/timeout_given);
  if (!timeout_given) {
    context.set_deadline(std::chrono::system_clock::now() +
                         kKeysDefaultDeadline);
  }
  caseline::v1::RotateKeysResponse response;
  grpc::Status status =
      caseline::v1::Admin::NewStub(globals.channel)
          ->RotateKeys(&context, caseline::v1::RotateKeysRequest(), &response);
  if (!status.ok()) return Fail(status);
  std::cout << caseline::tools::MessageToJson(response) << "\n";
  return 0;
}

// --- command ----------------------------------------------------------------

struct CommandArgs {
  std::string method;
  std::string organization;
  std::string user;
  std::string file = "-";
  bool list = false;
};

int RunCommand(const Globals& globals, const CommandArgs& args) {
  if (args.list) {
    for (const std::string& line : caseline::tools::ListCommands())
      std::cout << line << "\n";
    return 0;
  }
  if (args.method.empty()) {
    return BadInput(
        "name a command, e.g. Referrals.SendReferral (--list shows them all)");
  }
  const std::string organization = args.organization.empty()
                                       ? globals.connection.organization
                                       : args.organization;
  if (organization.empty() && !globals.connection.tls()) {
    return BadInput(
        "--org: name the acting organisation (sent as x-caseline-org; with "
        "TLS your certificate names it)");
  }
  std::string text;
  if (!ReadInput(args.file, &text))
    return BadInput(absl::StrCat("cannot read --file ", args.file));
  absl::StatusOr<caseline::tools::PreparedCommand> command =
      caseline::tools::PrepareCommand(args.method, text);
  if (!command.ok()) return BadInput(command.status().message());
  absl::StatusOr<std::string> response = caseline::tools::SendCommand(
      globals.channel, *command,
      globals.connection.tls() ? "" : organization,
      args.user.empty() ? globals.connection.user : args.user,
      absl::Seconds(globals.connection.timeout_seconds));
  if (!response.ok()) {
    return Fail(
        grpc::Status(static_cast<grpc::StatusCode>(response.status().code()),
                     std::string(response.status().message())));
  }
  std::cout << *response << "\n";
  return 0;
}

// --- demo -----------------------------------------------------------------

struct DemoArgs {
  int clients = 1000;
  uint64_t seed = 1;
  int concurrency = 8;
  std::string base_date = "2026-01-05";
};

int RunDemoCommand(const Globals& globals, const DemoArgs& args) {
  caseline::tools::DemoOptions options;
  options.clients = args.clients;
  options.seed = args.seed;
  options.concurrency = args.concurrency;
  if (!absl::ParseCivilTime(args.base_date, &options.base_date)) {
    return BadInput(absl::StrCat("--base-date \"", args.base_date,
                                 "\" is not a date; use YYYY-MM-DD"));
  }
  options.call_timeout = absl::Seconds(globals.connection.timeout_seconds);
  options.progress = [](const std::string& line) { std::cerr << line << "\n"; };
  if (absl::Status valid =
          caseline::tools::ValidateDemoOptions(options, absl::Now());
      !valid.ok()) {
    return BadInput(valid.message());
  }
  if (globals.connection.tls()) {
    return BadInput(
        "demo acts as every organisation of the demo network, so it runs "
        "against a development-mode server (no TLS, no --access_config)");
  }
  std::cerr << "demo: loading the demo care network into "
            << globals.connection.server
            << " (seed " << args.seed << ", base date " << args.base_date
            << ", " << args.clients << " synthetic clients, "
            << args.concurrency << " in flight)\n";
  absl::StatusOr<caseline::tools::DemoSummary> summary =
      caseline::tools::RunDemo(globals.channel, options);
  if (!summary.ok()) {
    std::cerr << "caseline: demo stopped: "
              << absl::StatusCodeToString(summary.status().code()) << ": "
              << summary.status().message() << "\n";
    return kCliExitCallFailed;
  }
  std::cout << caseline::tools::DemoSummaryToJson(*summary) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "caseline: command-line client for the Caseline server (caselined)."};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  Globals globals;
  caseline::tools::AddConnectionFlags(app, &globals.connection);

  AppendArgs append;
  CLI::App* append_cmd = app.add_subcommand(
      "append",
      "Append events to a stream, atomically. Input: one JSON event object, a "
      "JSON array of them, or one per line, e.g. "
      "{\"event_type\":\"ClientRegistered\",\"data\":{...}}");
  append_cmd
      ->add_option("--stream", append.stream, "stream id, e.g. client-4711")
      ->required();
  append_cmd->add_option(
      "--expected-version", append.expected,
      "any, no-stream, exists, or the version of the stream's "
      "last event");
  append_cmd->add_option("--file", append.file,
                         "JSON input file; - reads stdin");

  ReadArgs read_stream;
  CLI::App* read_stream_cmd = app.add_subcommand(
      "read-stream", "Print a stream's events as JSON lines.");
  read_stream_cmd->add_option("--stream", read_stream.stream, "stream id")
      ->required();
  read_stream_cmd->add_option(
      "--from", read_stream.from,
      "first version (default: start, or end with --backward)");
  read_stream_cmd->add_flag("--backward", read_stream.backward, "newest first");
  read_stream_cmd->add_option("--limit", read_stream.limit,
                              "stop after this many events (0: all)");
  read_stream_cmd
      ->add_option("--page-size", read_stream.page_size, "events per request")
      ->check(CLI::Range(1, 1000));

  ReadArgs read_all;
  CLI::App* read_all_cmd = app.add_subcommand(
      "read-all",
      "Print the whole log's events in global order as JSON lines.");
  read_all_cmd->add_option(
      "--from", read_all.from,
      "first global position (default: 1, or head with --backward)");
  read_all_cmd->add_flag("--backward", read_all.backward, "newest first");
  read_all_cmd->add_option("--type-prefix", read_all.type_prefix,
                           "only event types starting with this");
  read_all_cmd->add_option("--stream-prefix", read_all.stream_prefix,
                           "only stream ids starting with this");
  read_all_cmd->add_option("--limit", read_all.limit,
                           "stop after this many events (0: all)");
  read_all_cmd
      ->add_option("--page-size", read_all.page_size, "events per request")
      ->check(CLI::Range(1, 1000));

  SubscribeArgs subscribe;
  CLI::App* subscribe_cmd = app.add_subcommand(
      "subscribe",
      "Follow the log like tail -f: catch up from --from, then print events as "
      "they are committed, until interrupted.");
  subscribe_cmd->add_option("--from", subscribe.from,
                            "first global position (default: only new events)");
  subscribe_cmd->add_option("--type-prefix", subscribe.type_prefix,
                            "only event types starting with this");
  subscribe_cmd->add_option("--stream-prefix", subscribe.stream_prefix,
                            "only stream ids starting with this");
  subscribe_cmd->add_flag("--checkpoints", subscribe.checkpoints,
                          "also print checkpoint and caught_up lines");
  subscribe_cmd->add_option("--limit", subscribe.limit,
                            "exit after this many events (0: follow forever)");

  uint64_t verify_from = 0;
  uint64_t verify_to = 0;
  bool verify_offline = false;
  std::string offline_backup, offline_signed_head, offline_public_key;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify",
      "Recompute the hash chain and print the head position and hash to "
      "publish. Exit code 3 if any event does not verify. With --offline: "
      "no server; check the backup in --backup against the signed head in "
      "--signed-head with the public key in --public-key, and print one JSON "
      "line; exit code 0 accepted, 3 rejected (the first bad position and "
      "why on stderr), 1 unusable input.");
  CLI::Option* from_option = verify_cmd->add_option(
      "--from", verify_from, "first position (0: the first event)");
  CLI::Option* to_option =
      verify_cmd->add_option("--to", verify_to, "last position (0: the head)");
  CLI::Option* offline_option = verify_cmd->add_flag(
      "--offline", verify_offline,
      "check a backup directory on this machine, without a server");
  CLI::Option* backup_option =
      verify_cmd
          ->add_option("--backup", offline_backup,
                       "with --offline: a directory written by `caseline "
                       "backup` (opened read-only)")
          ->needs(offline_option);
  CLI::Option* signed_head_option =
      verify_cmd
          ->add_option("--signed-head", offline_signed_head,
                       "with --offline: a file written by `caseline "
                       "signed-head --out`")
          ->needs(offline_option);
  CLI::Option* public_key_option =
      verify_cmd
          ->add_option("--public-key", offline_public_key,
                       "with --offline: the server's PEM public key, from "
                       "`caseline signing-key --out`")
          ->needs(offline_option);
  offline_option->excludes(from_option)->excludes(to_option);

  bool sign_now = false;
  uint64_t signed_position = 0;
  std::string signed_head_out;
  CLI::App* signed_head_cmd = app.add_subcommand(
      "signed-head",
      "Fetch a signed head of the log (Admin.GetSignedHead), or with --sign "
      "have the server sign its head now (Admin.SignHead, admin only), and "
      "write it as one JSON line: the file to publish and to check backups "
      "against with `caseline verify --offline`.");
  signed_head_cmd->add_flag("--sign", sign_now,
                            "sign the current head now (admin only)");
  signed_head_cmd
      ->add_option("--position", signed_position,
                   "the signed head kept at this position (0: the newest)")
      ->excludes("--sign");
  signed_head_cmd->add_option("--out", signed_head_out,
                              "write to this file instead of stdout");

  std::string signing_key_out;
  CLI::App* signing_key_cmd = app.add_subcommand(
      "signing-key",
      "Print the server's public signing key as PEM (Admin.GetSigningKey); "
      "its key id goes to stderr.");
  signing_key_cmd->add_option("--out", signing_key_out,
                              "write to this file instead of stdout");

  std::string backup_to;
  CLI::App* backup_cmd = app.add_subcommand(
      "backup",
      "Admin: write a consistent backup of the event log into a new directory "
      "on the SERVER'S machine while appends continue; the server verifies "
      "it (table checksums, the whole hash chain) and this prints its "
      "directory, head position and head hash. Restore it with `caselined "
      "--restore_from DIR --data_dir NEW_DIR`. Waits up to an hour unless "
      "--timeout is given.");
  backup_cmd
      ->add_option("--to", backup_to,
                   "a new or empty directory on the server's machine (its "
                   "parent must exist); a relative path is resolved against "
                   "caselined's working directory")
      ->required();

  EraseArgs erase;
  CLI::App* erase_cmd = app.add_subcommand(
      "erase-client",
      "Admin: erase a client by crypto-shredding (Admin.EraseClient): the "
      "server destroys the client's data key everywhere it lives and records "
      "a ClientErased event with the legal basis; afterwards no read yields "
      "the client's earlier payloads (payload_erased), appends to the client "
      "are refused, and `caseline verify` still passes. Prints the erasure's "
      "position and the destroyed key's id. Cannot be undone.");
  erase_cmd->add_option("--client", erase.client_id, "the client id")
      ->required();
  erase_cmd
      ->add_option("--legal-basis", erase.legal_basis,
                   "the legal ground, recorded in the log, e.g. \"GDPR Art. "
                   "17(1)(a)\"")
      ->required();
  erase_cmd->add_option("--reason", erase.reason,
                        "free text, recorded with it");
  CLI::App* keys_cmd = app.add_subcommand(
      "keys", "Admin: the key-encryption key (docs/log_format.md)");
  keys_cmd->require_subcommand(1);
  CLI::App* rotate_cmd = keys_cmd->add_subcommand(
      "rotate",
      "add a new KEK version to the server's --kek_file, make it current and "
      "rewrap every data key under it (Admin.RotateKeys); older versions "
      "stay so that earlier backups remain restorable");

  DemoArgs demo;
  CommandArgs command;
  CLI::App* command_cmd = app.add_subcommand(
      "command",
      "Send one care-record command (e.g. Referrals.SendReferral) as JSON from "
      "--file "
      "or stdin, acting as --org; prints the CommandResult.");
  command_cmd->add_option("method", command.method,
                          "Service.Method, e.g. Clients.RegisterClient");
  command_cmd->add_option("--org", command.organization,
                          "acting organisation id (sent as x-caseline-org)");
  command_cmd->add_option("--user", command.user,
                          "acting user id (sent as x-caseline-user)");
  command_cmd->add_option("--file", command.file,
                          "JSON request file; - reads stdin");
  command_cmd->add_flag("--list", command.list,
                        "list every command and its request type");

  CLI::App* demo_cmd =
      app.add_subcommand("demo",
                         "Load a synthetic care network into the server "
                         "through the care-record command "
                         "services: 13 organisations, the six named scenario "
                         "clients (scenario-reentry, "
                         "scenario-stroke, ...) and --clients synthetic "
                         "clients with consents, plans, "
                         "referrals in every state, care teams and "
                         "transitions. Deterministic for a seed: "
                         "running it again writes nothing new (every command "
                         "is already applied).");
  demo_cmd
      ->add_option("--clients", demo.clients,
                   "synthetic clients, besides the scenario clients")
      ->check(CLI::Range(0, 1000000));
  demo_cmd->add_option("--seed", demo.seed,
                       "random seed of the synthetic clients");
  demo_cmd
      ->add_option("--concurrency", demo.concurrency,
                   "clients loaded in parallel")
      ->check(CLI::Range(1, 256));
  demo_cmd->add_option(
      "--base-date", demo.base_date,
      "the demo's today, YYYY-MM-DD: every business time falls before it");

  std::unique_ptr<caseline::tools::ViewCommands> views =
      caseline::tools::ViewCommands::AddTo(&app);

  CLI11_PARSE(app, argc, argv);
  if (*verify_cmd && verify_offline) {
    for (const CLI::Option* required :
         {backup_option, signed_head_option, public_key_option}) {
      if (required->count() == 0) {
        return BadInput(absl::StrCat("verify --offline needs ",
                                     required->get_name()));
      }
    }
    return caseline::tools::RunVerifyOffline(
        offline_backup, offline_signed_head, offline_public_key);
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      caseline::tools::OpenChannel(globals.connection);
  if (!channel.ok()) return BadInput(channel.status().message());
  globals.channel = *std::move(channel);

  if (*append_cmd) return RunAppend(globals, append);
  if (*read_stream_cmd) return RunReadStream(globals, read_stream);
  if (*read_all_cmd) return RunReadAll(globals, read_all);
  if (*subscribe_cmd) return RunSubscribe(globals, subscribe);
  if (*verify_cmd) return RunVerify(globals, verify_from, verify_to);
  if (*backup_cmd) {
    return RunBackup(globals, backup_to,
                     app.get_option("--timeout")->count() > 0);
  }
  if (*erase_cmd) {
    return RunEraseClient(globals, erase,
                          app.get_option("--timeout")->count() > 0);
  }
  if (*rotate_cmd) {
    return RunRotateKeys(globals, app.get_option("--timeout")->count() > 0);
  }
  if (*signed_head_cmd) {
    return caseline::tools::RunSignedHead(globals.channel, globals.connection,
                                          sign_now, signed_position,
                                          signed_head_out);
  }
  if (*signing_key_cmd) {
    return caseline::tools::RunSigningKey(globals.channel, globals.connection,
                                          signing_key_out);
  }
  if (*command_cmd) return RunCommand(globals, command);
  if (*demo_cmd) return RunDemoCommand(globals, demo);
  if (std::optional<int> code =
          views->RunChosen(globals.connection)) {
    return *code;
  }
  return kCliExitBadInput;
}
