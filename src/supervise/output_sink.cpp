#include "smrun/supervise/output_sink.hpp"
#include <fmt/format.h>

#include "smrun/base/fd_io.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace smrun::supervise {
namespace {

constexpr std::size_t kMaxIov = 64;
constexpr std::size_t kFileWrite = 1 << 20;  // bytes per write to a regular file or a pipe
// A pipe holds its bytes in page-sized slots; the slot being read and the one being filled may
// be partly used, so this much of the apparent room is not counted on.
constexpr std::size_t kPipeSlack = 2 * 4096;

// Bytes a write to the pipe `fd` of `capacity` bytes can carry without filling it, as far as
// the kernel says now (capacity minus unread bytes, less the slack); 0 when unknown.
std::size_t pipe_room(int fd, std::size_t capacity) {
  int unread = 0;
  if (capacity == 0 || ::ioctl(fd, FIONREAD, &unread) != 0 || unread < 0) return 0;
  const std::size_t free = capacity - std::min(static_cast<std::size_t>(unread), capacity);
  return free > kPipeSlack ? free - kPipeSlack : 0;
}

}  // namespace

std::string OutputSink::buffer() {
  if (m_spare.empty()) return {};
  std::string spare = std::move(m_spare.back());
  m_spare.pop_back();
  return spare;
}

void OutputSink::recycle(std::string&& spent) {
  if (m_spare.size() >= kMaxSpare || spent.capacity() > kMaxSpareCapacity) return;
  spent.clear();
  m_spare.push_back(std::move(spent));
}

void OutputSink::push(std::string data) {
  if (data.empty()) return recycle(std::move(data));
  if (m_discard) {
    m_dropped += data.size();
    return;
  }
  m_queued += data.size();
  m_queue.push_back(std::move(data));
}

void OutputSink::flush() {
  if (!m_kind_known) {
    struct stat st {};
    const bool known = ::fstat(m_fd, &st) == 0;
    m_regular_file = known && S_ISREG(st.st_mode);
    if (known && S_ISFIFO(st.st_mode)) {
      // Asked once: a reader that resizes the pipe later makes the room estimate wrong, which
      // RWF_NOWAIT turns into a shorter write, never a blocking one.
      int capacity = ::fcntl(m_fd, F_GETPIPE_SZ);
      if (capacity > 0 && static_cast<std::size_t>(capacity) < m_grow_pipe_to) {
        const int grown = ::fcntl(m_fd, F_SETPIPE_SZ, static_cast<int>(m_grow_pipe_to));
        if (grown > capacity) capacity = grown;  // else refused: the pipe keeps its size
      }
      m_pipe_capacity = capacity > 0 ? static_cast<std::size_t>(capacity) : 0;
    }
    m_kind_known = true;
  }
  while (!m_queue.empty() && !m_discard) {
    // A regular file never blocks a write: big writes, no poll. A pipe with room for more than
    // PIPE_BUF takes one write of whole lines that fits in that room, made with RWF_NOWAIT so
    // that it returns instead of blocking should the room be less than it seemed. Anything
    // else gets at most PIPE_BUF bytes per write, after POLLOUT said a pipe has room for that
    // many.
    std::size_t budget = m_regular_file ? kFileWrite : PIPE_BUF;
    bool nowait = false;
    if (m_pipe_capacity > 0 && m_pipe_nowait) {
      const std::size_t room = std::min(pipe_room(m_fd, m_pipe_capacity), kFileWrite);
      if (room > PIPE_BUF) {
        budget = room;
        nowait = true;
      }
    }
    if (!m_regular_file && !nowait) {
      pollfd out{m_fd, POLLOUT, 0};
      const int ready = ::poll(&out, 1, 0);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) return;  // full: the supervisor loop waits for POLLOUT
      if (ready < 0 || (out.revents & POLLNVAL) != 0) return fail(ready < 0 ? errno : EBADF);
      // POLLERR/POLLHUP: the write below reports the error.
    }

    // Whole queued items while they fit; the item that does not fit is cut after its last line
    // end within the budget, so every write holds whole lines (a line longer than the budget,
    // alone, goes out in budget-sized pieces).
    iovec iov[kMaxIov];
    std::size_t count = 0;
    std::size_t total = 0;
    for (std::size_t i = 0; i < m_queue.size() && count < kMaxIov; ++i) {
      const std::string& item = m_queue[i];
      const std::size_t offset = i == 0 ? m_front_offset : 0;
      const std::string_view rest = std::string_view(item).substr(offset);
      if (total + rest.size() <= budget) {
        iov[count++] = {const_cast<char*>(rest.data()), rest.size()};
        total += rest.size();
        continue;
      }
      const std::string_view window = rest.substr(0, budget - total);
      std::size_t cut = window.find_last_of('\n');
      if (cut == std::string_view::npos) cut = window.find_last_of('\r');
      const std::size_t size =
          cut != std::string_view::npos ? cut + 1 : (count == 0 ? window.size() : 0);
      if (size > 0) {
        iov[count++] = {const_cast<char*>(rest.data()), size};
        total += size;
      }
      break;
    }
    const ssize_t n = nowait ? ::pwritev2(m_fd, iov, static_cast<int>(count), -1, RWF_NOWAIT)
                             : ::writev(m_fd, iov, static_cast<int>(count));
    if (n < 0 && nowait && (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) {
      m_pipe_nowait = false;  // a kernel without RWF_NOWAIT for pipes: PIPE_BUF writes
      continue;
    }
    if (n >= 0 && nowait) {
      ++m_large_pipe_writes;
      if (static_cast<std::size_t>(n) < total) ++m_short_pipe_writes;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // a full pipe (RWF_NOWAIT), or O_NONBLOCK set by another
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
    recycle(std::move(m_queue.front()));
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
