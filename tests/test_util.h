// Helpers shared by the end-to-end tests: scratch directories, a server on a
// loopback port, and events.
#ifndef CASELINE_TESTS_TEST_UTIL_H_
#define CASELINE_TESTS_TEST_UTIL_H_

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "care/command_catalog.h"
#include "care/proto_time.h"
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

// The command of care::CommandCatalog whose request is of `type`; null for
// any other message.
inline const care::CommandSpec* CommandForRequest(
    const google::protobuf::Descriptor* type) {
  for (const care::CommandSpec& spec : care::CommandCatalog::Get().commands()) {
    if (spec.method->input_type() == type) return &spec;
  }
  return nullptr;
}

// Sends `request`, a request of care_record.proto, to its rpc (from
// care::CommandCatalog) exactly as given, as organisation `org` and person
// `user` (request metadata; none when empty), and returns the server's
// status; `result` (optional) gets the CommandResult when it is OK.
inline grpc::Status SendCommandRequest(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& org,
    const std::string& user, const google::protobuf::Message& request,
    v1::CommandResult* result,
    std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const care::CommandSpec* command = CommandForRequest(request.GetDescriptor());
  if (command == nullptr) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("test: ", request.GetTypeName(),
                                     " is not a command request"));
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!org.empty()) context.AddMetadata("x-caseline-org", org);
  if (!user.empty()) context.AddMetadata("x-caseline-user", user);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  auto call =
      stub.PrepareUnaryCall(&context, command->path, request_buffer, &queue);
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

// Sends the care-record command for `event` (care::NewCommandRequest) about
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
  care::CommandFields fields;
  fields.command_id = command_id;
  fields.client_id = client_id;
  if (occurred_at != nullptr) fields.occurred_at = care::ToTime(*occurred_at);
  fields.event = event;
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
      care::NewCommandRequest(fields);
  if (!request.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "test: no command records this event");
  }
  return SendCommandRequest(channel, org, user, **request, result);
}

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_TEST_UTIL_H_
