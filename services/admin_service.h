// caseline.v1.Admin over gRPC (proto/caseline/v1/admin.proto): backups of the
// event log, signing its head, erasing a client and rotating the
// key-encryption key, for the admin role (and development mode's local
// operator); the signed heads and the public key, for every authenticated
// caller. Converts messages and statuses; EventLog::Backup, SignHead,
// GetSignedHead, EraseStream and RewrapDataKeys do the work.
#ifndef CASELINE_SERVICES_ADMIN_SERVICE_H_
#define CASELINE_SERVICES_ADMIN_SERVICE_H_

#include <string>
#include <utility>

#include "caseline/v1/admin.grpc.pb.h"
#include "eventstore/event_log.h"
#include "services/access_control.h"

namespace caseline::services {

class AdminService final : public v1::Admin::Service {
 public:
  // `log`, `access`, `signer` and `kek` are not owned and must outlive the
  // service. `signer` is null when the server has no signing key, `kek`
  // when it encrypts no payloads. `rotation_refused`: when not empty,
  // RotateKeys answers FAILED_PRECONDITION with it and changes nothing
  // (cluster mode: cluster::kKeyRotationRefused).
  AdminService(eventstore::EventLog* log, AccessControl* access,
               const eventstore::HeadSigner* signer = nullptr,
               eventstore::KeyEncryptionKey* kek = nullptr,
               std::string rotation_refused = "")
      : log_(log),
        access_(access),
        signer_(signer),
        kek_(kek),
        rotation_refused_(std::move(rotation_refused)) {}

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
  // Logs each erasure (client id, legal basis, position; never key
  // material). In a cluster, first waits (up to 10 s) until this node holds
  // every write acknowledged anywhere (EventLog::AwaitAcknowledged), so that
  // the disclosures kept in the ClientErased event are all of them.
  grpc::Status EraseClient(grpc::ServerContext* context,
                           const v1::EraseClientRequest* request,
                           v1::EraseClientResponse* response) override;
  // Logs each rotation (KEK version ids only).
  grpc::Status RotateKeys(grpc::ServerContext* context,
                          const v1::RotateKeysRequest* request,
                          v1::RotateKeysResponse* response) override;

 private:
  eventstore::EventLog* const log_;
  AccessControl* const access_;
  const eventstore::HeadSigner* const signer_;
  eventstore::KeyEncryptionKey* const kek_;
  const std::string rotation_refused_;
};

// `head` as the SignedHead message.
void SignedHeadToProto(const eventstore::SignedHead& head,
                       v1::SignedHead* out);

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_ADMIN_SERVICE_H_
