// Requests whose bytes do not parse as the method's request message.
//
// gRPC parses a request before any handler runs. When the bytes do not parse
// it answers by itself, with no message: INTERNAL for synchronous handlers,
// UNIMPLEMENTED for callback ones (EventLog.Append). The interceptor made
// here turns either into INVALID_ARGUMENT "request is not a valid
// caseline.v1.<RequestType> message", for every method of every service.
// The care-record command services (services/care_record_service.h) take
// their requests as bytes and parse them in the handler, answering the same
// UnparsedRequestError themselves.
//
// libprotobuf also logs an error line for some such requests (a string field
// that is not UTF-8); the server filters that line (server/server.cc), since
// the caller now gets the error instead.
#ifndef CASELINE_SERVICES_UNPARSED_REQUEST_H_
#define CASELINE_SERVICES_UNPARSED_REQUEST_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/server_interceptor.h"

namespace caseline::services {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators(). The
// interceptor touches only calls whose request did not parse.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewUnparsedRequestInterceptorFactory();

// The answer to a request of `method` (a gRPC path, e.g.
// "/caseline.v1.EventLog/Append") that did not parse: INVALID_ARGUMENT
// naming the method's request type, found in the generated descriptor pool;
// OK when the method is not in that pool (gRPC's answer then stands).
absl::Status UnparsedRequestError(absl::string_view method);

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_UNPARSED_REQUEST_H_
