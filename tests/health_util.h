// grpc.health.v1.Health checks and the reflection service's list of services,
// over a generic stub: Debian ships neither proto, so the few messages are
// encoded by hand (field numbers from grpc/health/v1/health.proto and
// grpc/reflection/v1alpha/reflection.proto).
#ifndef CASELINE_TESTS_HEALTH_UTIL_H_
#define CASELINE_TESTS_HEALTH_UTIL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace caseline::testing {

// HealthCheckResponse.ServingStatus.
enum class Serving { kUnknown = 0, kServing = 1, kNotServing = 2 };

inline grpc::ByteBuffer BytesBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

inline std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return "";
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

// Sends `request` as the only message of a call of `method`, half-closes,
// and returns the call's status, with the first response message (if any) in
// *response. The server must end the call by itself.
inline grpc::Status CallWithBytes(const std::shared_ptr<grpc::Channel>& channel,
                                  const std::string& method,
                                  const std::string& request,
                                  std::string* response = nullptr) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  auto call = stub.PrepareCall(&context, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  if (ok) {
    call->Write(BytesBuffer(request), reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
  }
  if (ok) {
    call->WritesDone(reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
  }
  grpc::ByteBuffer first;
  call->Read(&first, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  if (ok && response != nullptr) *response = BufferBytes(first);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

// grpc.health.v1.Health/Check of `service` ("" for the server): the serving
// status, or the call's error (NOT_FOUND for a service the server does not
// report on).
inline grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service, Serving* serving) {
  std::string request;
  if (!service.empty()) {  // HealthCheckRequest.service = 1
    request =
        std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  }
  std::string response;
  grpc::Status status = CallWithBytes(channel, "/grpc.health.v1.Health/Check",
                                      request, &response);
  *serving = Serving::kUnknown;
  if (response == std::string("\x08\x01", 2)) *serving = Serving::kServing;
  if (response == std::string("\x08\x02", 2)) *serving = Serving::kNotServing;
  return status;
}

// The services the server lists through reflection
// (ServerReflectionRequest.list_services = 7;
// ServerReflectionResponse.list_services_response = 6, whose
// ListServiceResponse.service = 1 holds ServiceResponse.name = 1).
inline std::vector<std::string> ListedServices(
    const std::shared_ptr<grpc::Channel>& channel) {
  std::string response;
  const grpc::Status status = CallWithBytes(
      channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      std::string("\x3a\x00", 2), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> names;
  google::protobuf::UnknownFieldSet top;
  if (!top.ParseFromString(response)) return names;
  for (int i = 0; i < top.field_count(); ++i) {
    if (top.field(i).number() != 6) continue;
    google::protobuf::UnknownFieldSet list;
    if (!list.ParseFromString(top.field(i).length_delimited())) continue;
    for (int j = 0; j < list.field_count(); ++j) {
      if (list.field(j).number() != 1) continue;
      google::protobuf::UnknownFieldSet service;
      if (!service.ParseFromString(list.field(j).length_delimited())) continue;
      for (int k = 0; k < service.field_count(); ++k) {
        if (service.field(k).number() == 1) {
          names.push_back(service.field(k).length_delimited());
        }
      }
    }
  }
  return names;
}

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_HEALTH_UTIL_H_
