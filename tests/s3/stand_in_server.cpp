#include "stand_in_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

#include "smrun/s3/http.hpp"
#include "support/test_support.hpp"

namespace smrun::s3::test {

namespace {

constexpr const char* kPython = "/usr/bin/python3";

}  // namespace

StandInServer::StandInServer(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      kPython, (smrun::test::source_dir() / "tests/s3/credential_server.py").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t parent = getpid();
  m_pid = fork();
  if (m_pid < 0) throw std::runtime_error("fork failed");
  if (m_pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    dup2(out[1], 1);
    execv(raw[0], raw.data());
    _exit(127);
  }
  setpgid(m_pid, m_pid);
  close(out[1]);

  // Wait (bounded) for the one line that says where it listens.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    const int n = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    char buf[256];
    const ssize_t r = n > 0 ? read(out[0], buf, sizeof buf) : 0;
    if (r <= 0) break;
    line.append(buf, static_cast<std::size_t>(r));
  }
  close(out[0]);
  unsigned port = 0;
  if (line.rfind("PORT ", 0) == 0) port = static_cast<unsigned>(std::stoul(line.substr(5)));
  if (port == 0 || port > 65535) {
    kill(-m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
    m_pid = -1;
    throw std::runtime_error("credential_server.py did not report its port (got '" + line + "')");
  }
  m_port = static_cast<std::uint16_t>(port);
}

StandInServer::~StandInServer() {
  if (m_pid > 0) {
    kill(-m_pid, SIGKILL);
    kill(m_pid, SIGKILL);
    while (waitpid(m_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

nlohmann::json StandInServer::requests() const {
  HttpClient client;
  HttpRequest request;
  request.url = *parse_http_url(url() + "/__log");
  auto response = client.send(request);
  if (!response || response->status != 200)
    throw std::runtime_error("the stand-in's request log could not be read");
  return nlohmann::json::parse(response->body);
}

std::uint16_t closed_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot bind a loopback socket");
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace smrun::s3::test
