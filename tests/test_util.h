// Helpers shared by the end-to-end tests: scratch directories, a server on a
// loopback port, and events.
#ifndef CASELINE_TESTS_TEST_UTIL_H_
#define CASELINE_TESTS_TEST_UTIL_H_

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"

namespace caseline::testing {

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

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_TEST_UTIL_H_
