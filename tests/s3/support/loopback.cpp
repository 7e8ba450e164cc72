#include "s3/support/loopback.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "support/test_support.hpp"

namespace smrun::test {

namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

LoopbackState enter_loopback_namespace() {
  if (geteuid() != 0)
    return {false,
            "not root: staying in the normal network namespace (no loopback-only isolation)"};
  if (unshare(CLONE_NEWNET) != 0)
    return {false, errno_text("unshare(CLONE_NEWNET) refused") +
                       ": staying in the normal network namespace (no loopback-only isolation)"};
  // From here on the process is in a namespace with a down `lo` and nothing else: failing to
  // bring `lo` up would leave the tests without any network, so that is fatal.
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
      (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)) {
    std::fprintf(stderr, "s3 tests: %s in the new network namespace\n",
                 errno_text("bringing up lo").c_str());
    std::_Exit(70);
  }
  close(fd);
  return {true, ""};
}

// Runs during static initialisation, before main and before any thread exists (a network
// namespace belongs to the thread that unshares it).
const LoopbackState& state_once() {
  static const LoopbackState state = [] {
    LoopbackState s = enter_loopback_namespace();
    if (!s.isolated) std::fprintf(stderr, "s3 tests: %s\n", s.reason.c_str());
    return s;
  }();
  return state;
}

[[maybe_unused]] const bool g_entered = (state_once(), true);

}  // namespace

const LoopbackState& loopback_state() {
  return state_once();
}

std::vector<std::string> network_interfaces() {
  std::vector<std::string> names;
  struct if_nameindex* list = if_nameindex();
  if (list == nullptr) return names;
  for (struct if_nameindex* i = list; i->if_index != 0; ++i) names.emplace_back(i->if_name);
  if_freenameindex(list);
  return names;
}

std::map<std::string, std::string> isolated_child_env(const std::filesystem::path& home) {
  std::map<std::string, std::string> env;
  for (auto& [k, v] : current_environment())
    if (k.rfind("AWS_", 0) != 0) env.emplace(k, v);
  env["HOME"] = home.string();
  env["AWS_EC2_METADATA_DISABLED"] = "true";
  return env;
}

}  // namespace smrun::test
