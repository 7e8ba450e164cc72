#include "smrun/cluster/address.hpp"
#include "smrun/base/sys_error.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>

namespace smrun::cluster {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

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

base::Expected<std::map<std::string, std::string>> parse_address_overrides(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return base::fail(
          base::ErrorKind::kConfig,
          fmt::format("SMRUN_HOST_ADDRESSES: expected host=address, got \"{}\"", item));
    std::string host(trim(item.substr(0, eq)));
    std::string address(trim(item.substr(eq + 1)));
    if (host.empty() || address.empty())
      return base::fail(
          base::ErrorKind::kConfig,
          fmt::format("SMRUN_HOST_ADDRESSES: expected host=address, got \"{}\"", item));
    if (!lookup(address, 0, AF_UNSPEC, true))
      return base::fail(base::ErrorKind::kConfig,
                        fmt::format("SMRUN_HOST_ADDRESSES: {} is not a numeric IP address (for "
                                    "host {})",
                                    address, host));
    if (!out.emplace(host, address).second)
      return base::fail(base::ErrorKind::kConfig,
                        fmt::format("SMRUN_HOST_ADDRESSES: host {} given twice", host));
  }
  return out;
}

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
