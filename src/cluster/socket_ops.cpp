#include "socket_ops.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "smrun/base/sys_error.hpp"

namespace smrun::cluster {
namespace {

void set_nodelay(int fd) {
  int one = 1;
  // Latency matters more than packet count here (ABORT must arrive in milliseconds); a failure
  // to set it only costs latency, so it is not an error.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string numeric_address(const sockaddr_storage& storage) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw =
      storage.ss_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr);
  if (::inet_ntop(storage.ss_family, raw, text, sizeof text) == nullptr) return "?";
  return text;
}

}  // namespace

std::string errno_text(int err) {
  std::string text = base::errno_text(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

base::Expected<base::UniqueFd> listen_on(const ResolvedAddress& address) {
  auto failed = [&](int err) {
    return base::fail(
        base::ErrorKind::kCluster,
        fmt::format("cannot listen on {} port {}: {}", address.text,
                    ntohs(reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_port),
                    errno_text(err)));
  };
  base::UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failed(errno);
  int one = 1;
  // A restarted smrun must be able to listen again while old connections sit in TIME_WAIT.
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0)
    return failed(errno);
  if (::listen(fd.get(), 128) != 0) return failed(errno);
  return fd;
}

base::UniqueFd accept_one(int listener, std::string& peer) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&storage), &length,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return base::UniqueFd();
  set_nodelay(fd);
  peer = numeric_address(storage);
  return base::UniqueFd(fd);
}

base::Expected<base::UniqueFd> start_connect(const ResolvedAddress& remote,
                                             const ResolvedAddress* local) {
  base::UniqueFd fd(::socket(remote.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return base::fail(base::ErrorKind::kCluster, errno_text(errno));
  if (local != nullptr &&
      ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local->storage), local->length) != 0) {
    return base::fail(base::ErrorKind::kCluster,
                      fmt::format("cannot bind to {}: {}", local->text, errno_text(errno)));
  }
  set_nodelay(fd.get());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&remote.storage), remote.length) != 0 &&
      errno != EINPROGRESS) {
    return base::fail(base::ErrorKind::kCluster, errno_text(errno));
  }
  return fd;
}

base::Status finish_connect(int fd, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    auto wait = time_until(deadline, Clock::now());
    int n = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::fail(base::ErrorKind::kCluster, errno_text(errno));
    if (n == 0) return base::fail(base::ErrorKind::kCluster, "connect timed out");
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return base::fail(base::ErrorKind::kCluster, errno_text(err));
    return {};
  }
}

}  // namespace smrun::cluster
