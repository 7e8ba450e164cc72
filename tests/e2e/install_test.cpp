// Python packages (setup.py in the code dir) and requirements.txt: smrun runs pip with the job's
// interpreter before the user program. pip needs an installable environment without network:
// a venv made by the test, with PIP_NO_INDEX so nothing is ever downloaded.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/fault_matrix.hpp"
#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

constexpr const char* kSetupPy =
    "from setuptools import setup\n"
    "setup(name='{name}', version='0.1', py_modules=['{name}'])\n";

std::string setup_py(const std::string& name) {
  std::string text = kSetupPy;
  for (std::size_t at = text.find("{name}"); at != std::string::npos; at = text.find("{name}"))
    text.replace(at, 6, name);
  return text;
}

// Records argv and where the module was imported from.
constexpr const char* kPackageModule =
    "import json, os, sys\n"
    "record = {'argv': sys.argv, 'file': __file__, 'name': __name__}\n"
    "with open(os.path.join(os.environ['E2E_SCRATCH'], 'package.json'), 'w') as f:\n"
    "    json.dump(record, f)\n";

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    venv = job.scratch() / "venv";
    std::string log;
    if (!make_pip_venv(venv, log)) {
      GTEST_SKIP() << "*** SKIPPED: cannot create a venv with pip using /usr/bin/python3 -m venv "
                      "(python3-venv / python3-pip missing?)\n"
                   << log;
    }
  }
  Env pip_env(Env extra = {}) const { return offline_pip_env(venv, std::move(extra)); }
  JobDir job;
  fs::path venv;
};

TEST_F(InstallTest, PythonPackageIsInstalledThenRunAsModule) {
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "pkgtrain.py"}, {"lr", 0.1}, {"tag", "a b"}});
  job.write_code_file("setup.py", setup_py("pkgtrain"));
  job.write_code_file("pkgtrain.py", kPackageModule);
  ProcessResult r = job.run_train(pip_env(), 100s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path record_file = job.scratch() / "package.json";
  ASSERT_TRUE(fs::exists(record_file)) << r.err;
  nlohmann::json record = nlohmann::json::parse(read_file(record_file));
  EXPECT_EQ(record.at("name"), "__main__");
  std::vector<std::string> argv = record.at("argv");
  ASSERT_FALSE(argv.empty());
  // python -m pkgtrain: argv[0] is the module's file.
  EXPECT_EQ(fs::path(argv.front()).filename(), "pkgtrain.py");
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 1, argv.end()),
            (std::vector<std::string>{"--lr", "0.1", "--tag", "a b"}));
  // The package really got installed into the venv.
  ProcessOptions show;
  show.argv = {(venv / "bin" / "python").string(), "-m", "pip", "show", "pkgtrain"};
  show.env = Env{{"PATH", "/usr/bin:/bin"}, {"PIP_DISABLE_PIP_VERSION_CHECK", "1"}};
  show.cwd = job.scratch();
  show.timeout = 60s;
  ProcessResult shown = run_process(show);
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("Name: pkgtrain"), std::string::npos) << shown.out;
}

TEST_F(InstallTest, RequirementsWithLocalPackageAreInstalledFirst) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("requirements.txt", "./localdep\n");
  job.write_code_file("localdep/setup.py", setup_py("localdep"));
  job.write_code_file("localdep/localdep.py", "VALUE = 42\n");
  job.write_code_file("train.py",
                      "import os, sys\n"
                      "sys.path = [p for p in sys.path if not p.startswith(os.getcwd())]\n"
                      "import localdep\n"
                      "assert 'site-packages' in localdep.__file__, localdep.__file__\n"
                      "with open(os.path.join(os.environ['E2E_SCRATCH'], 'value'), 'w') as f:\n"
                      "    f.write(str(localdep.VALUE))\n");
  ProcessResult r = job.run_train(pip_env(), 100s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(job.scratch() / "value")) << r.err;
  EXPECT_EQ(read_file(job.scratch() / "value"), "42");
  EXPECT_TRUE(fs::exists(job.success_file()));
}

TEST_F(InstallTest, FailingRequirementsExit67WithPipOutput) {
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("requirements.txt", "./does-not-exist\n");
  job.write_code_file("train.py",
                      "import os\n"
                      "open(os.path.join(os.environ['E2E_SCRATCH'], 'ran'), 'w').close()\n");
  ProcessResult r = job.run_train(pip_env(), 100s);
  EXPECT_EQ(r.exit_code, 67) << r.err;
  EXPECT_FALSE(fs::exists(job.scratch() / "ran")) << "the script ran despite the failed install";
  EXPECT_FALSE(fs::exists(job.success_file()));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(failure.rfind("InstallRequirementsError:", 0), 0u) << failure;
  // pip's own last lines: the reason a user needs.
  EXPECT_NE(failure.find("does-not-exist"), std::string::npos) << failure;
  EXPECT_NE(failure.find("does not exist"), std::string::npos) << failure;
  EXPECT_NE(r.err.find("Reporting training FAILURE"), std::string::npos) << r.err;
}

// pip fills its output with retry warnings when the index cannot be reached; the failure's first
// line (the FailureReason) carries pip's own ERROR line instead. The index is a loopback port
// that is bound but not listening, so every connection is refused at once.
TEST_F(InstallTest, UnreachableIndexReportsPipsErrorLineFirst) {
  const int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string index = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/simple";

  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("requirements.txt", "smrun-no-such-package\n");
  job.write_code_file("train.py", "pass\n");
  Env env = pip_env({{"PIP_INDEX_URL", index}, {"PIP_RETRIES", "3"}, {"PIP_TIMEOUT", "5"}});
  env.erase("PIP_NO_INDEX");
  ProcessResult r = job.run_train(env, 100s);
  ::close(sock);
  EXPECT_EQ(r.exit_code, 67) << r.err;
  const std::string failure = read_file(job.failure_file());
  const std::string first_line = failure.substr(0, failure.find('\n'));
  EXPECT_EQ(first_line.rfind("InstallRequirementsError: ", 0), 0u) << failure;
  EXPECT_TRUE(
      first_line.ends_with("failed with exit code 1: ERROR: No matching distribution found for "
                           "smrun-no-such-package (on algo-1)"))
      << failure;
  EXPECT_NE(failure.find("Retrying"), std::string::npos) << "the test did not make pip retry";
}

TEST_F(InstallTest, SigtermDuringInstallIsForwardedAndReported) {
  // Fault-matrix row (docs/reliability.md): pip's setup.py records its pid, announces itself,
  // then hangs until SIGTERM arrives.
  const FaultRow row = fault_row("sigterm-during-install", {{"<venv>", venv.string()}});
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("requirements.txt", "./slowdep\n");
  job.write_code_file("slowdep/setup.py",
                      "import os, time\n"
                      "scratch = os.environ['E2E_SCRATCH']\n"
                      "open(os.path.join(scratch, 'pid-setup.tmp'), 'w').write(str(os.getpid()))\n"
                      "os.rename(os.path.join(scratch, 'pid-setup.tmp'),\n"
                      "          os.path.join(scratch, 'pid-setup'))\n"
                      "time.sleep(120)\n");
  job.write_code_file("train.py",
                      "import os\n"
                      "open(os.path.join(os.environ['E2E_SCRATCH'], 'ran'), 'w').close()\n");
  BackgroundProcess smrun({smrun_binary().string(), "train"}, job.environment(pip_env()),
                          job.scratch() / "smrun.out", job.scratch() / "smrun.err");
  ASSERT_TRUE(wait_for_pid_files(job.scratch(), 1, 90s))
      << (fs::exists(job.scratch() / "smrun.err") ? read_file(job.scratch() / "smrun.err") : "");
  const auto injected = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(smrun.pid(), SIGTERM), 0);
  auto result = smrun.wait_for(row.bound + 20s);
  ASSERT_TRUE(result.has_value()) << "smrun did not exit after SIGTERM during install";
  expect_teardown_within_bound(row, std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - injected));
  expect_verdicts(row, {observe(*result, job)}, {result->err});
  EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_NE(first_line(read_file(job.failure_file())).find("SIGTERM"), std::string::npos);
  expect_all_gone(recorded_pids(job.scratch()), row.id);
}

}  // namespace
}  // namespace smrun::test::e2e
