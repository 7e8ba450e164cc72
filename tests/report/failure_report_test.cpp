#include "smrun/report/failure_report.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include "smrun/report/outcome_files.hpp"
#include "support/test_support.hpp"

namespace smrun::report {
namespace {

constexpr const char* kTraceback =
    "epoch 1\n"
    "Traceback (most recent call last):\n"
    "  File \"train.py\", line 9, in <module>\n"
    "    main()\n"
    "  File \"train.py\", line 5, in main\n"
    "    raise ValueError(\"bad lr\")\n"
    "ValueError: bad lr\n";

TEST(ExceptionLine, FindsTheLastTracebacksException) {
  EXPECT_EQ(exception_line(kTraceback), "ValueError: bad lr");
  std::string chained =
      std::string(kTraceback) +
      "\nDuring handling of the above exception, another exception occurred:\n\n" +
      "Traceback (most recent call last):\n  File \"x\", line 1\nKeyError: 'k'\n";
  EXPECT_EQ(exception_line(chained), "KeyError: 'k'");
}

TEST(ExceptionLine, FallsBackToLastNonBlankLine) {
  EXPECT_EQ(exception_line("loading\nerror: disk full\n\n  \n"), "error: disk full");
  EXPECT_EQ(exception_line(""), "");
}

TEST(FailureReport, ExitCodeHeadlineThenExceptionThenTail) {
  FailureFacts f;
  f.host = "algo-1";
  f.program = "train.py";
  f.exit_code = 1;
  f.stderr_tail = kTraceback;
  f.command = "python3 -u train.py --lr 0.1";
  std::string text = compose_failure_report(f);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "ExecuteUserScriptError: train.py exited with code 1 on algo-1");
  EXPECT_EQ(
      text.rfind(
          "ExecuteUserScriptError: train.py exited with code 1 on algo-1\nValueError: bad lr\n\n"
          "Last lines of stderr:\nepoch 1\nTraceback",
          0),
      0u)
      << text;
  EXPECT_NE(text.find("\nCommand: python3 -u train.py --lr 0.1\n"), std::string::npos);
}

TEST(FailureReport, SigkillMentionsOutOfMemory) {
  FailureFacts f;
  f.host = "algo-2";
  f.rank = 3;
  f.program = "train.py";
  f.signal = SIGKILL;
  f.exit_code = 137;
  std::string text = compose_failure_report(f);
  EXPECT_EQ(
      text.substr(0, text.find('\n')),
      "ExecuteUserScriptError: train.py was killed by SIGKILL (signal 9, likely out of memory) "
      "on algo-2 (rank 3)");
}

TEST(FailureReport, GraceExpiryAndForwardedSignal) {
  FailureFacts f;
  f.host = "algo-1";
  f.program = "train.py";
  f.signal = SIGKILL;
  f.killed_after_grace = true;
  f.grace_seconds = 110;
  f.received_signal = SIGTERM;
  std::string text = compose_failure_report(f);
  EXPECT_EQ(
      text.substr(0, text.find('\n')),
      "ExecuteUserScriptError: train.py did not exit within the 110s grace period after SIGTERM "
      "and was killed with SIGKILL on algo-1 after smrun received SIGTERM and forwarded it");
}

TEST(FailureReport, SecondInterrupt) {
  FailureFacts f;
  f.host = "algo-1";
  f.program = "train.py";
  f.signal = SIGKILL;
  f.killed_on_second_interrupt = true;
  f.received_signal = SIGINT;
  std::string text = compose_failure_report(f);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "ExecuteUserScriptError: train.py was killed with SIGKILL because SIGINT (Ctrl-C) came "
            "twice on algo-1 after smrun received SIGINT and forwarded it");
}

TEST(FailureReport, FirstWindowHoldsHeadlineExceptionAndTheEndOfTheTail) {
  FailureFacts f;
  f.host = "algo-1";
  f.program = "train.py";
  f.exit_code = 1;
  std::string noise;
  for (int i = 0; i < 500; ++i) noise += "progress line " + std::to_string(i) + "\n";
  f.stderr_tail = noise + kTraceback;
  std::string text = compose_failure_report(f);
  std::string window = text.substr(0, kFailureReasonWindow);
  EXPECT_NE(window.find("ValueError: bad lr\n\nLast lines of stderr:"), std::string::npos);
  EXPECT_NE(window.find("raise ValueError(\"bad lr\")\nValueError: bad lr\n"), std::string::npos)
      << "the end of the traceback must be inside the first 1024 characters";
  EXPECT_EQ(window.find("progress line 0\n"), std::string::npos);
}

// The stderr tail is written once: the last lines inside the FailureReason window, the lines
// before them after the command, each line exactly once, in order.
TEST(FailureReport, EveryStderrLineAppearsOnce) {
  FailureFacts f;
  f.host = "algo-1";
  f.program = "train.py";
  f.exit_code = 1;
  f.command = "python3 -u train.py";
  std::string noise;
  for (int i = 0; i < 200; ++i) noise += "progress line " + std::to_string(i) + "\n";
  f.stderr_tail = noise + kTraceback;
  const std::string text = compose_failure_report(f);
  for (int i = 0; i < 200; ++i) {
    const std::string line = "\nprogress line " + std::to_string(i) + "\n";
    const auto first = text.find(line);
    ASSERT_NE(first, std::string::npos) << line << text;
    EXPECT_EQ(text.find(line, first + 1), std::string::npos) << "twice: " << line << text;
  }
  const auto last = text.find("\nLast lines of stderr:\n");
  const auto command = text.find("\nCommand: python3 -u train.py\n");
  const auto earlier = text.find("\nEarlier lines of stderr (before the last lines above):\n");
  ASSERT_NE(last, std::string::npos);
  ASSERT_NE(earlier, std::string::npos);
  EXPECT_LT(last, command);
  EXPECT_LT(command, earlier);
  EXPECT_EQ(text.find("stderr tail:"), std::string::npos);
  // The earlier part ends with the line just before the first line of the window.
  const std::string window_part = text.substr(last, command - last);
  const auto first_shown = window_part.find("progress line ");
  ASSERT_NE(first_shown, std::string::npos);
  const int n = std::stoi(window_part.substr(first_shown + 14));
  EXPECT_TRUE(text.ends_with("progress line " + std::to_string(n - 1) + "\n")) << text;
  EXPECT_EQ(text.find("progress line 0\n"), earlier + 56) << text.substr(earlier, 100);
}

TEST(ErrorLines, PipsVerdictWithoutTheRetryWarnings) {
  std::string out;
  for (int i = 4; i >= 0; --i)
    out += "WARNING: Retrying (Retry(total=" + std::to_string(i) +
           ", connect=None)) after connection broken by 'NewConnectionError(...)': /simple/x/\n";
  out +=
      "ERROR: Could not find a version that satisfies the requirement x (from versions: none)\n"
      "ERROR: No matching distribution found for x\n";
  EXPECT_EQ(error_lines(out),
            (std::vector<std::string>{
                "ERROR: Could not find a version that satisfies the requirement x (from versions: "
                "none)",
                "ERROR: No matching distribution found for x"}));
  EXPECT_EQ(error_lines("error: a\nERROR: b\nnot ERROR: c\n", 1),
            std::vector<std::string>{"ERROR: b"});
  EXPECT_TRUE(error_lines("WARNING: only warnings\n").empty());
}

TEST(ErrorReport, NamesKindAndHost) {
  base::Error e(base::ErrorKind::kConfig,
                "/opt/ml/input/config/resourceconfig.json: $.hosts: required field missing");
  EXPECT_EQ(compose_error_report(e, "algo-1"),
            "ConfigError: /opt/ml/input/config/resourceconfig.json: $.hosts: required field "
            "missing (on algo-1)\n");
  EXPECT_EQ(compose_error_report(base::Error(base::ErrorKind::kInstall, "pip failed"), "h",
                                 "ERROR: no such file"),
            "InstallRequirementsError: pip failed (on h)\n\nERROR: no such file\n");
}

TEST(ScrubSecrets, ReplacesEveryOccurrenceOfLongEnoughValues) {
  EXPECT_EQ(scrub_secrets("token=hunter22 again hunter22", {"hunter22", "ab"}),
            "token=**** again ****");
  EXPECT_EQ(scrub_secrets("ab ab", {"ab"}), "ab ab");
}

TEST(OutcomeFiles, FailureFileNeverOverwritesTheUsers) {
  test::TempDir dir;
  auto path = dir.path() / "output" / "failure";
  test::write_file(path, "user wrote this");
  auto written = write_failure_file(path, "smrun text");
  ASSERT_TRUE(written.has_value());
  EXPECT_FALSE(*written);
  EXPECT_EQ(test::read_file(path), "user wrote this");
}

TEST(OutcomeFiles, WritesFailureAndEmptySuccess) {
  test::TempDir dir;
  auto written = write_failure_file(dir.path() / "out" / "failure", "why\n");
  ASSERT_TRUE(written.has_value());
  EXPECT_TRUE(*written);
  EXPECT_EQ(test::read_file(dir.path() / "out" / "failure"), "why\n");
  ASSERT_TRUE(write_success_file(dir.path() / "out" / "success").has_value());
  EXPECT_EQ(test::read_file(dir.path() / "out" / "success"), "");
}

}  // namespace
}  // namespace smrun::report
