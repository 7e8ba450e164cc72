#include "smrun/cluster/address.hpp"
#include "smrun/base/sys_error.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>

namespace smrun::cluster {
namespace {

// getaddrinfo wrapper; AI_NUMERICHOST for override values so they never touch DNS.
base::Expected<ResolvedAddress> lookup(const std::string& name, std::uint16_t port, int family,
                                       bool numeric_only) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    std::string reason = rc == EAI_SYSTEM ? base::errno_text(errno) : ::gai_strerror(rc);
    return base::fail(base::ErrorKind::kCluster, reason);
  }
  if (list == nullptr) return base::fail(base::ErrorKind::kCluster, "no address");
  ResolvedAddress out;
  std::memcpy(&out.storage, list->ai_addr, list->ai_addrlen);
  out.length = list->ai_addrlen;
  ::freeaddrinfo(list);
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw =
      out.family() == AF_INET6
          ? static_cast<const void*>(
                &reinterpret_cast<const sockaddr_in6*>(&out.storage)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&out.storage)->sin_addr);
  if (::inet_ntop(out.family(), raw, text, sizeof text) != nullptr) out.text = text;
  return out;
}

}  // namespace

base::Expected<ResolvedAddress> resolve_host(const std::string& host, std::uint16_t port,
                                             const std::map<std::string, std::string>& overrides,
                                             int family) {
  auto it = overrides.find(host);
  if (it != overrides.end()) {
    auto resolved = lookup(it->second, port, family, true);
    if (!resolved)
      return base::fail(
          base::ErrorKind::kCluster,
          fmt::format("SMRUN_HOST_ADDRESSES value {}: {}", it->second, resolved.error().message));
    return resolved;
  }
  return lookup(host, port, family, false);
}

base::Expected<ResolvedAddress> resolve_host(const std::string& host, std::uint16_t port,
                                             const std::map<std::string, std::string>& overrides) {
  return resolve_host(host, port, overrides, AF_UNSPEC);
}

}  // namespace smrun::cluster
