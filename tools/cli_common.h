// What every caseline subcommand shares: exit codes and error reporting.
#ifndef CASELINE_TOOLS_CLI_COMMON_H_
#define CASELINE_TOOLS_CLI_COMMON_H_

#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace caseline::tools {

inline constexpr int kCliExitBadInput = 1;
inline constexpr int kCliExitCallFailed = 2;
inline constexpr int kCliExitChainBroken = 3;

// "caseline: CODE: message" on stderr; returns kCliExitCallFailed.
inline int Fail(const grpc::Status& status) {
  std::cerr << "caseline: "
            << absl::StatusCodeToString(
                   static_cast<absl::StatusCode>(status.error_code()))
            << ": " << status.error_message() << "\n";
  return kCliExitCallFailed;
}

// "caseline: message" on stderr; returns kCliExitBadInput.
inline int BadInput(absl::string_view message) {
  std::cerr << "caseline: " << message << "\n";
  return kCliExitBadInput;
}

}  // namespace caseline::tools

#endif  // CASELINE_TOOLS_CLI_COMMON_H_
