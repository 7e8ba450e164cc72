#include "e2e/fault_matrix.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace smrun::test::e2e {

namespace {

const std::string kEllipsis = "\xe2\x80\xa6";  // "…": the expected failure line is a prefix

const nlohmann::json& matrix() {
  static const nlohmann::json doc =
      nlohmann::json::parse(read_file(source_dir() / "tests" / "e2e" / "fault_matrix.json"));
  return doc;
}

bool failure_matches_exactly(const std::string& expected, const std::string& actual);

// A host killed by SIGKILL closes its control connection with a FIN, or with an RST when a
// heartbeat had arrived that it had not read yet: the peer then reads "connection reset by peer"
// instead of "connection closed". Which one is a race with the heartbeat, and both mean the host
// is gone, so an expected "connection closed" accepts either.
bool failure_matches(const std::string& expected, const std::string& actual) {
  if (failure_matches_exactly(expected, actual)) return true;
  const std::string closed = ": connection closed";
  const std::string reset = ": connection reset by peer";
  const auto at = expected.find(closed);
  if (at == std::string::npos) return false;
  std::string alternative = expected;
  alternative.replace(at, closed.size(), reset);
  return failure_matches_exactly(alternative, actual);
}

bool failure_matches_exactly(const std::string& expected, const std::string& actual) {
  if (expected.size() >= kEllipsis.size() &&
      expected.compare(expected.size() - kEllipsis.size(), kEllipsis.size(), kEllipsis) == 0) {
    const std::string prefix = expected.substr(0, expected.size() - kEllipsis.size());
    return actual.rfind(prefix, 0) == 0;
  }
  return actual == expected;
}

fs::path report_path() {
  if (const char* p = std::getenv("SMRUN_FAULT_REPORT"); p != nullptr && *p != '\0') return p;
  return smrun_binary().parent_path() / "fault-timings.jsonl";
}

// Alive and not a zombie: a zombie runs nothing and holds nothing but its pid.
bool running(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno != ESRCH;
  std::string stat;
  try {
    stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  } catch (const std::exception&) {
    return false;  // gone in between
  }
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

}  // namespace

FaultRow fault_row(const std::string& id, const std::map<std::string, std::string>& placeholders) {
  for (const auto& row : matrix().at("rows")) {
    if (row.at("id") != id) continue;
    FaultRow out;
    out.id = id;
    out.bound =
        std::chrono::milliseconds(static_cast<long>(row.at("bound_seconds").get<double>() * 1000));
    for (const auto& h : row.at("hosts")) {
      ExpectedHost e;
      e.host = h.at("host");
      e.exit_code = h.value("exit", 0);
      e.killed_by = h.value("killed_by", 0);
      if (h.contains("failure") && !h.at("failure").is_null()) {
        std::string line = h.at("failure");
        for (const auto& [key, value] : placeholders)
          for (auto at = line.find(key); at != std::string::npos;
               at = line.find(key, at + value.size()))
            line.replace(at, key.size(), value);
        e.failure = std::move(line);
      }
      out.hosts.push_back(std::move(e));
    }
    return out;
  }
  throw std::runtime_error("tests/e2e/fault_matrix.json has no row " + id);
}

ObservedHost observe(const ProcessResult& result, const JobDir& job) {
  ObservedHost o;
  o.exit_code = result.exit_code;
  o.term_signal = result.term_signal;
  if (fs::exists(job.failure_file())) o.failure = first_line(read_file(job.failure_file()));
  return o;
}

void expect_verdicts(const FaultRow& row, const std::vector<ObservedHost>& observed,
                     const std::vector<std::string>& stderr_of_hosts) {
  ASSERT_EQ(observed.size(), row.hosts.size()) << row.id;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const ExpectedHost& want = row.hosts[i];
    const ObservedHost& got = observed[i];
    const std::string where = row.id + " on " + want.host + ", smrun stderr:\n" +
                              (i < stderr_of_hosts.size() ? stderr_of_hosts[i] : "");
    if (want.killed_by != 0) {
      EXPECT_EQ(got.term_signal, want.killed_by) << where;
    } else {
      EXPECT_EQ(got.term_signal, 0) << where;
      EXPECT_EQ(got.exit_code, want.exit_code) << where;
    }
    if (!want.failure) {
      EXPECT_FALSE(got.failure.has_value()) << "unexpected failure file: " << *got.failure << "\n"
                                            << where;
    } else if (!got.failure) {
      ADD_FAILURE() << "no failure file; expected " << *want.failure << "\n" << where;
    } else {
      EXPECT_TRUE(failure_matches(*want.failure, *got.failure))
          << "failure line: " << *got.failure << "\nexpected:     " << *want.failure << "\n"
          << where;
    }
  }
}

void expect_teardown_within_bound(const FaultRow& row, std::chrono::milliseconds teardown) {
  std::cout << "[ fault  ] " << row.id << ": teardown took " << teardown.count() << " ms (bound "
            << row.bound.count() << " ms)\n";
  EXPECT_LE(teardown, row.bound) << row.id << " took longer than its bound";
  std::ofstream out(report_path(), std::ios::app);
  out << nlohmann::json{{"id", row.id}, {"ms", teardown.count()}}.dump() << "\n";
}

std::vector<pid_t> recorded_pids(const fs::path& dir) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("pid-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    pids.push_back(static_cast<pid_t>(std::stol(read_file(entry.path()))));
  }
  return pids;
}

bool wait_for_pid_files(const fs::path& dir, std::size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (recorded_pids(dir).size() < count) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);  // polling files the job writes, bounded by deadline
  }
  return true;
}

void expect_all_gone(const std::vector<pid_t>& pids, const std::string& what,
                     std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::vector<pid_t> alive;
  for (;;) {
    alive.clear();
    for (pid_t pid : pids)
      if (running(pid)) alive.push_back(pid);
    if (alive.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(10ms);  // waiting for the kernel to finish them, bounded
  }
  EXPECT_TRUE(alive.empty()) << what << ": " << alive.size()
                             << " process(es) of the job survived smrun, first pid " << alive[0];
  for (pid_t pid : alive) ::kill(pid, SIGKILL);  // do not leak them into the next test
}

}  // namespace smrun::test::e2e
