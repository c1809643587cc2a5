// Helpers shared by the end-to-end tests: scratch directories and events.
#ifndef CASELINE_TESTS_TEST_UTIL_H_
#define CASELINE_TESTS_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "caseline/v1/event_log.pb.h"
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

// A caselined on a free loopback port over `data_dir`.
inline absl::StatusOr<std::unique_ptr<server::CaselineServer>>
StartLoopbackServer(const std::string& data_dir) {
  server::ServerOptions options;
  options.data_dir = data_dir;
  options.listen = "127.0.0.1:0";
  return server::CaselineServer::Start(std::move(options));
}

inline v1::EventData JsonEvent(const std::string& type,
                               const std::string& json) {
  v1::EventData e;
  e.set_event_type(type);
  e.set_content_type("application/json");
  e.set_payload(json);
  return e;
}

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_TEST_UTIL_H_
