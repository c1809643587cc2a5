#include "server/listen_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace caseline::server {

absl::StatusOr<std::vector<std::string>> ResolveListenHost(
    absl::string_view host) {
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  const std::string name(host);
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "--listen: the host is empty; name one, e.g. 127.0.0.1:50051");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(name.c_str(), nullptr, &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen: cannot resolve ", name, " (", gai_strerror(error), ")"));
  }
  std::vector<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = nullptr;
    if (a->ai_family == AF_INET) {
      raw = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    } else if (a->ai_family == AF_INET6) {
      raw = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    if (inet_ntop(a->ai_family, raw, text, sizeof(text)) == nullptr) continue;
    if (std::find(addresses.begin(), addresses.end(), text) ==
        addresses.end()) {
      addresses.emplace_back(text);
    }
  }
  freeaddrinfo(found);
  if (addresses.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen: ", name, " resolves to no IPv4 or IPv6 address"));
  }
  return addresses;
}

bool IsLoopbackAddress(absl::string_view address) {
  const std::string text(address);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

absl::Status CheckLoopbackHost(absl::string_view host) {
  absl::StatusOr<std::vector<std::string>> addresses = ResolveListenHost(host);
  if (!addresses.ok()) return addresses.status();
  std::vector<std::string> others;
  for (const std::string& address : *addresses) {
    if (!IsLoopbackAddress(address)) others.push_back(address);
  }
  if (others.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--listen: ", host, " resolves to ", absl::StrJoin(others, ", "),
      others.size() == 1 ? ", which is not a loopback address"
                         : ", which are not loopback addresses"));
}

}  // namespace caseline::server
