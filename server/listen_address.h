// Where caselined may listen without TLS: on loopback only, decided by the
// addresses the --listen host resolves to, not by how its name is spelt
// ("127.attacker.example" is a name like any other).
#ifndef CASELINE_SERVER_LISTEN_ADDRESS_H_
#define CASELINE_SERVER_LISTEN_ADDRESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace caseline::server {

// The addresses `host` resolves to (getaddrinfo), as text, e.g. "127.0.0.1",
// "::1". `host` is a name, an IPv4 literal, or an IPv6 literal with or
// without brackets. INVALID_ARGUMENT naming --listen when it does not
// resolve. Blocks for the resolver's duration.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ResolveListenHost(
    absl::string_view host);

// Whether `address` (a literal, as ResolveListenHost returns) is a loopback
// address: 127.0.0.0/8, ::1, or an IPv4-mapped 127.0.0.0/8 (::ffff:127.x).
bool IsLoopbackAddress(absl::string_view address);

// OK when every address `host` resolves to is a loopback address;
// INVALID_ARGUMENT naming --listen, the host and the addresses otherwise
// (or when it does not resolve).
//
// gRPC resolves the host again when it binds. A name whose addresses change
// in between could still bind elsewhere, but only to an address of this
// machine; pass an address literal (127.0.0.1, [::1]) to rule that out.
[[nodiscard]] absl::Status CheckLoopbackHost(absl::string_view host);

}  // namespace caseline::server

#endif  // CASELINE_SERVER_LISTEN_ADDRESS_H_
