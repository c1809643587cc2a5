#include "services/admin_service.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

#include "services/event_conversion.h"
#include "services/grpc_status.h"
#include "spdlog/spdlog.h"

namespace caseline::services {

grpc::Status AdminService::Backup(grpc::ServerContext* context,
                                  const v1::BackupRequest* request,
                                  v1::BackupResponse* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status allowed = RequireRole(*caller, kAdmin, "Admin.Backup");
      !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (request->directory().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "directory is empty: name a new directory on the server's machine "
        "to write the backup into"));
  }
  absl::StatusOr<eventstore::BackupInfo> backup =
      log_->Backup(request->directory());
  if (!backup.ok()) return ToGrpcStatus(backup.status());
  const std::string head_hash = eventstore::HashToHex(backup->head_hash);
  spdlog::info(
      "backup written to {} for {}: head position {}, head hash {}, {} "
      "events verified, {} bytes{}",
      backup->dir,
      caller->local_operator ? std::string("the local operator")
                             : "organisation " + caller->organization_id,
      backup->head_position, head_hash, backup->events_verified,
      backup->bytes,
      backup->same_filesystem
          ? " (on the data directory's filesystem: table files are hard "
            "links)"
          : "");
  response->set_directory(backup->dir);
  response->set_head_position(backup->head_position);
  response->set_head_hash(head_hash);
  response->set_events_verified(backup->events_verified);
  response->set_bytes(backup->bytes);
  ToProto(backup->created_at, response->mutable_created_at());
  response->set_same_filesystem(backup->same_filesystem);
  return grpc::Status::OK;
}

namespace {

constexpr char kNoSigningKey[] =
    "caselined was started without --signing_key, so it signs no heads; "
    "restart it with --signing_key FILE (an Ed25519 private key in PEM, "
    "from `openssl genpkey -algorithm ed25519 -out FILE`)";

}  // namespace

void SignedHeadToProto(const eventstore::SignedHead& head,
                       v1::SignedHead* out) {
  out->set_position(head.position);
  out->set_head_hash(eventstore::HashToHex(head.head_hash));
  ToProto(head.signed_at, out->mutable_signed_at());
  out->set_key_id(eventstore::KeyIdToHex(head.key_id));
  out->set_signature(head.signature);
}

grpc::Status AdminService::SignHead(grpc::ServerContext* context,
                                    const v1::SignHeadRequest* /*request*/,
                                    v1::SignedHead* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status allowed = RequireRole(*caller, kAdmin, "Admin.SignHead");
      !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (signer_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoSigningKey));
  }
  absl::StatusOr<eventstore::SignedHead> head = log_->SignHead(*signer_);
  if (!head.ok()) return ToGrpcStatus(head.status());
  spdlog::info("signed head at position {} (hash {}) with key {} for {}",
               head->position, eventstore::HashToHex(head->head_hash),
               eventstore::KeyIdToHex(head->key_id),
               caller->local_operator
                   ? std::string("the local operator")
                   : "organisation " + caller->organization_id);
  SignedHeadToProto(*head, response);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetSignedHead(
    grpc::ServerContext* context, const v1::GetSignedHeadRequest* request,
    v1::SignedHead* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<std::optional<eventstore::SignedHead>> head =
      log_->GetSignedHead(request->position());
  if (!head.ok()) return ToGrpcStatus(head.status());
  if (!head->has_value()) {
    return ToGrpcStatus(absl::NotFoundError(
        request->position() == 0
            ? std::string("no signed head is kept yet; an admin signs one "
                          "with Admin.SignHead (`caseline signed-head "
                          "--sign`), or caselined signs by itself with "
                          "--signing_key")
            : absl::StrCat("no signed head is kept at position ",
                           request->position(),
                           "; use position 0 for the newest")));
  }
  SignedHeadToProto(**head, response);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetSigningKey(
    grpc::ServerContext* context, const v1::GetSigningKeyRequest* /*request*/,
    v1::SigningKey* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (signer_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoSigningKey));
  }
  response->set_public_key_pem(signer_->public_key_pem());
  response->set_key_id(eventstore::KeyIdToHex(signer_->key_id()));
  return grpc::Status::OK;
}

}  // namespace caseline::services
