#include "tools/cli_signed_heads.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/read_file.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "tools/cli_common.h"
#include "tools/cli_json.h"

namespace caseline::tools {
namespace {

// Writes `text` to `file`, or to stdout when `file` is empty.
int Output(const std::string& file, const std::string& text) {
  if (file.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return BadInput(absl::StrCat("cannot write --out file ", file));
  return 0;
}

// 64 lowercase hex digits as 32 bytes.
bool ParseHex32(const std::string& hex, eventstore::Hash* out) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  std::copy(bytes.begin(), bytes.end(), out->begin());
  return true;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

}  // namespace

int RunSignedHead(const std::shared_ptr<grpc::Channel>& channel,
                  const ConnectionOptions& connection, bool sign,
                  uint64_t position, const std::string& out_file) {
  auto admin = v1::Admin::NewStub(channel);
  grpc::ClientContext context;
  PrepareContext(connection, &context);
  v1::SignedHead head;
  grpc::Status status;
  if (sign) {
    status = admin->SignHead(&context, v1::SignHeadRequest(), &head);
  } else {
    v1::GetSignedHeadRequest request;
    request.set_position(position);
    status = admin->GetSignedHead(&context, request, &head);
  }
  if (!status.ok()) return Fail(status);
  return Output(out_file, MessageToJson(head) + "\n");
}

int RunSigningKey(const std::shared_ptr<grpc::Channel>& channel,
                  const ConnectionOptions& connection,
                  const std::string& out_file) {
  grpc::ClientContext context;
  PrepareContext(connection, &context);
  v1::SigningKey key;
  grpc::Status status = v1::Admin::NewStub(channel)->GetSigningKey(
      &context, v1::GetSigningKeyRequest(), &key);
  if (!status.ok()) return Fail(status);
  std::cerr << "caseline: key id " << key.key_id() << "\n";
  return Output(out_file, key.public_key_pem());
}

absl::StatusOr<eventstore::SignedHead> ParseSignedHeadJson(
    const std::string& json) {
  v1::SignedHead message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed =
          google::protobuf::util::JsonStringToMessage(json, &message, options);
      !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a signed head (caseline.v1.SignedHead in JSON, as `caseline "
        "signed-head` writes it): ",
        parsed.message().as_string()));
  }
  eventstore::SignedHead head;
  head.position = message.position();
  if (head.position == 0) {
    return absl::InvalidArgumentError("position is missing or 0");
  }
  if (!ParseHex32(message.head_hash(), &head.head_hash)) {
    return absl::InvalidArgumentError(
        "head_hash is not 64 lowercase hex digits");
  }
  if (!ParseHex32(message.key_id(), &head.key_id)) {
    return absl::InvalidArgumentError("key_id is not 64 lowercase hex digits");
  }
  if (message.signature().size() != eventstore::kSignatureSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature is ", message.signature().size(),
                     " bytes; an Ed25519 signature is 64"));
  }
  head.signature = message.signature();
  if (!message.has_signed_at() || message.signed_at().nanos() % 1000 != 0) {
    return absl::InvalidArgumentError(
        "signed_at is missing or not in whole microseconds");
  }
  head.signed_at = absl::FromUnixSeconds(message.signed_at().seconds()) +
                   absl::Nanoseconds(message.signed_at().nanos());
  return head;
}

int RunVerifyOffline(const std::string& backup_dir,
                     const std::string& signed_head_file,
                     const std::string& public_key_file) {
  absl::StatusOr<std::string> signed_head_json =
      ReadFileNamedBy("--signed-head", signed_head_file);
  if (!signed_head_json.ok()) {
    return BadInput(std::string(signed_head_json.status().message()));
  }
  absl::StatusOr<eventstore::SignedHead> head =
      ParseSignedHeadJson(*signed_head_json);
  if (!head.ok()) {
    return BadInput(absl::StrCat("--signed-head file ", signed_head_file, ": ",
                                 head.status().message()));
  }
  absl::StatusOr<std::string> public_pem =
      ReadFileNamedBy("--public-key", public_key_file);
  if (!public_pem.ok()) {
    return BadInput(std::string(public_pem.status().message()));
  }
  absl::StatusOr<std::unique_ptr<eventstore::HeadVerifier>> verifier =
      eventstore::HeadVerifier::FromPublicKeyPem(*public_pem);
  if (!verifier.ok()) {
    return BadInput(absl::StrCat("--public-key file ", public_key_file, ": ",
                                 verifier.status().message()));
  }
  const std::string dir =
      std::filesystem::absolute(backup_dir).lexically_normal().string();
  absl::StatusOr<eventstore::OfflineVerification> report =
      eventstore::VerifyLogAgainstSignedHead(dir, *head, **verifier);
  if (!report.ok()) {
    return BadInput(
        absl::StrCat("--backup ", dir, ": ",
                     absl::StatusCodeToString(report.status().code()), ": ",
                     report.status().message()));
  }
  // 64-bit numbers as strings, as the rest of the CLI prints them.
  nlohmann::ordered_json line = {
      {"ok", report->ok},
      {"backup", dir},
      {"signed_position", std::to_string(head->position)},
      {"signed_head_hash", eventstore::HashToHex(head->head_hash)},
      {"signed_at", Rfc3339(head->signed_at)},
      {"key_id", eventstore::KeyIdToHex(head->key_id)},
      {"backup_head_position", std::to_string(report->log_head_position)},
      {"events_checked", std::to_string(report->events_checked)}};
  if (!report->ok) {
    line["first_bad_position"] = std::to_string(report->first_bad_position);
    line["problem"] = report->problem;
  }
  std::cout << line.dump() << "\n";
  if (!report->ok) {
    std::cerr << "caseline: rejected: "
              << (report->first_bad_position == 0
                      ? std::string("")
                      : absl::StrCat("at position ", report->first_bad_position,
                                     ": "))
              << report->problem << "\n";
    return kCliExitChainBroken;
  }
  return 0;
}

}  // namespace caseline::tools
