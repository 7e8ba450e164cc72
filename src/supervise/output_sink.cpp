#include "smrun/supervise/output_sink.hpp"
#include <fmt/format.h>

#include "smrun/base/fd_io.hpp"

#include <limits.h>
#include <poll.h>
#include <sys/uio.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace smrun::supervise {
namespace {

constexpr std::size_t kMaxIov = 64;

}  // namespace

void OutputSink::push(std::string data) {
  if (data.empty()) return;
  if (m_discard) {
    m_dropped += data.size();
    return;
  }
  m_queued += data.size();
  m_queue.push_back(std::move(data));
}

void OutputSink::flush() {
  while (!m_queue.empty() && !m_discard) {
    pollfd out{m_fd, POLLOUT, 0};
    const int ready = ::poll(&out, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return;  // full: the supervisor loop waits for POLLOUT
    if (ready < 0 || (out.revents & POLLNVAL) != 0) return fail(ready < 0 ? errno : EBADF);
    // POLLERR/POLLHUP: the write below reports the error.

    iovec iov[kMaxIov];
    std::size_t count = 0;
    std::size_t total = 0;
    for (std::size_t i = 0; i < m_queue.size() && count < kMaxIov; ++i) {
      const std::string& item = m_queue[i];
      const std::size_t offset = i == 0 ? m_front_offset : 0;
      std::size_t size = item.size() - offset;
      if (i == 0 && size > PIPE_BUF) size = PIPE_BUF;
      if (total + size > PIPE_BUF) break;
      iov[count++] = {const_cast<char*>(item.data() + offset), size};
      total += size;
    }
    const ssize_t n = ::writev(m_fd, iov, static_cast<int>(count));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // someone made the descriptor non-blocking
    if (n < 0) return fail(errno);
    consume(static_cast<std::size_t>(n));
  }
}

void OutputSink::consume(std::size_t written) {
  m_queued -= written;
  while (written > 0) {
    const std::size_t left = m_queue.front().size() - m_front_offset;
    if (written < left) {
      m_front_offset += written;
      return;
    }
    written -= left;
    m_queue.pop_front();
    m_front_offset = 0;
  }
}

// Losing the relay must not stop supervision (EPIPE with SIGPIPE ignored, EBADF): the tail and
// the log files still get everything.
void OutputSink::fail(int error_number) {
  // Not logged here: flush() also runs inside a log call (smrun's own lines go through this
  // sink while the supervisor runs), and logging from there would re-enter the logger.
  m_failure =
      fmt::format("cannot relay worker output to descriptor {}: {}; dropping it from now on", m_fd,
                  std::generic_category().message(error_number));
  abandon();
}

std::optional<std::string> OutputSink::take_failure() {
  return std::exchange(m_failure, std::nullopt);
}

void OutputSink::write_pending_blocking() {
  while (!m_queue.empty() && !m_discard) {
    const std::string_view rest = std::string_view(m_queue.front()).substr(m_front_offset);
    if (const int error = base::write_all(m_fd, rest); error != 0) return fail(error);
    consume(rest.size());
  }
}

void OutputSink::abandon() {
  m_discard = true;
  m_dropped += m_queued;
  m_queue.clear();
  m_front_offset = 0;
  m_queued = 0;
}

}  // namespace smrun::supervise
