#pragma once

// tests/s3/credential_server.py (a container credentials endpoint or IMDSv2 stand-in on
// 127.0.0.1) as a child of the test: started with fork/execv from an argv vector, ready once it
// printed "PORT <n>" on stdout (waited for, bounded; no sleeps), killed with its process group
// when the object goes away (and by the kernel if the test process dies first).

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smrun::s3::test {

class StandInServer {
 public:
  // `args`: credential_server.py's arguments ("container", "--token", "t", ...).
  explicit StandInServer(const std::vector<std::string>& args);
  ~StandInServer();
  StandInServer(const StandInServer&) = delete;
  StandInServer& operator=(const StandInServer&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  // The requests the stand-in saw: [{"method", "path", "headers": {...}}, ...].
  nlohmann::json requests() const;

 private:
  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
};

// A loopback port nothing listens on (bound, then closed: connecting to it is refused).
std::uint16_t closed_loopback_port();

}  // namespace smrun::s3::test
