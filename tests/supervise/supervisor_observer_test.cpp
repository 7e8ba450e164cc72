// WorkerObserver: told when each worker starts and ends, and handed every line of its output,
// cut at '\n' whatever the reads, while the output is still relayed unchanged.

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "supervise/harness.hpp"

namespace smrun::supervise::testing {
namespace {

// Runs inside the forked supervisor: appends what it sees to a file the test reads afterwards.
class RecordingObserver : public WorkerObserver {
 public:
  RecordingObserver(fs::path file, bool lines) : m_file(std::move(file)), m_lines(lines) {}
  bool wants_lines() const override { return m_lines; }
  void on_started(std::size_t worker, const ProcessSpec& spec, pid_t pid) override {
    append("started " + std::to_string(worker) + " " + spec.label + " " + std::to_string(pid > 0) +
           "\n");
  }
  void on_line(std::size_t worker, std::string_view line) override {
    append("line " + std::to_string(worker) + " " + std::to_string(line.size()) + " " +
           std::string(line.substr(0, 40)) + "\n");
  }
  void on_exited(std::size_t worker) override { append("exited " + std::to_string(worker) + "\n"); }

 private:
  void append(const std::string& text) { std::ofstream(m_file, std::ios::app) << text; }
  fs::path m_file;
  bool m_lines;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> with_prefix(const std::vector<std::string>& lines,
                                     const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& line : lines)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

// Lines split across writes (and so across reads), "\r\n" endings, a line longer than the
// observer's limit, an unterminated last line; stdout relayed byte for byte.
constexpr const char* kWriter = R"(
import os, sys, time
os.write(1, b"a=1\nb=")
time.sleep(0.05)
os.write(1, b"2\r\n")
os.write(1, b"x" * 10000 + b"\n\n")
os.write(2, b"err=3\n")
os.write(1, b"tail")
)";

TEST(SupervisorObserver, EveryLineOfEveryStreamReachesTheObserver) {
  test::TempDir dir;
  const fs::path record = dir / "observed";
  RecordingObserver observer(record, true);
  SuperviseOptions options;
  options.observer = &observer;
  ProcessSpec hidden = python_spec(dir, "w1", "import os\nos.write(1, b'hidden=4\\n')\n");
  hidden.console = false;
  SupervisorProcess sup(dir, {python_spec(dir, "w0", kWriter), hidden}, options);
  const Outcome outcome = sup.wait();
  ASSERT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 0);
  // Relayed unchanged (no prefixes: one stdout for both, the hidden worker's not shown).
  EXPECT_EQ(outcome.stdout_text, "a=1\nb=2\r\n" + std::string(10000, 'x') + "\n\ntail");
  const auto seen = lines_of(test::read_file(record));
  EXPECT_EQ(with_prefix(seen, "started "),
            (std::vector<std::string>{"started 0 w0 1", "started 1 w1 1"}));
  auto exited = with_prefix(seen, "exited ");
  std::sort(exited.begin(), exited.end());
  EXPECT_EQ(exited, (std::vector<std::string>{"exited 0", "exited 1"}));
  auto w0 = with_prefix(seen, "line 0 ");
  // stderr's line may come anywhere among stdout's.
  const auto err = std::find(w0.begin(), w0.end(), "line 0 5 err=3");
  ASSERT_NE(err, w0.end());
  w0.erase(err);
  EXPECT_EQ(w0, (std::vector<std::string>{"line 0 3 a=1", "line 0 3 b=2",
                                          "line 0 4096 " + std::string(40, 'x'), "line 0 0 ",
                                          "line 0 4 tail"}));
  EXPECT_EQ(with_prefix(seen, "line 1 "), (std::vector<std::string>{"line 1 8 hidden=4"}));
}

// An observer that wants no lines changes nothing: stdout stays inherited.
TEST(SupervisorObserver, NoLinesWantedNoCapture) {
  test::TempDir dir;
  const fs::path record = dir / "observed";
  RecordingObserver observer(record, false);
  SuperviseOptions options;
  options.observer = &observer;
  SupervisorProcess sup(dir, {python_spec(dir, "w0", "import os\nos.write(1, b'x=1\\n')\n")},
                        options);
  const Outcome outcome = sup.wait();
  ASSERT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.stdout_text, "x=1\n");
  EXPECT_EQ(lines_of(test::read_file(record)),
            (std::vector<std::string>{"started 0 w0 1", "exited 0"}));
}

}  // namespace
}  // namespace smrun::supervise::testing
