// No user value ever reaches a shell command line. Hyperparameter names and values, channel
// names and inherited environment values full of shell syntax must arrive verbatim in the user
// program's argv and environment, nothing they spell may run (no marker file appears), and — seen
// from the kernel's side with strace — every execve that carries a user value carries it as one
// whole argv entry: never inside `sh -c "..."`, never glued to other text. The shell-script entry
// point legitimately runs `/bin/sh ./run.sh args...`; that is allowed, with each value its own
// entry. The pip install path (requirements.txt with a Python entry point) is traced too.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {
namespace {

// Every value carries "pwned" so the trace check can spot it inside any string; each names its
// own marker file, so a test failure says which quoting broke.
const std::vector<std::pair<std::string, std::string>>& hostile_hyperparameters() {
  static const std::vector<std::pair<std::string, std::string>> hps = {
      {"semicolon", "x; touch pwned_semicolon"},
      {"dollar", "$(touch pwned_dollar)"},
      {"backtick", "`touch pwned_backtick`"},
      {"squote", "' ; touch pwned_squote ; '"},
      {"dquote", "\" ; touch pwned_dquote ; \""},
      {"newline", "a\ntouch pwned_newline\n"},
      {"pipe", "| touch pwned_pipe"},
      {"and", "&& touch pwned_and"},
      {"or", "|| touch pwned_or"},
      {"redirect", "> pwned_redirect"},
      {"ifs", "${IFS}touch${IFS}pwned_ifs"},
      {"glob", "* pwned_glob"},
      {"x;touch pwned_name", "name"},  // the NAME is hostile here
  };
  return hps;
}

// Channel names with shell syntax are refused outright now (SageMaker's rule [A-Za-z0-9.\-_]+,
// config_errors_test.cpp); a valid one that reads like an option must still arrive verbatim.
const std::string kChannel = "-n.pwned_channel";
const std::string kEnvValue = "$(touch pwned_env) `touch pwned_env2`; touch pwned_env3 | && * '\"";

// The argv smrun must render: sorted names, "--name value".
std::vector<std::string> expected_user_args() {
  auto hps = hostile_hyperparameters();
  std::sort(hps.begin(), hps.end());
  std::vector<std::string> args;
  for (const auto& [k, v] : hps) {
    args.push_back("--" + k);
    args.push_back(v);
  }
  return args;
}

void write_hostile_job(const JobDir& job, const std::string& program) {
  nlohmann::ordered_json hps = {{"sagemaker_program", program}};
  for (const auto& [k, v] : hostile_hyperparameters()) hps[k] = v;
  job.write_sdk_hyperparameters(hps);
  job.write_input_data_config(nlohmann::json{{kChannel, {{"TrainingInputMode", "File"}}}}.dump());
  write_file(job.base() / "input" / "data" / kChannel / "part-0", "data");
}

Env hostile_env(const JobDir& job) {
  return {{"MY_ENV", kEnvValue}, {"E2E_PROBE_OUT", (job.scratch() / "probe.json").string()}};
}

// Every file or directory under the job's temp root whose name contains "pwned".
std::vector<std::string> markers(const JobDir& job) {
  std::vector<std::string> found;
  std::error_code ec;
  const fs::path root = job.base().parent_path();
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // The channel directory is named after the hostile channel name: data, not a marker.
    if (name.find("pwned") != std::string::npos && name != kChannel)
      found.push_back(it->path().string());
  }
  return found;
}

// --- strace ---------------------------------------------------------------------------------

constexpr const char* kStrace = "/usr/bin/strace";

// Why strace cannot be used here, or nullopt when it can trace a child.
std::optional<std::string> strace_unusable() {
  if (access(kStrace, X_OK) != 0)
    return std::string(kStrace) + " is not installed (scripts/setup-deps.sh installs strace)";
  ProcessOptions probe;
  probe.argv = {kStrace, "-f", "-qq", "-e", "trace=execve", "-o", "/dev/null", "--", "/bin/true"};
  probe.env = Env{{"PATH", "/usr/bin:/bin"}};
  probe.timeout = 30s;
  ProcessResult r = run_process(probe);
  if (r.exit_code != 0)
    return "strace cannot trace here (ptrace not permitted? yama ptrace_scope, seccomp or a "
           "container without CAP_SYS_PTRACE): exit " +
           std::to_string(r.exit_code) + ": " + r.err;
  return std::nullopt;
}

struct ExecCall {
  std::string path;
  std::vector<std::string> argv;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A string as strace -xx prints it ("\x2f\x62..."), starting at text[pos] == '"'. Advances pos
// past the closing quote (and a "..." truncation mark, which -s makes impossible here).
std::optional<std::string> parse_hex_string(const std::string& text, std::size_t& pos) {
  if (pos >= text.size() || text[pos] != '"') return std::nullopt;
  std::string out;
  ++pos;
  while (pos + 3 < text.size() && text[pos] == '\\' && text[pos + 1] == 'x') {
    const int hi = hex_digit(text[pos + 2]), lo = hex_digit(text[pos + 3]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    pos += 4;
  }
  if (pos >= text.size() || text[pos] != '"') return std::nullopt;
  ++pos;
  if (text.compare(pos, 3, "...") == 0) pos += 3;
  return out;
}

// Every execve in a `strace -f -xx -v -o FILE` trace (successful or not, finished or not).
std::vector<ExecCall> parse_execs(const std::string& trace, std::vector<std::string>& problems) {
  std::vector<ExecCall> calls;
  std::size_t line_start = 0;
  while (line_start < trace.size()) {
    std::size_t line_end = trace.find('\n', line_start);
    if (line_end == std::string::npos) line_end = trace.size();
    const std::string line = trace.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    std::size_t pos = line.find("execve(");
    if (pos == std::string::npos) continue;
    pos += 7;
    ExecCall call;
    auto path = parse_hex_string(line, pos);
    bool ok = path.has_value() && line.compare(pos, 3, ", [") == 0;
    if (ok) {
      call.path = *path;
      pos += 3;
      while (ok && pos < line.size() && line[pos] != ']') {
        auto arg = parse_hex_string(line, pos);
        if (!arg) {
          ok = false;
          break;
        }
        call.argv.push_back(*arg);
        if (line.compare(pos, 2, ", ") == 0) pos += 2;
      }
      ok = ok && pos < line.size();
    }
    if (!ok) {
      problems.push_back(line.substr(0, 300));
      continue;
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

bool is_shell(const std::string& program) {
  static const std::set<std::string> kShells = {"sh",  "bash", "dash",   "ash",
                                                "zsh", "ksh",  "busybox"};
  return kShells.count(fs::path(program).filename().string()) > 0;
}

// A "-c" option, alone or in a cluster ("-ec", "-lc").
bool is_command_option(const std::string& arg) {
  return arg.size() >= 2 && arg[0] == '-' && arg[1] != '-' && arg.find('c') != std::string::npos;
}

// The test's verdict on one trace: what went wrong, one line each.
std::vector<std::string> check_trace(const std::vector<ExecCall>& calls,
                                     const std::set<std::string>& whole_entries) {
  std::vector<std::string> violations;
  for (const auto& call : calls) {
    const bool shell = is_shell(call.path) || (!call.argv.empty() && is_shell(call.argv[0]));
    bool after_c = false;
    for (std::size_t i = 0; i < call.argv.size(); ++i) {
      const std::string& arg = call.argv[i];
      if (shell && i > 0 && is_command_option(arg)) after_c = true;
      if (arg.find("pwned") == std::string::npos) continue;
      if (shell && after_c)
        violations.push_back("user value inside a shell -c command: " + call.path + " argv[" +
                             std::to_string(i) + "] = " + arg);
      else if (whole_entries.count(arg) == 0)
        violations.push_back("user value glued into a larger argument: " + call.path + " argv[" +
                             std::to_string(i) + "] = " + arg);
    }
  }
  return violations;
}

// User values as whole argv entries: each value and each "--name" flag.
std::set<std::string> whole_user_entries() {
  const std::vector<std::string> args = expected_user_args();
  return std::set<std::string>(args.begin(), args.end());
}

// The checker itself: it must catch both ways a value can end up interpreted.
TEST(NoShellChecker, FlagsValuesInsideShellCommandsAndGluedIntoArguments) {
  const std::vector<ExecCall> calls = {
      {"/bin/sh", {"sh", "-c", "./run.sh '$(touch pwned_dollar)'"}},
      {"/bin/bash", {"bash", "-ec", "$(touch pwned_dollar)"}},  // even as the whole string
      {"/usr/bin/python3", {"python3", "--semicolon=x; touch pwned_semicolon"}},
      {"/bin/sh", {"/bin/sh", "./run.sh", "--dollar", "$(touch pwned_dollar)"}},        // fine
      {"/usr/bin/python3", {"python3", "-u", "train.py", "x; touch pwned_semicolon"}},  // fine
  };
  EXPECT_EQ(check_trace(calls, whole_user_entries()),
            (std::vector<std::string>{
                "user value inside a shell -c command: /bin/sh argv[2] = ./run.sh '$(touch "
                "pwned_dollar)'",
                "user value inside a shell -c command: /bin/bash argv[2] = $(touch pwned_dollar)",
                "user value glued into a larger argument: /usr/bin/python3 argv[1] = "
                "--semicolon=x; touch pwned_semicolon"}));
}

class NoShellTest : public ::testing::Test {
 protected:
  // smrun train under strace; returns the parsed execve calls (the test fails on unparsable
  // lines, so a format surprise cannot hide a violation).
  std::vector<ExecCall> run_traced(const Env& extra, ProcessResult& result) {
    if (auto why = strace_unusable()) {
      skip_reason = *why;
      return {};
    }
    const fs::path trace = job.scratch() / "execve.trace";
    Env env = job.environment(extra);
    // LeakSanitizer stops the world with ptrace, which a traced process cannot: the ASan
    // build would fail at exit under strace. Leaks are checked by every other test.
    env["ASAN_OPTIONS"] = "detect_leaks=0";
    ProcessOptions options;
    options.argv = {kStrace,
                    "-f",
                    "-qq",
                    "-v",
                    "-xx",
                    "-s",
                    "10000000",
                    "-e",
                    "trace=execve",
                    "-o",
                    trace.string(),
                    "--",
                    smrun_binary().string(),
                    "train"};
    options.env = env;
    options.cwd = job.base().parent_path();
    options.timeout = 150s;
    result = run_process(options);
    EXPECT_FALSE(result.timed_out);
    std::vector<std::string> problems;
    std::vector<ExecCall> calls = parse_execs(read_file(trace), problems);
    EXPECT_TRUE(problems.empty()) << "unparsable strace lines, first: " << problems.front();
    EXPECT_FALSE(calls.empty());
    return calls;
  }

  void check_probe_env(const nlohmann::json& env) {
    EXPECT_EQ(env.value("MY_ENV", "<unset>"), kEnvValue);
    EXPECT_EQ(env.value("SM_HP_SEMICOLON", "<unset>"), "x; touch pwned_semicolon");
    EXPECT_EQ(env.value("SM_HP_DOLLAR", "<unset>"), "$(touch pwned_dollar)");
    EXPECT_EQ(env.value("SM_HP_BACKTICK", "<unset>"), "`touch pwned_backtick`");
    EXPECT_EQ(env.value("SM_HP_NEWLINE", "<unset>"), "a\ntouch pwned_newline\n");
    EXPECT_EQ(env.value("SM_HP_GLOB", "<unset>"), "* pwned_glob");
    EXPECT_EQ(env.value("SM_CHANNEL_-N.PWNED_CHANNEL", "<unset>"),
              (job.base() / "input" / "data" / kChannel).string());
    EXPECT_EQ(env.value("SM_CHANNELS", "<unset>"), nlohmann::json{kChannel}.dump());
  }

  JobDir job;
  std::string skip_reason;
};

TEST_F(NoShellTest, PythonEntryPointGetsEveryValueVerbatim) {
  write_hostile_job(job, "train.py");
  job.write_code_file("train.py", kPythonProbe);
  ProcessResult r = job.run_train(hostile_env(job));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  std::vector<std::string> argv = probe.at("argv");
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 1, argv.end()), expected_user_args());
  check_probe_env(probe.at("env"));
  EXPECT_EQ(probe.at("env").value("SM_HP_X;TOUCH PWNED_NAME", "<unset>"), "name");
  EXPECT_EQ(markers(job), std::vector<std::string>{});
}

TEST_F(NoShellTest, TracedPythonEntryPointExecsNoShellWithUserValues) {
  write_hostile_job(job, "train.py");
  job.write_code_file("train.py", kPythonProbe);
  ProcessResult r;
  std::vector<ExecCall> calls = run_traced(hostile_env(job), r);
  if (!skip_reason.empty()) GTEST_SKIP() << "*** SKIPPED, no execve trace: " << skip_reason;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_trace(calls, whole_user_entries()), std::vector<std::string>{});
  // Positive control: the trace does show the user program's exec, with the exact argv.
  std::vector<std::string> expected = {"/usr/bin/python3", "-u", "train.py"};
  for (const auto& a : expected_user_args()) expected.push_back(a);
  EXPECT_TRUE(std::any_of(calls.begin(), calls.end(), [&](const ExecCall& c) {
    return c.path == "/usr/bin/python3" && c.argv == expected;
  })) << "the user program's execve is not in the trace";
  EXPECT_FALSE(std::any_of(calls.begin(), calls.end(), [](const ExecCall& c) {
    return is_shell(c.path);
  })) << "a Python entry point needs no shell at all";
  EXPECT_EQ(markers(job), std::vector<std::string>{});
  check_probe_env(read_probe(job.scratch() / "probe.json").at("env"));
}

// pip (requirements.txt next to a Python entry point) runs before the program, under the same
// trace: neither the install nor the program may put a user value into a shell command.
TEST_F(NoShellTest, TracedPipInstallAndPythonEntryPointExecNoShellWithUserValues) {
  const fs::path venv = job.scratch() / "venv";
  std::string log;
  if (!make_pip_venv(venv, log))
    GTEST_SKIP() << "*** SKIPPED: cannot create a venv with pip (python3-venv / python3-pip "
                    "missing?)\n"
                 << log;
  write_hostile_job(job, "train.py");
  job.write_code_file("train.py", kPythonProbe);
  job.write_code_file("requirements.txt", "./localdep\n");
  job.write_code_file("localdep/setup.py",
                      "from setuptools import setup\n"
                      "setup(name='localdep', version='0.1', py_modules=['localdep'])\n");
  job.write_code_file("localdep/localdep.py", "VALUE = 1\n");
  ProcessResult r;
  std::vector<ExecCall> calls = run_traced(offline_pip_env(venv, hostile_env(job)), r);
  if (!skip_reason.empty()) GTEST_SKIP() << "*** SKIPPED, no execve trace: " << skip_reason;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_trace(calls, whole_user_entries()), std::vector<std::string>{});
  EXPECT_EQ(markers(job), std::vector<std::string>{});
  // Positive controls: pip really ran under the trace, then the program with the exact argv.
  EXPECT_TRUE(std::any_of(calls.begin(), calls.end(), [&](const ExecCall& c) {
    return c.argv == std::vector<std::string>{(venv / "bin" / "python").string(),
                                              "-m",
                                              "pip",
                                              "install",
                                              "-r",
                                              "requirements.txt"};
  })) << "no pip install in the trace";
  nlohmann::json probe = read_probe(job.scratch() / "probe.json");
  ASSERT_FALSE(probe.is_null());
  std::vector<std::string> argv = probe.at("argv");
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 1, argv.end()), expected_user_args());
  check_probe_env(probe.at("env"));
}

// A shell script without "#!" runs as `/bin/sh ./run.sh args...` (what sh does on ENOEXEC): a
// shell, legitimately, but with every value its own argument after the script path.
TEST_F(NoShellTest, TracedShellScriptGetsValuesAsSeparateArguments) {
  write_hostile_job(job, "run.sh");
  job.write_code_file("run.sh",
                      "printf '%s\\0' \"$@\" > \"$E2E_SCRATCH/args\"\n"
                      "printf '%s' \"$MY_ENV\" > \"$E2E_SCRATCH/my_env\"\n"
                      "printf '%s' \"$SM_HP_DOLLAR\" > \"$E2E_SCRATCH/sm_hp_dollar\"\n");
  ProcessResult r;
  std::vector<ExecCall> calls = run_traced(hostile_env(job), r);
  if (!skip_reason.empty()) GTEST_SKIP() << "*** SKIPPED, no execve trace: " << skip_reason;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_trace(calls, whole_user_entries()), std::vector<std::string>{});
  EXPECT_EQ(read_nul_records(job.scratch() / "args"), expected_user_args());
  EXPECT_EQ(read_file(job.scratch() / "my_env"), kEnvValue);
  EXPECT_EQ(read_file(job.scratch() / "sm_hp_dollar"), "$(touch pwned_dollar)");
  EXPECT_EQ(markers(job), std::vector<std::string>{});
  // Positive control: the script's exec is in the trace, in exactly that shape.
  std::vector<std::string> script = {"/bin/sh", "./run.sh"};
  for (const auto& a : expected_user_args()) script.push_back(a);
  EXPECT_TRUE(std::any_of(calls.begin(), calls.end(), [&](const ExecCall& c) {
    return c.argv == script;
  })) << "the script's execve is not `/bin/sh ./run.sh` with separate arguments";
}

}  // namespace
}  // namespace smrun::test::e2e
