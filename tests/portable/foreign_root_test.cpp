// dist/smrun, the packaged static binary, as PID 1 of roots it was not built in:
//  - an empty root (nothing but smrun and the /opt/ml job tree, not even /proc or /dev);
//  - a root holding only busybox-static, with a #!/bin/sh entry point;
//  - minimal Debian roots of other releases (bullseye: glibc 2.31, Python 3.9; trixie: glibc
//    2.41, Python 3.13) from scripts/make-roots.sh, running the quickstart job and a two-host
//    job whose hosts are two containers over the same root, joined on loopback aliases.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "e2e/simulated_cluster.hpp"
#include "portable/portable_support.hpp"

namespace smrun::test::portable {
namespace {

constexpr auto kRunTimeout = 120s;

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// ---------------------------------------------------------------------------------------------
// An empty root: a static binary needs no loader, no libraries, no /proc, no /dev.

class EmptyRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    SMRUN_PORTABLE_NEED(missing_root_privileges());
    SMRUN_PORTABLE_NEED(missing_dist_smrun());
    container = std::make_unique<Container>(Container::plain());
    write_file(container->job() / "input" / "config" / "resourceconfig.json",
               R"({"current_host": "algo-1", "hosts": ["algo-1"]})");
    write_file(container->job() / "input" / "config" / "hyperparameters.json",
               e2e::sdk_json_dumps({{"epochs", "3"}, {"sagemaker_program", "\"train.py\""}}));
  }

  ProcessResult run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/local/bin/smrun"};
    argv.insert(argv.end(), args.begin(), args.end());
    return container->run(argv, container_env(), kRunTimeout, /*mount_proc=*/false,
                          /*dev_null=*/false);
  }

  std::unique_ptr<Container> container;
};

TEST_F(EmptyRoot, HoldsNothingButSmrunAndTheJob) {
  // What the root is made of, so the other tests prove what they claim.
  std::vector<std::string> entries;
  const fs::path root = container->job().parent_path().parent_path();
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (!e.is_directory()) entries.push_back(fs::relative(e.path(), root).string());
  EXPECT_EQ(sorted(entries), (std::vector<std::string>{"opt/ml/input/config/hyperparameters.json",
                                                       "opt/ml/input/config/resourceconfig.json",
                                                       "usr/local/bin/smrun"}));
}

TEST_F(EmptyRoot, Version) {
  ProcessResult r = run({"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dist_smrun_version());
}

TEST_F(EmptyRoot, EnvDryRun) {
  ProcessResult r = run({"env", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["current_host"], "algo-1");
  EXPECT_EQ(doc["hosts"], nlohmann::json::array({"algo-1"}));
  EXPECT_EQ(doc["entry_point"], "train.py");
  EXPECT_EQ(doc["user_args"], nlohmann::json::array({"--epochs", "3"}));
  EXPECT_EQ(doc["cwd"], "/opt/ml/code");
  const auto& env = doc["env"];
  EXPECT_EQ(env["SM_CURRENT_HOST"], "algo-1");
  EXPECT_EQ(env["SM_MODEL_DIR"], "/opt/ml/model");
  EXPECT_EQ(env["SM_HP_EPOCHS"], "3");
  EXPECT_EQ(env["SM_NUM_GPUS"], "0");
  // CPUs are counted without /proc or /sys.
  const std::string cpus = env.value("SM_NUM_CPUS", "");
  const bool digits =
      std::all_of(cpus.begin(), cpus.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  EXPECT_TRUE(!cpus.empty() && digits && cpus != "0") << "SM_NUM_CPUS=" << cpus;
}

// ---------------------------------------------------------------------------------------------
// busybox-static and nothing else: a shell-script entry point runs end to end.

class BusyboxRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    SMRUN_PORTABLE_NEED(missing_root_privileges());
    SMRUN_PORTABLE_NEED(missing_dist_smrun());
    fs::path busybox;
    for (const char* candidate : {"/bin/busybox", "/usr/bin/busybox"})
      if (::access(candidate, X_OK) == 0) busybox = candidate;
    SMRUN_PORTABLE_NEED(busybox.empty() ? "busybox is missing: install Debian's busybox-static"
                                        : "");
    ProcessOptions ldd;
    ldd.argv = {"/usr/bin/ldd", busybox.string()};
    ldd.env = Env{{"PATH", "/usr/bin:/bin"}, {"LC_ALL", "C"}};
    const ProcessResult dynamic = run_process(ldd);
    SMRUN_PORTABLE_NEED(dynamic.exit_code == 0 ? busybox.string() +
                                                     " is dynamically linked: install Debian's "
                                                     "busybox-static"
                                               : "");
    container = std::make_unique<Container>(Container::plain());
    container->copy(busybox, "/bin/busybox");
    for (const char* applet : {"sh", "mkdir", "cat", "ls"})
      container->symlink("busybox", std::string("/bin/") + applet);
    for (const char* dir : {"/proc", "/dev", "/tmp"}) container->mkdir(dir);
    container->write("/dev/null", "");  // the mount point of the host's /dev/null
    write_shell_job(container->job());
  }

  std::unique_ptr<Container> container;
};

TEST_F(BusyboxRoot, ShellScriptJobRunsEndToEnd) {
  ProcessResult r = container->run({"/usr/local/bin/smrun", "train"}, container_env(), kRunTimeout);
  ASSERT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("args: --epochs 3 --mode fast\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"(host: algo-1 hps: {"epochs":3,"mode":"fast"})"), std::string::npos)
      << r.out;
  const fs::path output = container->job() / "output";
  EXPECT_TRUE(fs::exists(output / "success"));
  EXPECT_FALSE(fs::exists(output / "failure"));
  ASSERT_TRUE(fs::exists(output / "model.tar.gz")) << r.err;
  EXPECT_EQ(sorted(e2e::tar_members(output / "model.tar.gz")),
            (std::vector<std::string>{"model.txt", "sub/extra.txt"}));
}

// ---------------------------------------------------------------------------------------------
// Debian roots of other releases, each with python3 (scripts/make-roots.sh).

// A two-rank job without torch: rank 0 listens on MASTER_ADDR:MASTER_PORT (host algo-1's
// loopback alias), rank 1 on the other host connects and sends rank+1, rank 0 answers with the
// sum (1 + 2) and saves it as the model. Python 3.9 compatible.
constexpr const char* kRendezvousScript = R"PY(import json, os, socket, time

rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])
host = os.environ["SM_CURRENT_HOST"]
addr = (os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))

if rank == 0:
    server = socket.create_server(addr)
    server.settimeout(60)
    peers = [server.accept()[0] for _ in range(world - 1)]
    total = 1 + sum(int(p.makefile("r").readline()) for p in peers)
    for p in peers:
        p.sendall(b"%d\n" % total)
else:
    deadline = time.monotonic() + 60
    while True:  # rank 0 may not be listening yet
        try:
            conn = socket.create_connection(addr, timeout=60)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    conn.sendall(b"%d\n" % (rank + 1))
    total = int(conn.makefile("r").readline())
print("rank=%d world=%d host=%s master=%s sum=%d" % (rank, world, host, addr[0], total), flush=True)
if rank == 0:
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
        json.dump({"sum": total, "world": world}, f)
)PY";

struct Suite {
  const char* name;
  const char* debian_version_major;  // /etc/debian_version starts with this
};

void PrintTo(const Suite& suite, std::ostream* os) {
  *os << suite.name;
}

class DebianRoot : public ::testing::TestWithParam<Suite> {
 protected:
  void SetUp() override {
    SMRUN_PORTABLE_NEED(missing_root_privileges());
    SMRUN_PORTABLE_NEED(missing_dist_smrun());
    SMRUN_PORTABLE_NEED(missing_cached_root(GetParam().name));
    cached = roots_dir() / GetParam().name;
    // The cache holds what its name says.
    const std::string version = read_file(cached / "etc" / "debian_version");
    ASSERT_EQ(version.rfind(GetParam().debian_version_major, 0), 0u)
        << cached << "/etc/debian_version: " << version;
  }

  fs::path cached;
};

TEST_P(DebianRoot, QuickstartJob) {
  Container c = Container::over(cached);
  const std::string submit = write_quickstart_job(c.job());
  ProcessResult r = c.run({"/usr/local/bin/smrun", "train"},
                          container_env({{"SAGEMAKER_SUBMIT_DIRECTORY", submit}}), kRunTimeout);
  expect_quickstart_succeeded(c.job(), r, std::string("in ") + GetParam().name);
  // The cached root is untouched: every write went to the container's overlay.
  EXPECT_FALSE(fs::exists(cached / "usr" / "local" / "bin" / "smrun"));
  EXPECT_TRUE(fs::is_empty(cached / "opt")) << "the job wrote into the cached root";
}

TEST_P(DebianRoot, TwoHostsOnLoopbackAliases) {
  const int port = e2e::pick_port();
  const std::string hosts = R"(["algo-1", "algo-2"])";
  std::vector<Container> containers;
  for (int i = 1; i <= 2; ++i) {
    Container c = Container::over(cached);
    const fs::path config = c.job() / "input" / "config";
    fs::create_directories(config);
    write_file(config / "resourceconfig.json", "{\"current_host\": \"algo-" + std::to_string(i) +
                                                   "\", \"hosts\": " + hosts +
                                                   ", \"network_interface_name\": \"lo\"}");
    write_file(config / "hyperparameters.json",
               e2e::sdk_json_dumps({{"sagemaker_program", "\"rendezvous.py\""},
                                    {"sagemaker_torch_distributed_enabled", "true"}}));
    write_file(c.job() / "code" / "rendezvous.py", kRendezvousScript);
    containers.push_back(std::move(c));
  }
  const Env env = container_env({{"SMRUN_HOST_ADDRESSES", "algo-1=127.0.0.2,algo-2=127.0.0.3"},
                                 {"SMRUN_MASTER_ADDR_IP", "1"},
                                 {"SMRUN_MASTER_PORT", std::to_string(port)},
                                 {"SMRUN_CONTROL_PORT", std::to_string(port + 1)},
                                 {"SMRUN_HOST_WAIT_SECONDS", "60"},
                                 {"SMRUN_NPROC_PER_NODE", "1"},
                                 {"SMRUN_TERM_GRACE_SECONDS", "5"},
                                 {"TRAINING_JOB_NAME", "portable-two-hosts"}});
  // Both hosts run at once, each PID 1 of its own namespaces; the inits are SIGKILLed by their
  // destructors if the test fails before they end.
  std::vector<e2e::NamespaceInit> inits;
  for (const Container& c : containers) {
    e2e::Unavailable unavailable;
    auto init = c.start({"/usr/local/bin/smrun", "train"}, env, unavailable);
    ASSERT_TRUE(init) << unavailable.reason;
    inits.push_back(std::move(*init));
  }
  std::vector<ProcessResult> results;
  for (std::size_t i = 0; i < inits.size(); ++i) {
    auto r = inits[i].wait_for(kRunTimeout);
    ASSERT_TRUE(r) << "algo-" << i + 1 << " did not finish within " << kRunTimeout.count()
                   << " s; its stderr so far:\n"
                   << read_file(containers[i].stderr_file());
    results.push_back(*r);
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string host = "algo-" + std::to_string(i + 1);
    SCOPED_TRACE(host);
    EXPECT_EQ(results[i].exit_code, 0) << "stdout:\n"
                                       << results[i].out << "\nstderr:\n"
                                       << results[i].err;
    const std::string line =
        "rank=" + std::to_string(i) + " world=2 host=" + host + " master=127.0.0.2 sum=3\n";
    EXPECT_NE(results[i].out.find(line), std::string::npos) << "missing: " << line << "in:\n"
                                                            << results[i].out;
    EXPECT_TRUE(fs::exists(containers[i].job() / "output" / "success"));
  }
  const fs::path archive = containers[0].job() / "output" / "model.tar.gz";
  ASSERT_TRUE(fs::exists(archive));
  EXPECT_EQ(e2e::tar_members(archive), std::vector<std::string>{"model.json"});
}

INSTANTIATE_TEST_SUITE_P(Suites, DebianRoot,
                         ::testing::Values(Suite{"bullseye", "11."}, Suite{"trixie", "13."}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace smrun::test::portable
