// Pure parts of access control: which gRPC peers are on this machine (the
// development-mode local operator exists only for them).
#include "services/access_control.h"

#include "gtest/gtest.h"

namespace caseline::services {
namespace {

TEST(PeerIsLoopbackTest, LoopbackAddressesAndUnixSockets) {
  for (const char* peer :
       {"ipv4:127.0.0.1:5000", "ipv4:127.8.9.10:1", "ipv6:[::1]:5000",
        "ipv6:%5B::1%5D:5000", "ipv6:[::ffff:127.0.0.1]:80",
        "unix:/tmp/caseline.sock", "unix-abstract:caseline"}) {
    EXPECT_TRUE(PeerIsLoopback(peer)) << peer;
  }
}

TEST(PeerIsLoopbackTest, EverythingElseIsNot) {
  for (const char* peer :
       {"ipv4:10.0.0.7:5000", "ipv4:128.0.0.1:5000", "ipv4:1.127.0.0:1",
        "ipv6:[2001:db8::1]:5000", "ipv6:[::ffff:10.0.0.1]:80",
        "ipv6:[fe80::1%eth0]:80", "ipv6:::1:5000", "ipv4:127.attacker:1",
        "127.0.0.1:5000", ""}) {
    EXPECT_FALSE(PeerIsLoopback(peer)) << peer;
  }
}

}  // namespace
}  // namespace caseline::services
