#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace smrun::supervise {

// Relayed worker output on its way to one of smrun's own descriptors (1 or 2), written without
// ever blocking the supervisor loop: a stalled reader (log driver, full pipe) must not keep
// PID 1 from forwarding signals, reaping, or answering the control channel.
//
// The descriptor itself is left blocking (its open file description may be shared with the
// workers' stdin or stdout, e.g. one tty for 0/1/2, and O_NONBLOCK there would make THEIR
// writes fail with EAGAIN). Instead every write is preceded by poll(POLLOUT, 0) and carries at
// most PIPE_BUF bytes: on a pipe, POLLOUT means a free buffer slot of at least PIPE_BUF bytes,
// so the write cannot block (smrun being the pipe's only writer). Regular files never block;
// a tty or socket reporting POLLOUT may, rarely, block for as long as the kernel needs to
// drain PIPE_BUF bytes.
//
// A pipe with room for more than PIPE_BUF bytes (its capacity less the unread bytes and two
// page-sized slots that may be partly used) gets one write of whole lines up to that room and
// 1 MiB, made with pwritev2(RWF_NOWAIT): it fits, and a pipe write that needs no waiting is
// done under the pipe's lock, so no other writer's bytes land inside it; should the room be
// less than it seemed (another writer, or a pipe of partly used slots), the write stops
// instead of blocking and the rest follows once there is room. With the room this small, or a
// kernel that refuses RWF_NOWAIT on pipes (an older one), a pipe gets PIPE_BUF writes as
// above (a poll and a write per 4 KiB: relaying 8 x 100 MB into a pipe took 1.5x as long as
// eight cats into the same pipe; with room-sized writes, 0.96x).
//
// A sink made with `grow_pipe_to` enlarges a pipe smaller than that (F_SETPIPE_SZ) on its first
// flush, never shrinking one: the relay asks 1 MiB for its stdout and stderr, a container's
// pipes of 64 KiB, so its room-sized writes are up to 16 times larger and it and the reader
// wake each other up that much less often (8 x 100 MB into a pipe that one cat empties: 0.99 s
// -> 0.86 s, 1.13x -> 0.99x the time of eight cats into the same pipe, paired runs). A refusal
// (a non-root user over the kernel's pipe-max-size or pipe-user-pages limits) keeps the pipe as
// it is.
//
// A regular file never blocks, so it gets writes of up to 1 MiB without a poll. Each write
// carries whole lines: queued items (all the prefixed lines of one read, or one log line) while
// they fit, and the item that does not fit is cut after its last line end within the budget,
// so a line of up to PIPE_BUF bytes goes out in one write and never mixes with another writer's
// line; a longer line is written in PIPE_BUF pieces, back to back, since smrun is the only writer
// of worker output to that descriptor. While the supervisor runs, smrun's own log lines
// from its thread are queued here too (OutputRelay::log_line), so they never land between two
// pieces of a long line and never block; lines from other threads are written directly.
class OutputSink {
 public:
  // Above this much queued output, the relay stops reading the workers' pipes (backpressure:
  // workers block in write(), as they would writing to a slow stdout themselves).
  static constexpr std::size_t kMaxQueued = 1024 * 1024;

  explicit OutputSink(int fd, std::size_t grow_pipe_to = 0)
      : m_fd(fd), m_grow_pipe_to(grow_pipe_to) {}

  int fd() const { return m_fd; }
  // Queues data (dropped, and counted, once the sink is broken or abandoned).
  void push(std::string data);
  // An empty string to fill and push(): one this sink has written out, with its capacity kept,
  // when there is one. Relaying a chatty rank allocates and frees a 64 KiB+ string per read;
  // recycling them keeps glibc from trimming and regrowing its heap, and the kernel from
  // faulting fresh pages in, for every read (two thirds of smrun's CPU time in the relay bench).
  std::string buffer();
  // Writes what can be written now without blocking; call when poll() reports POLLOUT (or any
  // revents) for fd(), and after push().
  void flush();
  bool pending() const { return !m_queue.empty(); }
  bool full() const { return m_queued >= kMaxQueued; }
  // Gives up on the descriptor: queued and future data are dropped. For shutdown, when the
  // reader has stalled for too long.
  void abandon();
  std::size_t dropped_bytes() const { return m_dropped; }
  // Why the descriptor was given up, once (the caller logs it, outside any log call).
  std::optional<std::string> take_failure();
  // Writes what is still queued, blocking: for the end of supervision only.
  void write_pending_blocking();
  // Writes to a pipe sized by its room (RWF_NOWAIT), and how many of them wrote less than
  // asked (the room was less than it seemed).
  std::size_t large_pipe_writes() const { return m_large_pipe_writes; }
  std::size_t short_pipe_writes() const { return m_short_pipe_writes; }

 private:
  void fail(int error_number);
  void consume(std::size_t written);
  void recycle(std::string&& spent);

  static constexpr std::size_t kMaxSpare = 16;               // strings kept for buffer()
  static constexpr std::size_t kMaxSpareCapacity = 1 << 20;  // bigger ones are freed

  int m_fd;
  std::size_t m_grow_pipe_to;  // bytes; 0: a pipe is left as it is
  std::deque<std::string> m_queue;
  std::vector<std::string> m_spare;
  std::size_t m_front_offset = 0;  // bytes of m_queue.front() already written
  std::size_t m_queued = 0;        // unwritten bytes in m_queue
  bool m_discard = false;
  std::size_t m_dropped = 0;
  std::optional<std::string> m_failure;
  bool m_kind_known = false;
  bool m_regular_file = false;      // fstat'd on the first flush
  std::size_t m_pipe_capacity = 0;  // bytes, when the descriptor is a pipe; likewise
  bool m_pipe_nowait = true;        // until the kernel refuses RWF_NOWAIT on this pipe
  std::size_t m_large_pipe_writes = 0;
  std::size_t m_short_pipe_writes = 0;
};

}  // namespace smrun::supervise
