#include "connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>

namespace smrun::cluster {

Connection::Connection(base::UniqueFd fd, Clock::time_point now)
    : m_fd(std::move(fd)), m_last_received(now), m_last_sent(now) {}

void Connection::mark_broken(std::string reason) {
  if (!m_broken) m_broken = std::move(reason);
  m_out.clear();
}

void Connection::send(const nlohmann::json& message) {
  if (broken()) return;
  // dump() escapes control characters, so a message never contains a raw newline.
  m_out += message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  m_out.push_back('\n');
  m_last_sent = Clock::now();
  if (m_out.size() > kMaxQueued) {
    mark_broken("peer stopped reading (output queue full)");
    return;
  }
  flush();
}

void Connection::flush() {
  while (!m_out.empty() && !broken()) {
    ssize_t n = ::send(m_fd.get(), m_out.data(), m_out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      m_out.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      mark_broken(errno_text(errno));
    }
  }
}

void Connection::receive(Clock::time_point now) {
  if (broken()) return;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::recv(m_fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {
      mark_broken(errno_text(errno));
      break;
    }
    if (n == 0) {
      mark_broken("connection closed");
      break;
    }
    m_last_received = now;
    m_in.append(buffer, static_cast<std::size_t>(n));
  }
  std::size_t start = 0;
  for (std::size_t nl; (nl = m_in.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(m_in.data() + start, nl - start);
    if (line.empty()) continue;
    try {
      auto message = nlohmann::json::parse(line);
      if (!message.is_object() || !message.contains("type") || !message["type"].is_string()) {
        mark_broken("malformed message (not an object with a \"type\")");
        break;
      }
      m_inbox.push_back(std::move(message));
    } catch (const nlohmann::json::exception& e) {
      mark_broken(fmt::format("malformed message ({})", e.what()));
      break;
    }
  }
  m_in.erase(0, start);
  if (m_in.size() > kMaxLine) mark_broken("malformed message (line too long)");
}

std::optional<nlohmann::json> Connection::next_message() {
  if (m_inbox.empty()) return std::nullopt;
  auto message = std::move(m_inbox.front());
  m_inbox.pop_front();
  return message;
}

base::Expected<nlohmann::json> Connection::wait_message(Clock::time_point deadline) {
  for (;;) {
    if (auto message = next_message()) return std::move(*message);
    if (broken()) return base::fail(base::ErrorKind::kCluster, broken_reason());
    pollfd p{m_fd.get(), static_cast<short>(POLLIN | (wants_write() ? POLLOUT : 0)), 0};
    auto now = Clock::now();
    if (now >= deadline) return base::fail(base::ErrorKind::kCluster, "timed out");
    int n = ::poll(&p, 1, static_cast<int>(time_until(deadline, now).count()));
    if (n < 0 && errno != EINTR) return base::fail(base::ErrorKind::kCluster, errno_text(errno));
    if (n <= 0) continue;
    if (p.revents & POLLOUT) flush();
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) receive(Clock::now());
  }
}

void Connection::drain_output(Clock::time_point deadline) {
  while (wants_write()) {
    auto now = Clock::now();
    if (now >= deadline) return;
    pollfd p{m_fd.get(), POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(time_until(deadline, now).count()));
    if (n < 0 && errno != EINTR) return;
    if (n > 0) flush();
  }
}

}  // namespace smrun::cluster
