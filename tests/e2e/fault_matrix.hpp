#pragma once

// The fault matrix (docs/reliability.md): each row of tests/e2e/fault_matrix.json is one fault
// injected into a real `smrun train` (one host, or several simulated hosts), with the verdict
// every host must reach and a bound on how long the teardown may take. The tests look their
// row up by id, so the table in the docs (rendered from the same file by
// tools/gen_reliability_table.py) is exactly what the tests assert.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "e2e/job_fixture.hpp"

namespace smrun::test::e2e {

struct ExpectedHost {
  std::string host;
  int exit_code = 0;  // ignored when killed_by is set
  int killed_by = 0;  // the injection killed this host's smrun with this signal
  // First line of output/failure; nullopt: no failure file. A trailing "…" makes it a prefix
  // (the rest holds a port, a path or a pid).
  std::optional<std::string> failure;
};

struct FaultRow {
  std::string id;
  std::vector<ExpectedHost> hosts;
  std::chrono::milliseconds bound{0};  // injection -> last smrun exited
};

// The row `id` of tests/e2e/fault_matrix.json; throws if there is none. Each key of
// `placeholders` (e.g. "<base>") in an expected failure line is replaced by its value.
FaultRow fault_row(const std::string& id,
                   const std::map<std::string, std::string>& placeholders = {});

// What one host's smrun did, read from its exit status and its failure file.
struct ObservedHost {
  int exit_code = -1;
  int term_signal = 0;
  std::optional<std::string> failure;  // first line of output/failure, if it exists
};
ObservedHost observe(const ProcessResult& result, const JobDir& job);

// Asserts that every host's observation matches the row (same order as the row's hosts).
void expect_verdicts(const FaultRow& row, const std::vector<ObservedHost>& observed,
                     const std::vector<std::string>& stderr_of_hosts);

// Asserts `teardown` (injection -> last smrun exited) is within the row's bound, and appends
// {"id", "ms"} as one JSON line to $SMRUN_FAULT_REPORT (default: fault-timings.jsonl next to
// the smrun binary, i.e. in the build directory) for tools/gen_reliability_table.py --record.
void expect_teardown_within_bound(const FaultRow& row, std::chrono::milliseconds teardown);

// The pids that processes of the job wrote to <dir>/pid-*: each file holds one decimal pid,
// written under a temporary name and renamed, so a file that exists is complete.
std::vector<pid_t> recorded_pids(const fs::path& dir);

// Asserts that none of `pids` is running (kill(pid, 0) fails with ESRCH, or the process is a
// zombie, which runs nothing): nothing of the job survived smrun. `wait` allows that long for
// deaths the kernel delivers asynchronously (PR_SET_PDEATHSIG after a host's smrun is killed).
void expect_all_gone(const std::vector<pid_t>& pids, const std::string& what,
                     std::chrono::milliseconds wait = std::chrono::milliseconds(0));

// Waits until `dir` holds at least `count` pid-* files. Returns whether it did in time.
bool wait_for_pid_files(const fs::path& dir, std::size_t count, std::chrono::milliseconds timeout);

}  // namespace smrun::test::e2e
