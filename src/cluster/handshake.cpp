#include "handshake.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

#include "smrun/cluster/messages.hpp"
#include "smrun/cluster/sha256.hpp"

namespace smrun::cluster {
namespace {

// Comparison time independent of where the strings differ (the proofs are secrets' images).
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string string_field(const nlohmann::json& message, const char* field) {
  auto it = message.find(field);
  return it != message.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<int> version_of(const nlohmann::json& message) {
  auto it = message.find("version");
  if (it == message.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int>();
}

std::string version_text(const std::optional<int>& version) {
  return version ? std::to_string(*version) : std::string("none");
}

}  // namespace

std::string make_nonce() {
  std::array<unsigned char, 16> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // only without getrandom(2) (Linux < 3.17); the nonce is then weaker
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

nlohmann::json make_challenge(const ClusterConfig& config, const std::string& master_nonce) {
  return {{"type", "challenge"},
          {"version", kProtocolVersion},
          {"master", config.current_host},
          {"nonce", master_nonce}};
}

nlohmann::json make_hello(const ClusterConfig& config, const std::string& master_nonce,
                          const std::string& worker_nonce) {
  nlohmann::json hello{{"type", "hello"},
                       {"version", kProtocolVersion},
                       {"job", config.job_name},
                       {"host", config.current_host},
                       {"nonce", worker_nonce}};
  if (config.token) hello["proof"] = token_proof(*config.token, master_nonce);
  return hello;
}

nlohmann::json make_welcome(const ClusterConfig& config, const std::string& worker_nonce) {
  nlohmann::json welcome{{"type", "welcome"},
                         {"version", kProtocolVersion},
                         {"job", config.job_name},
                         {"master", config.current_host}};
  if (config.token) welcome["proof"] = token_proof(*config.token, worker_nonce);
  return welcome;
}

nlohmann::json make_refuse(const std::string& reason) {
  return {{"type", "refuse"}, {"version", kProtocolVersion}, {"reason", reason}};
}

base::Expected<std::string> check_hello(const nlohmann::json& hello, const ClusterConfig& config,
                                        const std::string& master_nonce,
                                        const std::set<std::string>& joined, bool accepting,
                                        std::string& claimed_host) {
  auto refuse = [](std::string reason) {
    return base::fail(base::ErrorKind::kCluster, std::move(reason));
  };
  claimed_host = string_field(hello, "host");
  if (string_field(hello, "type") != "hello") return refuse("expected a HELLO message");
  auto version = version_of(hello);
  if (version != kProtocolVersion)
    return refuse(
        fmt::format("protocol version mismatch: master {} speaks version {}, peer "
                    "speaks version {}",
                    config.current_host, kProtocolVersion, version_text(version)));
  std::string job = string_field(hello, "job");
  if (job != config.job_name)
    return refuse(fmt::format("job name mismatch: master {} runs job \"{}\", peer runs job \"{}\"",
                              config.current_host, config.job_name, job));
  // Checked before the host name, so a stranger without the token learns nothing more.
  auto proof = hello.find("proof");
  bool has_proof = proof != hello.end() && proof->is_string();
  if (config.token && !has_proof)
    return refuse("SMRUN_CLUSTER_TOKEN is set on the master but the peer sent no token proof");
  if (!config.token && has_proof)
    return refuse("the peer has SMRUN_CLUSTER_TOKEN set but the master does not");
  if (config.token &&
      !same_secret(proof->get<std::string>(), token_proof(*config.token, master_nonce)))
    return refuse("token proof does not match SMRUN_CLUSTER_TOKEN");
  if (claimed_host.empty()) return refuse("HELLO without a host name");
  if (claimed_host == config.master_host)
    return refuse(fmt::format("host {} is the master itself", claimed_host));
  bool known = false;
  for (const auto& host : config.hosts) known = known || host == claimed_host;
  if (!known)
    return refuse(
        fmt::format("unknown host {}: not one of the job's distribution hosts", claimed_host));
  if (joined.contains(claimed_host))
    return refuse(fmt::format("duplicate host {}: already joined", claimed_host));
  if (!accepting)
    return refuse(
        fmt::format("the job has already started; host {} cannot join now", claimed_host));
  if (string_field(hello, "nonce").empty()) return refuse("HELLO without a nonce");
  return claimed_host;
}

base::Expected<std::string> check_challenge(const nlohmann::json& challenge,
                                            const ClusterConfig& config) {
  auto fail = [](std::string message) {
    return base::fail(base::ErrorKind::kCluster, std::move(message));
  };
  std::string type = string_field(challenge, "type");
  if (type == "refuse")
    return fail(fmt::format("master {} refused {}: {}", config.master_host, config.current_host,
                            string_field(challenge, "reason")));
  if (type != "challenge")
    return fail(
        fmt::format("master {} sent \"{}\" instead of a CHALLENGE; is port {} another "
                    "service?",
                    config.master_host, type, config.port));
  auto version = version_of(challenge);
  if (version != kProtocolVersion)
    return fail(
        fmt::format("protocol version mismatch: master {} speaks version {}, this smrun "
                    "speaks version {}",
                    config.master_host, version_text(version), kProtocolVersion));
  std::string nonce = string_field(challenge, "nonce");
  if (nonce.empty())
    return fail(fmt::format("master {} sent a CHALLENGE without a nonce", config.master_host));
  return nonce;
}

base::Status check_welcome(const nlohmann::json& reply, const ClusterConfig& config,
                           const std::string& worker_nonce) {
  auto fail = [](std::string message) {
    return base::fail(base::ErrorKind::kCluster, std::move(message));
  };
  std::string type = string_field(reply, "type");
  if (type == "refuse")
    return fail(fmt::format("master {} refused {}: {}", config.master_host, config.current_host,
                            string_field(reply, "reason")));
  if (type != "welcome")
    return fail(fmt::format("master {} answered the HELLO with \"{}\" instead of WELCOME",
                            config.master_host, type));
  std::string job = string_field(reply, "job");
  if (job != config.job_name)
    return fail(
        fmt::format("job name mismatch: master {} runs job \"{}\", this host runs job "
                    "\"{}\"",
                    config.master_host, job, config.job_name));
  if (config.token) {
    std::string proof = string_field(reply, "proof");
    if (!same_secret(proof, token_proof(*config.token, worker_nonce)))
      return fail(
          fmt::format("master {} failed the SMRUN_CLUSTER_TOKEN check", config.master_host));
  }
  return {};
}

}  // namespace smrun::cluster
