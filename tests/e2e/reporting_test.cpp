// What smrun writes about a run: the user's stderr relayed intact, failure files bounded and led
// by the root cause, secrets scrubbed; plus the hyperparameter-name corner cases of argv/SM_HP_*.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

TEST(Reporting, StderrIsRelayedCompletelyAndInOrder) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import sys\n"
                      "for i in range(100000):\n"
                      "    sys.stderr.write('line %06d\\n' % i)\n"
                      "sys.stderr.write('no newline at end')\n");
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  std::string expected;
  for (int i = 0; i < 100000; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "line %06d\n", i);
    expected += buf;
  }
  expected += "no newline at end";
  EXPECT_NE(r.err.find(expected), std::string::npos) << "relayed stderr lost or reordered bytes";
}

TEST(Reporting, StdoutPassesThrough) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import sys\n"
                      "sys.stdout.write(''.join('out %06d\\n' % i for i in range(50000)))\n");
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected;
  for (int i = 0; i < 50000; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "out %06d\n", i);
    expected += buf;
  }
  EXPECT_NE(r.out.find(expected), std::string::npos);
}

// Outcome files from an earlier run in the same output dir are moved aside at start: a stale
// failure is neither credited to this run nor left next to its success.
TEST(Reporting, EarlierOutcomeFilesAreMovedAside) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py", "print('ok')\n");
  write_file(job.failure_file(), "AlgorithmError: from yesterday\n");
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(job.success_file()));
  EXPECT_FALSE(fs::exists(job.failure_file()));
  EXPECT_EQ(read_file(job.output_dir() / "failure.previous"), "AlgorithmError: from yesterday\n");
  EXPECT_NE((r.out + r.err)
                .find(job.failure_file().string() + " is from an earlier run: moved it to " +
                      (job.output_dir() / "failure.previous").string()),
            std::string::npos)
      << r.out << r.err;

  // Next run fails: its own failure file, no success left from the run before.
  job.write_code_file("train.py", "import sys\nsys.exit(4)\n");
  ProcessResult r2 = job.run_train();
  ASSERT_EQ(r2.exit_code, 4) << r2.err;
  EXPECT_FALSE(fs::exists(job.success_file()));
  EXPECT_TRUE(fs::exists(job.output_dir() / "success.previous"));
  EXPECT_EQ(
      read_file(job.failure_file()).rfind("ExecuteUserScriptError: train.py exited with code 4", 0),
      0u)
      << read_file(job.failure_file());

  // A config error is reported as this run's, not hidden behind the earlier failure file.
  write_file(job.config_dir() / "hyperparameters.json", "{");
  ProcessResult r3 = job.run_train();
  ASSERT_EQ(r3.exit_code, 65) << r3.err;
  EXPECT_NE(read_file(job.failure_file()).find("invalid JSON"), std::string::npos);
  EXPECT_EQ(read_file(job.output_dir() / "failure.previous.2")
                .rfind("ExecuteUserScriptError: train.py exited with code 4", 0),
            0u);
}

// A failure file the program itself writes during the run is still its own word.
TEST(Reporting, FailureFileWrittenByTheProgramIsKept) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import os, sys\n"
                      "open(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w')"
                      ".write('my own reason\\n')\n"
                      "sys.exit(2)\n");
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(read_file(job.failure_file()), "my own reason\n");
}

// An output dir that cannot take files fails the job before the program starts, not after it
// trained. As root (CI), output/ becomes a read-only bind mount in a private mount namespace;
// otherwise its permission bits say no.
TEST(Reporting, UnwritableOutputFailsBeforeTheProgramStarts) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import os\nopen(os.path.join(os.environ['E2E_SCRATCH'], 'ran'), 'w')\n");
  fs::create_directories(job.output_dir() / "data");
  ProcessResult r;
  if (::geteuid() == 0) {
    r = job.run_train_after_mount(
        {"--bind", "-o", "ro", job.output_dir().string(), job.output_dir().string()});
  } else {
    fs::permissions(job.output_dir(), fs::perms::owner_read | fs::perms::owner_exec);
    r = job.run_train();
    fs::permissions(job.output_dir(), fs::perms::owner_all);
  }
  EXPECT_EQ(r.exit_code, 70) << r.err;
  EXPECT_FALSE(fs::exists(job.scratch() / "ran")) << "the program ran with an unwritable output";
  EXPECT_NE(r.err.find("cannot write to " + job.output_dir().string() + ": "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the program was not started, since its model and outcome could not be "
                       "saved"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Encountered exit_code 70"), std::string::npos) << r.err;
}

// The logged command can be pasted into a shell to rerun the program with the same argv.
TEST(Reporting, LoggedCommandIsShellQuoted) {
  JobDir job;
  job.write_sdk_hyperparameters(
      {{"sagemaker_program", "train.py"}, {"name", "hello world"}, {"q", "it's $HOME"}});
  job.write_code_file("train.py", "import sys\nsys.exit(3)\n");
  ProcessResult r = job.run_train();
  ASSERT_EQ(r.exit_code, 3) << r.err;
  const std::string expected = " -u train.py --name 'hello world' -q 'it'\\''s $HOME'\n";
  const std::string log = r.out + r.err;
  const auto at = log.find("Invoking user script: ");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string line = log.substr(at, log.find('\n', at) + 1 - at);
  EXPECT_GE(line.size(), expected.size()) << line;
  EXPECT_EQ(line.substr(line.size() - std::min(line.size(), expected.size())), expected) << line;
  // The failure file names the same, pasteable command.
  EXPECT_NE(read_file(job.failure_file()).find("--name 'hello world' -q 'it'\\''s $HOME'"),
            std::string::npos)
      << read_file(job.failure_file());
}

TEST(Reporting, FailureFileIsBoundedAndLedByTheException) {
  JobDir job;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import sys\n"
                      "for i in range(20000):\n"
                      "    print('noise %06d ' % i + 'x' * 40, file=sys.stderr)\n"
                      "def step():\n"
                      "    raise RuntimeError('CUDA error: device-side assert triggered')\n"
                      "step()\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(first_line(failure), "ExecuteUserScriptError: train.py exited with code 1 on algo-1");
  EXPECT_EQ(line_at(failure, 1), "RuntimeError: CUDA error: device-side assert triggered");
  // The FailureReason window shows the end of the traceback too.
  EXPECT_NE(failure.substr(0, 1024).find("raise RuntimeError"), std::string::npos)
      << failure.substr(0, 1024);
  // ~1 MB of stderr must not become a 1 MB failure file.
  EXPECT_LT(failure.size(), 24u * 1024) << "failure file is " << failure.size() << " bytes";
  EXPECT_EQ(failure.find("noise 000000"), std::string::npos) << "the head of stderr was kept";
}

TEST(Reporting, SecretsAreScrubbedFromWhatSmrunWrites) {
  JobDir job;
  const std::string secret = "tok-5ecret-Value-42";
  nlohmann::ordered_json hps = {{"sagemaker_program", "train.py"}, {"api_token", secret}};
  job.write_sdk_hyperparameters(hps);
  job.write_code_file("train.py",
                      "import sys\n"
                      "print('connecting with ' + sys.argv[2], file=sys.stderr)\n"
                      "raise PermissionError('token ' + sys.argv[2] + ' rejected')\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(failure.find(secret), std::string::npos) << failure;
  EXPECT_EQ(line_at(failure, 1), "PermissionError: token **** rejected") << failure;
  // smrun's own log lines (not the relayed user stderr) must not carry it either.
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" smrun ") != std::string::npos) {
      EXPECT_EQ(line.find(secret), std::string::npos) << "smrun logged the secret: " << line;
    }
  }
}

TEST(Reporting, InheritedSecretVariablesAreScrubbedFromTheFailureFile) {
  JobDir job;
  const std::string secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY";
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}});
  job.write_code_file("train.py",
                      "import os\n"
                      "raise RuntimeError('bad key ' + os.environ['AWS_SECRET_ACCESS_KEY'])\n");
  ProcessResult r = job.run_train({{"AWS_SECRET_ACCESS_KEY", secret}});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(failure.find(secret), std::string::npos) << failure;
  EXPECT_EQ(line_at(failure, 1), "RuntimeError: bad key ****") << failure;
}

TEST(Reporting, HyperparameterNameCornerCases) {
  JobDir job;
  // File order matters for the case collision: the later "LR" wins SM_HP_LR.
  job.write_hyperparameters_json(
      "{\"sagemaker_program\": \"\\\"train.py\\\"\", \"\": \"\\\"x\\\"\", \"lr\": \"1\", "
      "\"LR\": \"2\", \"a\": \"1\", \"B\": \"2\", \"batch-size\": \"3\", "
      "\"\\u00df\": \"\\\"s\\\"\", \"\\u00e9\": \"4\"}");
  job.write_code_file("train.py", kPythonProbe);
  ProcessResult r = job.run_train({{"E2E_PROBE_OUT", (job.scratch() / "probe.json").string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  std::vector<std::string> argv = probe.at("argv");
  ASSERT_FALSE(argv.empty());
  // Code-point order; one dash for one-character names, counted in characters ("é", "ß").
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 1, argv.end()),
            (std::vector<std::string>{"", "x", "-B", "2", "--LR", "2", "-a", "1", "--batch-size",
                                      "3", "--lr", "1", "-\xc3\x9f", "s", "-\xc3\xa9", "4"}));
  const nlohmann::json& env = probe.at("env");
  EXPECT_EQ(env.value("SM_HP_", "<unset>"), "x");
  EXPECT_EQ(env.value("SM_HP_LR", "<unset>"), "2");
  EXPECT_EQ(env.value("SM_HP_A", "<unset>"), "1");
  EXPECT_EQ(env.value("SM_HP_B", "<unset>"), "2");
  EXPECT_EQ(env.value("SM_HP_BATCH-SIZE", "<unset>"), "3");
  EXPECT_EQ(env.value("SM_HP_SS", "<unset>"), "s");        // "ß".upper() == "SS"
  EXPECT_EQ(env.value("SM_HP_\xc3\x89", "<unset>"), "4");  // "é".upper() == "É"
}

}  // namespace
}  // namespace smrun::test::e2e
