// caseline.v1.Admin over gRPC (proto/caseline/v1/admin.proto): backups of the
// event log and signing its head, for the admin role (and development mode's
// local operator); the signed heads and the public key, for every
// authenticated caller. Converts messages and statuses; EventLog::Backup,
// SignHead and GetSignedHead do the work.
#ifndef CASELINE_SERVICES_ADMIN_SERVICE_H_
#define CASELINE_SERVICES_ADMIN_SERVICE_H_

#include "caseline/v1/admin.grpc.pb.h"
#include "eventstore/event_log.h"
#include "services/access_control.h"

namespace caseline::services {

class AdminService final : public v1::Admin::Service {
 public:
  // `log`, `access` and `signer` are not owned and must outlive the
  // service. `signer` is null when the server has no signing key.
  AdminService(eventstore::EventLog* log, AccessControl* access,
               const eventstore::HeadSigner* signer = nullptr)
      : log_(log), access_(access), signer_(signer) {}

  // Blocks one gRPC thread for the backup's duration (a flush, links or
  // copies, and a read of the whole log to verify it). Logs each backup made.
  grpc::Status Backup(grpc::ServerContext* context,
                      const v1::BackupRequest* request,
                      v1::BackupResponse* response) override;
  // Logs each head signed on request.
  grpc::Status SignHead(grpc::ServerContext* context,
                        const v1::SignHeadRequest* request,
                        v1::SignedHead* response) override;
  grpc::Status GetSignedHead(grpc::ServerContext* context,
                             const v1::GetSignedHeadRequest* request,
                             v1::SignedHead* response) override;
  grpc::Status GetSigningKey(grpc::ServerContext* context,
                             const v1::GetSigningKeyRequest* request,
                             v1::SigningKey* response) override;

 private:
  eventstore::EventLog* const log_;
  AccessControl* const access_;
  const eventstore::HeadSigner* const signer_;
};

// `head` as the SignedHead message.
void SignedHeadToProto(const eventstore::SignedHead& head,
                       v1::SignedHead* out);

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_ADMIN_SERVICE_H_
