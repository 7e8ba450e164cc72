#pragma once

// One control connection: newline-delimited JSON in both directions over a non-blocking
// socket, with an input line buffer, an output queue, and the times of the last traffic
// (for heartbeats). Internal to src/cluster.

#include <deque>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "smrun/base/expected.hpp"
#include "socket_ops.hpp"
#include "timing.hpp"

namespace smrun::cluster {

class Connection {
 public:
  // A line longer than this is a protocol error (real messages are well under 4 KiB).
  static constexpr std::size_t kMaxLine = 64 * 1024;
  // Queued output beyond this means the peer stopped reading: it is treated as broken.
  static constexpr std::size_t kMaxQueued = 1024 * 1024;

  Connection(base::UniqueFd fd, Clock::time_point now);

  int fd() const { return m_fd.get(); }
  // Broken: closed by the peer, reset, malformed input, or output overflow. The reason is one
  // lowercase phrase ("connection closed", "connection reset by peer").
  bool broken() const { return m_broken.has_value(); }
  const std::string& broken_reason() const { return *m_broken; }

  // Queues one message and writes as much as the socket takes now.
  void send(const nlohmann::json& message);
  void flush();
  bool wants_write() const { return !m_out.empty() && !broken(); }

  // Reads everything available; complete messages go to the inbox (kept even if the
  // connection then turns out closed: a DONE followed by EOF must still count).
  void receive(Clock::time_point now);
  std::optional<nlohmann::json> next_message();

  Clock::time_point last_received() const { return m_last_received; }
  Clock::time_point last_sent() const { return m_last_sent; }

  // Blocking helpers for the handshake and the final flush (poll on this socket only).
  // wait_message's error is the reason: "timed out", "connection closed", ...
  base::Expected<nlohmann::json> wait_message(Clock::time_point deadline);
  void drain_output(Clock::time_point deadline);

 private:
  void mark_broken(std::string reason);

  base::UniqueFd m_fd;
  std::string m_in;
  std::string m_out;
  std::deque<nlohmann::json> m_inbox;
  std::optional<std::string> m_broken;
  Clock::time_point m_last_received;
  Clock::time_point m_last_sent;
};

}  // namespace smrun::cluster
