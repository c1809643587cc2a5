#include "services/unparsed_request.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/interceptor.h"
#include "services/grpc_status.h"

namespace caseline::services {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Notes whether the request failed to parse (gRPC then hands interceptors no
// message) and, if so, replaces the status gRPC answers with.
class UnparsedRequestInterceptor final
    : public grpc::experimental::Interceptor {
 public:
  explicit UnparsedRequestInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsed_ = true;
    }
    if (unparsed_ && methods->QueryInterceptionHookPoint(
                         InterceptionHookPoints::PRE_SEND_STATUS)) {
      // The handler never ran: what goes out is gRPC's own answer to the
      // failed parse (or, if the server is out of threads, its
      // RESOURCE_EXHAUSTED, which stands).
      const grpc::StatusCode sent = methods->GetSendStatus().error_code();
      if (sent == grpc::StatusCode::INTERNAL ||
          sent == grpc::StatusCode::UNIMPLEMENTED) {
        if (absl::Status error = UnparsedRequestError(info_->method());
            !error.ok()) {
          methods->ModifySendStatus(ToGrpcStatus(error));
        }
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  bool unparsed_ = false;
};

class UnparsedRequestInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // Only unary and server-streaming calls have their request parsed by
    // gRPC before the handler runs (every caseline.v1 method is one).
    const auto type = info->type();
    if (type != grpc::experimental::ServerRpcInfo::Type::UNARY &&
        type != grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING) {
      return nullptr;
    }
    return new UnparsedRequestInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewUnparsedRequestInterceptorFactory() {
  return std::make_unique<UnparsedRequestInterceptorFactory>();
}

absl::Status UnparsedRequestError(absl::string_view method) {
  // "/caseline.v1.EventLog/Append" -> "caseline.v1.EventLog.Append".
  absl::ConsumePrefix(&method, "/");
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrReplaceAll(method, {{"/", "."}}));
  if (descriptor == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "request is not a valid ", descriptor->input_type()->full_name(),
      " message: its bytes do not parse as one (build it with code generated "
      "from ",
      descriptor->file()->name(), ")"));
}

}  // namespace caseline::services
