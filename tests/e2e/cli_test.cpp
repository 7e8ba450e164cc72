// The command line: `train` as the program name (how SageMaker starts the container), usage
// errors, `smrun version`, and a start-up smoke test with nothing pinned but the base dir.

#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

constexpr const char* kMarkerScript =
    "import os, sys\n"
    "with open(os.path.join(os.environ['E2E_SCRATCH'], 'ran'), 'w') as f:\n"
    "    f.write(' '.join(sys.argv[1:]))\n";

TEST(Cli, InvokedAsTrainBehavesLikeSmrunTrain) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}, {"epochs", 2}});
  job.write_code_file("train.py", kMarkerScript);
  const fs::path bin = job.scratch() / "bin";
  fs::create_directories(bin);
  fs::create_symlink(smrun_binary(), bin / "train");

  // `docker run IMAGE train`: found on PATH, run with no arguments.
  ProcessOptions options;
  options.argv = {(bin / "train").string()};
  options.env = job.environment({{"PATH", bin.string() + ":/usr/local/bin:/usr/bin:/bin"}});
  options.timeout = 90s;
  ProcessResult r = run_process(options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(job.scratch() / "ran"));
  EXPECT_EQ(read_file(job.scratch() / "ran"), "--epochs 2");
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_NE(r.err.find("Reporting training SUCCESS"), std::string::npos);
}

// The first line says what runs where; the last line is the verdict with the program's run time.
TEST(Cli, BannerFirstAndRunTimeLast) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", "import sys\nsys.exit(5)\n");
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 5) << r.err;
  const std::regex banner(
      R"(smrun INFO     smrun \d+\.\d+\.\d+ \(commit ([0-9a-f]+|unknown), [A-Za-z]+, (static|dynamic)\) )"
      R"(on algo-1: hosts algo-1; launcher process; 4 CPUs, 0 GPUs, 0 Neuron cores\n)");
  EXPECT_TRUE(std::regex_search(r.err, banner)) << r.err;
  std::string last = r.err;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  last = last.substr(last.rfind('\n') + 1);
  EXPECT_TRUE(std::regex_search(
      last, std::regex(R"(smrun INFO     smrun finished with exit code 5 after \d+\.\d{3} s; )"
                       R"(the program ran \d+\.\d{3} s; smrun used \d+\.\d{4} s of CPU$)")))
      << last;

  // Stopped before the program: the last line says so.
  job.write_sdk_hyperparameters({{"sagemaker_program", "missing.py"}, {"x", 1}});
  write_file(job.config_dir() / "hyperparameters.json", "{");
  ProcessResult bad = job.run_train();
  ASSERT_EQ(bad.exit_code, 65);
  EXPECT_TRUE(std::regex_search(
      bad.err, std::regex(R"(the program did not start; smrun used \d+\.\d{4} s of CPU\n)")))
      << bad.err;
}

TEST(Cli, UnknownCommandIsUsageError) {
  JobDir job;
  ProcessResult r = job.run_smrun({"bogus"}, job.environment());
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(job.output_dir()));
}

TEST(Cli, NoCommandIsUsageError) {
  JobDir job;
  ProcessResult r = job.run_smrun({}, job.environment());
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("usage"), std::string::npos) << r.err;
}

TEST(Cli, TrainTakesNoArguments) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", kMarkerScript);
  ProcessResult r = job.run_smrun({"train", "extra"}, job.environment());
  EXPECT_EQ(r.exit_code, 64) << r.err;
  // A usage error, not a log line.
  EXPECT_EQ(r.err,
            "smrun: error: train takes no arguments (got 'extra'); settings come from the "
            "environment\nusage: smrun train\n(`smrun train --help` for more)\n");
  EXPECT_FALSE(fs::exists(job.scratch() / "ran"));
  EXPECT_FALSE(fs::exists(job.success_file()));
}

TEST(Cli, EveryCommandHasHelpInOneStyle) {
  JobDir job;
  for (const char* command : {"train", "env", "pack", "s3", "version"}) {
    ProcessResult r = job.run_smrun({command, "--help"}, job.environment());
    EXPECT_EQ(r.exit_code, 0) << command << r.err;
    EXPECT_EQ(r.out.rfind(std::string("usage: smrun ") + command, 0), 0u) << r.out;
    EXPECT_NE(r.out.find("\nexit codes:\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "") << command;
  }
  ProcessResult bad = job.run_smrun({"env", "--bogus"}, job.environment());
  EXPECT_EQ(bad.exit_code, 64);
  EXPECT_EQ(bad.err.rfind("smrun: error: ", 0), 0u) << bad.err;
  EXPECT_NE(bad.err.find("\nusage: smrun env [--format json|dotenv|shell] [--show-secrets]\n"),
            std::string::npos)
      << bad.err;
  EXPECT_FALSE(fs::exists(job.output_dir()));
}

TEST(Cli, TrainSymlinkWithArgumentsIsUsageError) {
  JobDir job;
  const fs::path link = job.scratch() / "train";
  fs::create_symlink(smrun_binary(), link);
  ProcessOptions options;
  options.argv = {link.string(), "extra"};
  options.env = job.environment();
  ProcessResult r = run_process(options);
  EXPECT_EQ(r.exit_code, 64) << r.err;
}

// Runs git (the one CMake found, SMRUN_GIT) on the source dir; nullopt without git.
std::optional<ProcessResult> git_in_source_dir(const std::vector<std::string>& args) {
  const std::string git = SMRUN_GIT;
  if (git.empty()) return std::nullopt;
  ProcessOptions options;
  options.argv = {git, "-c", "safe.directory=" + source_dir().string(), "-C",
                  source_dir().string()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  return run_process(options);
}

// Exactly "smrun 0.1.0 (commit 0dd077a, RelWithDebInfo, dynamic)": the project version, the
// commit the binary was built from, the build type, and the linkage (the test suite is never
// built static; scripts/package.sh checks the static binary's line).
TEST(Cli, VersionNamesVersionCommitBuildTypeAndLinkage) {
  JobDir job;
  const std::string head = "smrun " SMRUN_EXPECTED_VERSION " (commit ";
  const std::string tail = ", " SMRUN_EXPECTED_BUILD_TYPE ", dynamic)\n";
  std::string commit;
  for (const char* command : {"version", "--version"}) {
    ProcessResult r = job.run_smrun({command}, job.environment());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    ASSERT_TRUE(r.out.starts_with(head) && r.out.ends_with(tail) &&
                r.out.size() > head.size() + tail.size())
        << r.out;
    commit = r.out.substr(head.size(), r.out.size() - head.size() - tail.size());
    ASSERT_TRUE(std::regex_match(commit, std::regex("[0-9a-f]{7,40}|unknown"))) << r.out;
  }

  // Built in a git checkout, the commit is one of the checkout's commits (HEAD at build time;
  // HEAD may have moved since); built outside one, it is "unknown".
  const auto toplevel = git_in_source_dir({"rev-parse", "--show-toplevel"});
  if (!toplevel) GTEST_SKIP() << "no git found at configure time: commit " << commit;
  const bool in_checkout =
      toplevel->exit_code == 0 &&
      fs::equivalent(toplevel->out.substr(0, toplevel->out.find('\n')), source_dir());
  if (!in_checkout) {
    EXPECT_EQ(commit, "unknown");
    return;
  }
  ASSERT_NE(commit, "unknown");
  const auto exists = git_in_source_dir({"cat-file", "-e", commit + "^{commit}"});
  EXPECT_EQ(exists->exit_code, 0) << commit << " is not a commit of " << source_dir() << ": "
                                  << exists->err;
}

TEST(Cli, EnvRejectsUnknownFormat) {
  JobDir job;
  ProcessResult r = job.run_env({"--format", "yaml"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("yaml"), std::string::npos) << r.err;
}

// Start-up in a clean environment with real device detection (nothing pinned but the base
// dir): no GPU tools on PATH means SM_NUM_GPUS=0, and the CPU count is the online CPUs.
TEST(Cli, StartupSmokeWithRealDeviceDetection) {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"})
    if (access((fs::path(dir) / "nvidia-smi").c_str(), X_OK) == 0)
      GTEST_SKIP() << "nvidia-smi present in " << dir << ": this machine has GPU tooling";
  if (fs::exists("/proc/driver/nvidia/gpus")) GTEST_SKIP() << "NVIDIA driver present";
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", kPythonProbe);
  Env env = without(job.environment({{"E2E_PROBE_OUT", (job.scratch() / "probe.json").string()}}),
                    {"SMRUN_NUM_GPUS", "SMRUN_NUM_CPUS", "SMRUN_NUM_NEURONS"});
  ProcessResult r = job.run_smrun({"train"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe.at("env").at("SM_NUM_GPUS"), "0");
  EXPECT_EQ(probe.at("env").at("SM_NUM_CPUS"), std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_TRUE(fs::exists(job.success_file()));
}

TEST(Cli, MissingConfigFilesStillRun) {
  // A bare tree (no hyperparameters/inputdata/resource config) runs as one local host.
  JobDir job;
  fs::remove(job.config_dir() / "resourceconfig.json");
  job.write_code_file("train.py", kPythonProbe);
  ProcessResult r = job.run_train({{"SAGEMAKER_PROGRAM", "train.py"},
                                   {"E2E_PROBE_OUT", (job.scratch() / "probe.json").string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(probe.at("env").at("SM_CURRENT_HOST"), std::string(host));
  EXPECT_EQ(probe.at("env").at("SM_HPS"), "{}");
  EXPECT_EQ(probe.at("env").at("SM_CHANNELS"), "[]");
}

// The README's quickstart, the way scripts/run-example.sh runs it.
TEST(Cli, QuickstartExampleTrainsAndPacksTheModel) {
  JobDir job;
  const fs::path example = source_dir() / "examples" / "quickstart";
  fs::copy(example / "opt_ml", job.base(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const fs::path tarball = job.scratch() / "sourcedir.tar.gz";
  ProcessOptions tar;
  tar.argv = {fs::exists("/usr/bin/tar") ? "/usr/bin/tar" : "/bin/tar",
              "-czf",
              tarball.string(),
              "-C",
              (example / "code").string(),
              "."};
  tar.env = Env{{"PATH", "/usr/bin:/bin"}};
  ASSERT_EQ(run_process(tar).exit_code, 0);
  ProcessResult r = job.run_train({{"SAGEMAKER_SUBMIT_DIRECTORY", "file://" + tarball.string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(job.default_archive()));
  EXPECT_EQ(tar_members(job.default_archive()), std::vector<std::string>{"model.json"});
  nlohmann::json model = nlohmann::json::parse(read_file(job.model_dir() / "model.json"));
  EXPECT_EQ(model.at("hyperparameters").at("epochs"), 60);
  EXPECT_EQ(model.at("hyperparameters").at("batch_size"), 16);
  EXPECT_EQ(model.at("hyperparameters").at("seed"), 7);
  EXPECT_TRUE(fs::exists(job.success_file()));
}

}  // namespace
}  // namespace smrun::test::e2e
