// caseline.v1.Admin over gRPC (proto/caseline/v1/admin.proto): backups of the
// event log, for the admin role (and development mode's local operator).
// Converts messages and statuses; EventLog::Backup does the work.
#ifndef CASELINE_SERVICES_ADMIN_SERVICE_H_
#define CASELINE_SERVICES_ADMIN_SERVICE_H_

#include "caseline/v1/admin.grpc.pb.h"
#include "eventstore/event_log.h"
#include "services/access_control.h"

namespace caseline::services {

class AdminService final : public v1::Admin::Service {
 public:
  // `log` and `access` are not owned and must outlive the service.
  AdminService(eventstore::EventLog* log, AccessControl* access)
      : log_(log), access_(access) {}

  // Blocks one gRPC thread for the backup's duration (a flush, links or
  // copies, and a read of the whole log to verify it). Logs each backup made.
  grpc::Status Backup(grpc::ServerContext* context,
                      const v1::BackupRequest* request,
                      v1::BackupResponse* response) override;

 private:
  eventstore::EventLog* const log_;
  AccessControl* const access_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_ADMIN_SERVICE_H_
