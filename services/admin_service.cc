#include "services/admin_service.h"

#include <string>

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

}  // namespace caseline::services
