// The single place where absl::Status becomes grpc::Status. The codes are the
// same google.rpc codes; the message passes through unchanged.
#ifndef CASELINE_SERVICES_GRPC_STATUS_H_
#define CASELINE_SERVICES_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace caseline::services {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_GRPC_STATUS_H_
