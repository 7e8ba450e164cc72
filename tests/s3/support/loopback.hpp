#pragma once

// Network isolation of the s3 test binary. When it runs as root, a static initializer (before
// main, while the process has one thread) moves it into a new network namespace whose only
// interface is `lo`, brought up with an ioctl: the tests, and everything they start (s3rver, the
// fault proxy, smrun, python stand-ins), can reach 127.0.0.1/::1 and nothing else — never a real
// S3 endpoint, never the 169.254.169.254 / fd00:ec2::254 metadata service. ctest runs each test
// in its own process, so every test gets its own namespace (and free choice of ports).
// Without root (or when unshare is refused) the binary stays in the normal namespace and prints
// one line on stderr saying so.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace smrun::test {

struct LoopbackState {
  bool isolated = false;  // in a fresh namespace with only `lo`
  std::string reason;     // why not, when not
};

// The state the static initializer left (it runs once per process, before main).
const LoopbackState& loopback_state();

// Names of the network interfaces this process sees (if_nameindex).
std::vector<std::string> network_interfaces();

// The environment for a child process that must not pick up AWS settings of the machine: the
// test's environment without any AWS_* variable, plus AWS_EC2_METADATA_DISABLED=true and HOME set
// to `home` (a temporary directory, so ~/.aws is never read). Add the test's own AWS_* on top.
std::map<std::string, std::string> isolated_child_env(const std::filesystem::path& home);

}  // namespace smrun::test
