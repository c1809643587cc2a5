// Helpers shared by the end-to-end tests: scratch directories, a server on a
// loopback port, and events.
#ifndef CASELINE_TESTS_TEST_UTIL_H_
#define CASELINE_TESTS_TEST_UTIL_H_

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"

namespace caseline::testing {

// True in ASan/UBSan and TSan builds, which run ten to fifty times slower:
// randomised tests scale their counts down by it (docs/testing.md).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif

// A fresh directory under the test temp dir, removed on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::path(::testing::TempDir()) /
              absl::StrCat(name, "_", getpid(), "_", counter_++)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// A caselined on a free loopback port over `data_dir`; `configure` may set
// more options (TLS, access config, clock).
inline absl::StatusOr<std::unique_ptr<server::CaselineServer>>
StartLoopbackServer(
    const std::string& data_dir,
    const std::function<void(server::ServerOptions&)>& configure = {}) {
  server::ServerOptions options;
  options.data_dir = data_dir;
  options.listen = "127.0.0.1:0";
  if (configure) configure(options);
  return server::CaselineServer::Start(std::move(options));
}

// A caselined on a free loopback port over its own scratch directory, with a
// channel and an EventLog stub to it. Check ok() (or ASSERT it) before use.
class LoopbackServer {
 public:
  explicit LoopbackServer(const std::string& name) : dir_(name) {
    auto started = StartLoopbackServer(dir_.path());
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return;
    server_ = *std::move(started);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    log_ = v1::EventLog::NewStub(channel_);
  }

  bool ok() const { return server_ != nullptr; }
  std::string data_dir() const { return dir_.path(); }
  server::CaselineServer& server() { return *server_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::EventLog::Stub* log() { return log_.get(); }

  // Every event whose type starts with `type_prefix`, in global order.
  std::vector<v1::Event> ReadAll(const std::string& type_prefix = "") {
    std::vector<v1::Event> out;
    v1::ReadAllRequest request;
    request.set_max_count(1000);
    request.mutable_filter()->set_event_type_prefix(type_prefix);
    while (true) {
      grpc::ClientContext context;
      v1::ReadAllResponse page;
      const grpc::Status status = log_->ReadAll(&context, request, &page);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) return out;
      for (const v1::Event& e : page.events()) out.push_back(e);
      if (page.end_of_log()) return out;
      request.set_from_position(page.next_position());
    }
  }

  // The stream's events, oldest first; empty (and no failure) if it has none.
  std::vector<v1::Event> ReadStream(const std::string& stream_id) {
    std::vector<v1::Event> out;
    v1::ReadStreamRequest request;
    request.set_stream_id(stream_id);
    request.set_max_count(1000);
    while (true) {
      grpc::ClientContext context;
      v1::ReadStreamResponse page;
      const grpc::Status status = log_->ReadStream(&context, request, &page);
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) return out;
      EXPECT_TRUE(status.ok()) << stream_id << ": " << status.error_message();
      if (!status.ok()) return out;
      for (const v1::Event& e : page.events()) out.push_back(e);
      if (page.end_of_stream()) return out;
      request.set_from_version(page.next_version());
    }
  }

  // The log's head position (0 when empty).
  uint64_t Head() {
    v1::ReadAllRequest request;
    request.set_direction(v1::BACKWARD);
    request.set_max_count(1);
    grpc::ClientContext context;
    v1::ReadAllResponse page;
    const grpc::Status status = log_->ReadAll(&context, request, &page);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return page.head_position();
  }

 private:
  ScratchDir dir_;
  std::unique_ptr<server::CaselineServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventLog::Stub> log_;
};

inline v1::EventData JsonEvent(const std::string& type,
                               const std::string& json) {
  v1::EventData e;
  e.set_event_type(type);
  e.set_content_type("application/json");
  e.set_payload(json);
  return e;
}

// Every event of the log at `stub`, in order.
inline std::vector<v1::Event> ReadWholeLog(v1::EventLog::Stub* stub) {
  std::vector<v1::Event> events;
  v1::ReadAllRequest request;
  request.set_max_count(1000);
  while (true) {
    grpc::ClientContext context;
    v1::ReadAllResponse page;
    const grpc::Status s = stub->ReadAll(&context, request, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return events;
    for (const v1::Event& e : page.events()) events.push_back(e);
    if (page.end_of_log()) return events;
    request.set_from_position(page.next_position());
  }
}

// The care-record command that proposes `event` (e.g. SendReferral for a
// ReferralSent), found from care_record.proto's descriptors: the method whose
// request carries the event's message type as field 4. Null when none does
// (RecordAccessed, BreakGlassReviewed, an empty event).
inline const google::protobuf::MethodDescriptor* CareCommandFor(
    const v1::CareEvent& event) {
  static const auto* const kByEventType = [] {
    auto* by_type = new std::map<const google::protobuf::Descriptor*,
                                 const google::protobuf::MethodDescriptor*>;
    const google::protobuf::FileDescriptor* file =
        v1::CommandResult::descriptor()->file();
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const google::protobuf::FieldDescriptor* field =
            service->method(m)->input_type()->FindFieldByNumber(4);
        if (field != nullptr && field->message_type() != nullptr) {
          (*by_type)[field->message_type()] = service->method(m);
        }
      }
    }
    return by_type;
  }();
  const google::protobuf::FieldDescriptor* field =
      event.GetReflection()->GetOneofFieldDescriptor(
          event, v1::CareEvent::descriptor()->FindOneofByName("event"));
  if (field == nullptr) return nullptr;
  auto it = kByEventType->find(field->message_type());
  return it == kByEventType->end() ? nullptr : it->second;
}

// Sends the care-record command for `event` (CareCommandFor) about
// `client_id` (ignored by the Organizations commands) as organisation `org`
// and person `user` (request metadata; none when empty), at business time
// `occurred_at` (null: the server's now), and returns the server's status;
// `result` gets the CommandResult when it is OK.
inline grpc::Status SendCareEvent(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& org,
    const std::string& user, const std::string& command_id,
    const std::string& client_id, const v1::CareEvent& event,
    v1::CommandResult* result,
    const google::protobuf::Timestamp* occurred_at = nullptr) {
  const google::protobuf::MethodDescriptor* method = CareCommandFor(event);
  if (method == nullptr) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "test: no command records this event");
  }
  const google::protobuf::Descriptor* input = method->input_type();
  std::unique_ptr<google::protobuf::Message> request(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(input)
          ->New());
  const google::protobuf::Reflection* reflection = request->GetReflection();
  reflection->SetString(request.get(), input->FindFieldByName("command_id"),
                        command_id);
  if (const auto* field = input->FindFieldByName("client_id")) {
    reflection->SetString(request.get(), field, client_id);
  }
  if (occurred_at != nullptr) {
    reflection
        ->MutableMessage(request.get(), input->FindFieldByName("occurred_at"))
        ->CopyFrom(*occurred_at);
  }
  const google::protobuf::FieldDescriptor* event_field =
      event.GetReflection()->GetOneofFieldDescriptor(
          event, v1::CareEvent::descriptor()->FindOneofByName("event"));
  reflection->MutableMessage(request.get(), input->FindFieldByNumber(4))
      ->CopyFrom(event.GetReflection()->GetMessage(event, event_field));

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  if (!org.empty()) context.AddMetadata("x-caseline-org", org);
  if (!user.empty()) context.AddMetadata("x-caseline-user", user);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  const std::string bytes = request->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(
      &context,
      absl::StrCat("/", method->service()->full_name(), "/", method->name()),
      request_buffer, &queue);
  call->StartCall();
  call->Finish(&response_buffer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!queue.Next(&tag, &ok) || !ok) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "test: the call did not complete");
  }
  if (status.ok() && result != nullptr) {
    std::vector<grpc::Slice> slices;
    std::string out;
    if (response_buffer.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        out.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    if (!result->ParseFromString(out)) {
      return grpc::Status(grpc::StatusCode::DATA_LOSS,
                          "test: the CommandResult does not parse");
    }
  }
  return status;
}

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_TEST_UTIL_H_
