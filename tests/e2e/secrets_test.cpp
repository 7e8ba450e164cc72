// Secret-looking hyperparameters and variables (base::is_secret_name, by name segment: password,
// secret, token, api_key, credential, ...) across everything smrun itself writes: its log on stdout
// and stderr (at debug level too), the failure file, the dry run in every format, the exec-limit
// message, and every host's failure file in a multi-host job. The user program still receives
// the real values; what the user program prints itself is its own output and is relayed intact.
// (env_command_test.cpp and reporting_test.cpp cover one name each; this covers the rule.)

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "e2e/job_fixture.hpp"
#include "e2e/simulated_cluster.hpp"

namespace smrun::test::e2e {
namespace {

// Every value is distinctive and long enough to be scrubbed (very short values are not, to keep
// reports readable).
const std::string kApiKey = "SECRET-api-key-1a2b3c";
const std::string kDbPassword = "SECRET-db-pass-4d5e6f";
const std::string kUpperToken = "SECRET-upper-token-7g8h";
const std::string kNestedToken = "SECRET-nested-token-9i0j";
const std::string kAwsSecret = "SECRET-aws-wJalrXUtnFEMI";
const std::string kCredential = "SECRET-my-credential-kl12";

nlohmann::ordered_json secret_hyperparameters(const std::string& program) {
  return {{"sagemaker_program", program},
          {"api_key", kApiKey},
          {"db_password", kDbPassword},
          {"SECRET_TOKEN", kUpperToken},
          {"opts", {{"depth", 2}, {"inner_token", kNestedToken}}},
          {"lr", 0.1}};
}

Env secret_env(const JobDir& job) {
  return {{"AWS_SECRET_ACCESS_KEY", kAwsSecret},
          {"MY_CREDENTIAL", kCredential},
          {"E2E_PROBE_OUT", (job.scratch() / "probe.json").string()}};
}

const std::vector<std::string>& all_secrets() {
  static const std::vector<std::string> s = {kApiKey,      kDbPassword, kUpperToken,
                                             kNestedToken, kAwsSecret,  kCredential};
  return s;
}

// Which secrets occur in `text`.
std::vector<std::string> leaked(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& s : all_secrets())
    if (text.find(s) != std::string::npos) out.push_back(s);
  return out;
}

// smrun's own log lines ("2024-01-01 00:00:00,000 smrun LEVEL ..."), not relayed user output.
std::string smrun_log_lines(const std::string& text) {
  static const std::regex kLogLine(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} smrun )");
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, kLogLine)) out += line + "\n";
  return out;
}

// Records argv and environment like kPythonProbe, then fails with `exit_code`, printing nothing.
constexpr const char* kSilentFailingProbe = R"PY(import json, os, sys
with open(os.environ["E2E_PROBE_OUT"], "w") as f:
    json.dump({"argv": sys.argv, "env": dict(os.environ)}, f)
sys.exit(3)
)PY";

void expect_real_values_received(const nlohmann::json& probe) {
  ASSERT_FALSE(probe.is_null());
  EXPECT_EQ(probe.at("argv"),
            (nlohmann::json{"train.py", "--SECRET_TOKEN", kUpperToken, "--api_key", kApiKey,
                            "--db_password", kDbPassword, "--lr", "0.1", "--opts",
                            "depth=2,inner_token=" + kNestedToken}));
  const nlohmann::json& env = probe.at("env");
  EXPECT_EQ(env.value("SM_HP_API_KEY", ""), kApiKey);
  EXPECT_EQ(env.value("SM_HP_DB_PASSWORD", ""), kDbPassword);
  EXPECT_EQ(env.value("SM_HP_SECRET_TOKEN", ""), kUpperToken);
  EXPECT_NE(env.value("SM_HPS", "").find(kNestedToken), std::string::npos);
  EXPECT_EQ(env.value("AWS_SECRET_ACCESS_KEY", ""), kAwsSecret);
  EXPECT_EQ(env.value("MY_CREDENTIAL", ""), kCredential);
}

TEST(Secrets, NeverInSmrunsOutputEvenAtDebugLevel) {
  JobDir job;
  nlohmann::ordered_json hps = secret_hyperparameters("train.py");
  hps["sagemaker_container_log_level"] = 10;  // smrun then logs the whole environment
  job.write_sdk_hyperparameters(hps);
  job.write_code_file("train.py", kSilentFailingProbe);
  ProcessResult r = job.run_train(secret_env(job));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  // The program printed nothing: everything on stdout and stderr is smrun's.
  EXPECT_NE(r.err.find("DEBUG    env SM_HPS="), std::string::npos) << "debug log missing";
  EXPECT_EQ(leaked(r.out + r.err), std::vector<std::string>{}) << r.err;
  ASSERT_TRUE(fs::exists(job.failure_file()));
  EXPECT_EQ(leaked(read_file(job.failure_file())), std::vector<std::string>{});
  expect_real_values_received(read_probe(job.scratch() / "probe.json"));
}

TEST(Secrets, UserOutputIsRelayedButTheFailureFileIsScrubbed) {
  JobDir job;
  job.write_sdk_hyperparameters(secret_hyperparameters("train.py"));
  job.write_code_file(
      "train.py",
      "import os, sys\n"
      "values = [sys.argv[2], sys.argv[4], sys.argv[6], sys.argv[10],\n"
      "          os.environ['AWS_SECRET_ACCESS_KEY'], os.environ['MY_CREDENTIAL']]\n"
      "print('stdout: ' + ' '.join(values))\n"
      "print('stderr: ' + ' '.join(values), file=sys.stderr)\n"
      "raise RuntimeError('rejected ' + ' '.join(values))\n");
  ProcessResult r = job.run_train(secret_env(job));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // The user's own output is theirs: relayed byte for byte, secrets included.
  const std::string joined = kUpperToken + " " + kApiKey + " " + kDbPassword +
                             " depth=2,inner_token=" + kNestedToken + " " + kAwsSecret + " " +
                             kCredential;
  EXPECT_NE(r.out.find("stdout: " + joined + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("stderr: " + joined + "\n"), std::string::npos) << r.err;
  // What smrun writes is scrubbed: its log lines and the failure file (whose stderr tail and
  // exception line quote the user's stderr).
  EXPECT_EQ(leaked(smrun_log_lines(r.err) + smrun_log_lines(r.out)), std::vector<std::string>{})
      << smrun_log_lines(r.err);
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_EQ(leaked(failure), std::vector<std::string>{}) << failure;
  EXPECT_EQ(line_at(failure, 1),
            "RuntimeError: rejected **** **** **** depth=2,inner_token=**** **** ****")
      << failure;
}

TEST(Secrets, DryRunMasksThemInEveryFormatUnlessAsked) {
  JobDir job;
  job.write_sdk_hyperparameters(secret_hyperparameters("train.py"));
  for (const std::string format : {"json", "dotenv", "shell"}) {
    ProcessResult r = job.run_env({"--format", format}, secret_env(job));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(leaked(r.out + r.err), std::vector<std::string>{}) << format << ":\n" << r.out;
  }
  ProcessResult masked = job.run_env({}, secret_env(job));
  const nlohmann::json env = nlohmann::json::parse(masked.out).at("env");
  EXPECT_EQ(env.at("SM_HP_API_KEY"), "****");
  EXPECT_EQ(env.at("SM_HP_SECRET_TOKEN"), "****");
  EXPECT_EQ(env.at("SM_HP_OPTS"), R"({"depth":2,"inner_token":"****"})");
  EXPECT_EQ(env.at("SM_HP_LR"), "0.1");  // only secrets are masked

  ProcessResult shown = job.run_env({"--show-secrets"}, secret_env(job));
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const nlohmann::json out = nlohmann::json::parse(shown.out);
  EXPECT_EQ(out.at("env").at("SM_HP_API_KEY"), kApiKey);
  EXPECT_EQ(out.at("env").at("SM_HP_DB_PASSWORD"), kDbPassword);
  EXPECT_EQ(out.at("env").at("SM_HP_SECRET_TOKEN"), kUpperToken);
  EXPECT_EQ(out.at("env").at("SM_HP_OPTS"),
            R"({"depth":2,"inner_token":")" + kNestedToken + R"("})");
  // Inherited variables are the container's, not part of what smrun prints.
  EXPECT_EQ(shown.out.find(kAwsSecret), std::string::npos);
}

TEST(Secrets, ExecLimitMessageNamesTheSecretButNeverShowsIt) {
  JobDir job;
  std::string huge = kApiKey;
  while (huge.size() < (200u << 10)) huge += "-" + kApiKey;
  job.write_sdk_hyperparameters({{"sagemaker_program", "train.py"}, {"api_key", huge}});
  job.write_code_file("train.py", "pass\n");
  ProcessResult r = job.run_train();
  EXPECT_EQ(r.exit_code, 126) << smrun_log_lines(r.err);
  ASSERT_TRUE(fs::exists(job.failure_file()));
  const std::string failure = read_file(job.failure_file());
  EXPECT_NE(failure.find("argument 4, the value after '--api_key'"), std::string::npos) << failure;
  EXPECT_NE(failure.find("SM_HP_API_KEY ("), std::string::npos) << failure;
  EXPECT_EQ(failure.find(kApiKey), std::string::npos) << failure;
  // smrun's log lines: only the invocation line is long, and it masks the value.
  EXPECT_EQ(smrun_log_lines(r.err).find(kApiKey), std::string::npos);
}

// Two simulated hosts with the process launcher: each runs the program, which fails quoting
// every secret. Whichever failure a host reports — its own or the other host's — its failure
// file and its own log lines carry none of them.
TEST(Secrets, EveryHostsFailureFileIsScrubbedInAMultiHostJob) {
  SimulatedCluster cluster(
      2, secret_hyperparameters("train.py"), "train.py",
      "import os, sys\n"
      "raise RuntimeError(os.environ['SM_CURRENT_HOST'] + ' rejected ' + sys.argv[4] + ' ' +\n"
      "                   os.environ['AWS_SECRET_ACCESS_KEY'])\n",
      "e2e-secrets");
  std::vector<ProcessResult> results =
      cluster.run_all({{"AWS_SECRET_ACCESS_KEY", kAwsSecret}, {"MY_CREDENTIAL", kCredential}});
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ProcessResult& r = results[i];
    SCOPED_TRACE("algo-" + std::to_string(i + 1));
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(leaked(smrun_log_lines(r.err) + smrun_log_lines(r.out)), std::vector<std::string>{})
        << smrun_log_lines(r.err);
    ASSERT_TRUE(fs::exists(cluster.hosts[i]->failure_file())) << r.err;
    const std::string failure = read_file(cluster.hosts[i]->failure_file());
    EXPECT_EQ(leaked(failure), std::vector<std::string>{}) << failure;
    EXPECT_NE(failure.find(" rejected **** ****"), std::string::npos) << failure;
  }
}

}  // namespace
}  // namespace smrun::test::e2e
