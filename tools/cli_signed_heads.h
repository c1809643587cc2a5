// caseline's signed-head commands (docs/log_format.md "Signed heads"):
// `signed-head` and `signing-key` fetch from the server; `verify --offline`
// checks a backup directory against a signed-head file with a public key,
// with no server involved.
#ifndef CASELINE_TOOLS_CLI_SIGNED_HEADS_H_
#define CASELINE_TOOLS_CLI_SIGNED_HEADS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "caseline/v1/admin.pb.h"
#include "eventstore/signed_head.h"
#include "grpcpp/grpcpp.h"
#include "tools/cli_connection.h"

namespace caseline::tools {

// `caseline signed-head`: Admin.SignHead when `sign`, else
// Admin.GetSignedHead(position); writes the SignedHead as one line of proto3
// JSON to `out_file` (created or replaced) or, when empty, stdout.
// Exit codes: 0, 1 (the file cannot be written), 2 (the call failed).
int RunSignedHead(const std::shared_ptr<grpc::Channel>& channel,
                  const ConnectionOptions& connection, bool sign,
                  uint64_t position, const std::string& out_file);

// `caseline signing-key`: Admin.GetSigningKey; writes the PEM public key to
// `out_file` or stdout, and "caseline: key id <hex>" to stderr.
int RunSigningKey(const std::shared_ptr<grpc::Channel>& channel,
                  const ConnectionOptions& connection,
                  const std::string& out_file);

// A signed-head file's JSON (a SignedHead message in proto3 JSON) as the
// log's SignedHead. INVALID_ARGUMENT naming the field when it is malformed:
// not JSON of that message, position 0, a head_hash or key_id that is not
// 64 lowercase hex digits, a signature that is not 64 bytes, or signed_at
// not in whole microseconds.
absl::StatusOr<eventstore::SignedHead> ParseSignedHeadJson(
    const std::string& json);

// `caseline verify --offline`: checks the log directory `backup_dir`
// against the signed head in `signed_head_file` with the PEM public key in
// `public_key_file` (eventstore::VerifyLogAgainstSignedHead). Prints one
// JSON line; exit codes 0 (accepted), 3 (rejected: the first bad position
// and why also go to stderr), 1 (unusable input: a file unreadable or
// malformed, not a log directory).
int RunVerifyOffline(const std::string& backup_dir,
                     const std::string& signed_head_file,
                     const std::string& public_key_file);

}  // namespace caseline::tools

#endif  // CASELINE_TOOLS_CLI_SIGNED_HEADS_H_
