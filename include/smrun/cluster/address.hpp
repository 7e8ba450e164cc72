#pragma once

// Host name -> socket address, with the SMRUN_HOST_ADDRESSES override map consulted first.

#include <sys/socket.h>

#include <map>
#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"

namespace smrun::cluster {

struct ResolvedAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // numeric form, "127.0.0.3" / "fd00::3"
  int family() const { return storage.ss_family; }
};

// The first address of `host` (override, else getaddrinfo, TCP), with `port` set. The error
// (kCluster) is the resolver's reason only, e.g. "Name or service not known", so callers can
// embed it: "algo-4 (name does not resolve: Name or service not known)".
// Blocks for as long as the system resolver does.
base::Expected<ResolvedAddress> resolve_host(const std::string& host, std::uint16_t port,
                                             const std::map<std::string, std::string>& overrides);

// Same, restricted to one address family (used to pick a bind address matching the peer's).
base::Expected<ResolvedAddress> resolve_host(const std::string& host, std::uint16_t port,
                                             const std::map<std::string, std::string>& overrides,
                                             int family);

}  // namespace smrun::cluster
