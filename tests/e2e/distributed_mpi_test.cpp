// The MPI launcher end to end: two simulated hosts (loopback 127.0.0.2 and 127.0.0.3), each its
// own `smrun train`, each running a real OpenSSH daemon as its MPI service (SMRUN_MPI_SSHD) on
// its own address; the master's Open MPI mpirun reaches both through `ssh -F <config>`
// (SMRUN_MPI_RSH_AGENT), exactly as on a real cluster where algo-N resolves to each host.
// Needs root (sshd's privilege separation), Debian's openmpi-bin and openssh-server.

#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

#ifdef SMRUN_MPI_ALLREDUCE

constexpr const char* kSshd = "/usr/sbin/sshd";

std::string address_of(int host) {  // host 1 -> 127.0.0.2, as SimulatedCluster does
  return "127.0.0." + std::to_string(host + 1);
}

// Keys and configs for one OpenSSH daemon per simulated host, all on the same port of their
// own loopback address, and the client config mpirun's agent uses to reach them by host name.
class SshHosts {
 public:
  explicit SshHosts(int n) : m_port(pick_port()) {
    keygen(dir() / "host_key");
    keygen(dir() / "user_key");
    fs::copy_file(dir() / "user_key.pub", dir() / "authorized_keys");
    std::string client;
    for (int i = 1; i <= n; ++i) {
      const fs::path shm = dir() / ("shm-" + std::to_string(i));
      fs::create_directories(shm);
      // Both "hosts" share one kernel and one hostname: Open MPI's shared-memory segment
      // and session directory names would collide, so each host gets its own directories,
      // as separate machines have.
      write_file(dir() / ("sshd-algo-" + std::to_string(i) + ".conf"),
                 "ListenAddress " + address_of(i) + ":" + std::to_string(m_port) +
                     "\n"
                     "HostKey " +
                     (dir() / "host_key").string() +
                     "\n"
                     "AuthorizedKeysFile " +
                     (dir() / "authorized_keys").string() +
                     "\n"
                     "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                     "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\n"
                     "SetEnv OMPI_MCA_btl_vader_backing_directory=" +
                     shm.string() + " OMPI_MCA_orte_tmpdir_base=" + shm.string() + "\n");
      client += "Host algo-" + std::to_string(i) + "\n  HostName " + address_of(i) + "\n  Port " +
                std::to_string(m_port) + "\n";
    }
    // ConnectionAttempts: the master's own daemon starts next to mpirun (a real master is
    // local to mpirun and needs no ssh; here algo-1 is not this machine's hostname).
    client += "Host *\n  IdentityFile " + (dir() / "user_key").string() +
              "\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n"
              "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n"
              "  ConnectionAttempts 20\n  ConnectTimeout 5\n";
    write_file(dir() / "ssh_config", client);
  }

  // The environment every host's smrun gets; `host` is 1-based.
  Env env_for(int host) const {
    nlohmann::json daemon = {kSshd, "-D", "-e", "-f",
                             (dir() / ("sshd-algo-" + std::to_string(host) + ".conf")).string()};
    return {{"SMRUN_MPI_SSHD", daemon.dump()},
            {"SMRUN_MPI_SSH_PORT", std::to_string(m_port)},
            {"SMRUN_MPI_RSH_AGENT", "ssh -F " + (dir() / "ssh_config").string()}};
  }

 private:
  fs::path dir() const { return m_dir.path(); }
  static void keygen(const fs::path& key) {
    ProcessOptions o;
    o.argv = {"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.string()};
    o.timeout = 30s;
    auto r = run_process(o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  TempDir m_dir;
  int m_port;
};

class DistributedMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: sshd's privilege separation";
    if (!fs::exists(kSshd)) GTEST_SKIP() << "openssh-server is not installed";
    if (!fs::exists("/usr/bin/mpirun")) GTEST_SKIP() << "openmpi-bin is not installed";
    std::error_code ec;
    fs::create_directories("/run/sshd", ec);  // sshd's privilege separation directory
  }

  // Two hosts, 2 ranks each, the MPI program as a native entry point.
  std::unique_ptr<SimulatedCluster> make_cluster(nlohmann::ordered_json extra_hps) {
    nlohmann::ordered_json hps = {{"sagemaker_program", "mpi_allreduce"},
                                  {"sagemaker_mpi_enabled", true},
                                  {"sagemaker_mpi_num_of_processes_per_host", 2}};
    for (auto& [k, v] : extra_hps.items()) hps[k] = v;
    auto cluster = std::make_unique<SimulatedCluster>(2, hps, "README", "MPI test job\n");
    for (auto& host : cluster->hosts) {
      fs::copy_file(SMRUN_MPI_ALLREDUCE, host->code_dir() / "mpi_allreduce");
      // Ranks run the master's argv, so the program must exist at that path on every host.
    }
    return cluster;
  }

  std::vector<ProcessResult> run(SimulatedCluster& cluster, const SshHosts& ssh) {
    std::vector<std::future<ProcessResult>> running;
    for (std::size_t i = 0; i < cluster.hosts.size(); ++i) {
      Env env = cluster.shared;
      for (auto& [k, v] : ssh.env_for(static_cast<int>(i) + 1)) env[k] = v;
      running.push_back(std::async(std::launch::async, [&cluster, i, env] {
        return cluster.hosts[i]->run_train(env, 120s);
      }));
    }
    std::vector<ProcessResult> results;
    for (auto& r : running) results.push_back(r.get());
    return results;
  }
};

TEST_F(DistributedMpi, TwoHostsTimesTwoRanksAllReduceThroughSshd) {
  SshHosts ssh(2);
  auto cluster = make_cluster({});
  auto results = run(*cluster, ssh);
  for (std::size_t i = 0; i < results.size(); ++i)
    ASSERT_EQ(results[i].exit_code, 0) << "host " << i + 1 << " stdout:\n"
                                       << results[i].out << "\nstderr:\n"
                                       << results[i].err;
  // mpirun's tagged output comes through the master's relay.
  for (int rank = 0; rank < 4; ++rank) {
    // mpirun's "[1,<rank>]<stdout>:" tag becomes the usual "[host:rank] " prefix.
    const std::string line = std::string(rank < 2 ? "[algo-1:" : "[algo-2:") +
                             std::to_string(rank) + "] rank=" + std::to_string(rank) +
                             " world=4 local=" + std::to_string(rank % 2) + " allreduce=10";
    EXPECT_NE(results[0].out.find(line), std::string::npos) << "missing: " << line << "\nin:\n"
                                                            << results[0].out;
  }
  // algo-2's ranks really came in through algo-2's own daemon...
  EXPECT_NE(results[1].err.find("[algo-2:sshd] Accepted publickey for root from 127.0.0."),
            std::string::npos)
      << results[1].err;
  // ...which smrun stopped once the master released it, without calling that a failure.
  EXPECT_NE(results[1].err.find("the master's launcher finished"), std::string::npos)
      << results[1].err;
  EXPECT_TRUE(fs::exists(cluster->hosts[0]->success_file()));
  EXPECT_TRUE(fs::exists(cluster->hosts[1]->success_file()));
  EXPECT_TRUE(processes_with_marker(cluster->hosts[0]->code_dir().string()).empty());
  EXPECT_TRUE(processes_with_marker(cluster->hosts[1]->code_dir().string()).empty());
}

TEST_F(DistributedMpi, FailingRankFailsTheJobOnEveryHost) {
  SshHosts ssh(2);
  auto cluster = make_cluster({{"fail-rank", 3}, {"fail-code", 3}});
  auto results = run(*cluster, ssh);
  for (std::size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE("algo-" + std::to_string(i + 1));
    EXPECT_EQ(results[i].exit_code, 3) << results[i].err;
    ASSERT_TRUE(fs::exists(cluster->hosts[i]->failure_file()));
    const std::string failure = read_file(cluster->hosts[i]->failure_file());
    EXPECT_EQ(first_line(failure),
              "ExecuteUserScriptError: mpi_allreduce exited with code 3 on algo-2 (rank 3)")
        << failure;
    EXPECT_NE(failure.find("RuntimeError: rank 3 gives up with 3"), std::string::npos) << failure;
    EXPECT_FALSE(fs::exists(cluster->hosts[i]->success_file()));
  }
  EXPECT_TRUE(processes_with_marker(cluster->hosts[0]->code_dir().string()).empty());
}

TEST_F(DistributedMpi, SshDaemonThatNeverListensIsNamed) {
  SshHosts ssh(2);
  auto cluster = make_cluster({});
  std::vector<std::future<ProcessResult>> running;
  for (std::size_t i = 0; i < 2; ++i) {
    Env env = cluster->shared;
    for (auto& [k, v] : ssh.env_for(static_cast<int>(i) + 1)) env[k] = v;
    env["SMRUN_HOST_WAIT_SECONDS"] = "2";
    // algo-2's "daemon" runs but never listens.
    if (i == 1) env["SMRUN_MPI_SSHD"] = R"(["/bin/sleep", "600"])";
    running.push_back(std::async(
        std::launch::async, [&cluster, i, env] { return cluster->hosts[i]->run_train(env, 60s); }));
  }
  auto master = running[0].get();
  auto worker = running[1].get();
  EXPECT_EQ(master.exit_code, 69) << master.err;
  EXPECT_EQ(worker.exit_code, 69) << worker.err;
  const std::string failure = read_file(cluster->hosts[0]->failure_file());
  EXPECT_NE(failure.find("SSH daemons not reachable after 2s on port"), std::string::npos)
      << failure;
  EXPECT_NE(failure.find("algo-2 (127.0.0.3:"), std::string::npos) << failure;
}

#else
TEST(DistributedMpi, SkippedWithoutOpenMpi) {
  GTEST_SKIP() << "Open MPI (libopenmpi-dev) was not found at configure time";
}
#endif

}  // namespace
}  // namespace smrun::test::e2e
