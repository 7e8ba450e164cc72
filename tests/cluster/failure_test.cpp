// After the barrier: fail-fast ABORT, lost hosts, and the common verdict.

#include <signal.h>

#include <atomic>
#include <functional>
#include <future>

#include <gtest/gtest.h>

#include "cluster/cluster_harness.hpp"
#include "smrun/base/exit_code.hpp"

namespace smrun::cluster::test {
namespace {

// What one simulated host saw.
struct HostRun {
  std::string join_error;
  std::optional<TimedEvent> abort;
  std::optional<base::Expected<JobVerdict>> verdict;
};

// Every host i joins in its own thread, then runs body(i, channel) and records the outcome.
using HostBody = std::function<void(int, ControlChannel&, HostRun&)>;
std::vector<HostRun> run_hosts(const std::vector<ClusterConfig>& configs, const HostBody& body) {
  std::vector<std::future<HostRun>> futures;
  for (int i = 0; i < static_cast<int>(configs.size()); ++i) {
    futures.push_back(std::async(std::launch::async, [&, i] {
      HostRun run;
      auto channel = ControlChannel::join(configs[i]);
      if (!channel) {
        run.join_error = channel.error().message;
        return run;
      }
      body(i, **channel, run);
      return run;
    }));
  }
  std::vector<HostRun> runs;
  for (auto& future : futures) runs.push_back(future.get());
  return runs;
}

FailureRecord terminated(const std::string& host) {
  return FailureRecord{host,         std::nullopt, 0, SIGTERM, "stopped after the job aborted",
                       unix_ms_now()};
}

std::int64_t ticks(Clock::time_point t) {
  return t.time_since_epoch().count();
}

TEST(FailFast, FailureOnHost3ReachesEveryHostAndDecidesTheVerdict) {
  auto port = free_port();
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < 4; ++i) configs.push_back(host_config(4, i, port));
  const FailureRecord failure{"algo-3", 5, 1, 0, "ValueError: bad shape", unix_ms_now()};
  std::atomic<std::int64_t> reported_at{0};

  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 2) {
      reported_at = ticks(Clock::now());
      channel.report_failure(failure);
    }
    run.abort = wait_event(channel, milliseconds(3000));
    LocalVerdict local =
        i == 2 ? LocalVerdict{1, failure} : LocalVerdict{143, terminated(configs[i].current_host)};
    run.verdict = channel.finish(local);
  });

  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(host_name(i));
    ASSERT_EQ(runs[i].join_error, "");
    ASSERT_TRUE(runs[i].abort);
    const auto& event = runs[i].abort->event;
    EXPECT_EQ(event.kind, ClusterEvent::Kind::kAbort);
    EXPECT_EQ(event.failure.host, "algo-3");
    EXPECT_EQ(event.failure.rank, 5);
    EXPECT_EQ(event.failure.exit_code, 1);
    EXPECT_EQ(event.failure.message, "ValueError: bad shape");
    EXPECT_EQ(event.failure.unix_ms, failure.unix_ms);
    auto latency = Clock::duration(ticks(runs[i].abort->at) - reported_at.load());
    EXPECT_LT(latency, milliseconds(1000));
    ASSERT_TRUE(runs[i].verdict && *runs[i].verdict);
    const JobVerdict& verdict = **runs[i].verdict;
    EXPECT_EQ(verdict.exit_code, 1);
    ASSERT_TRUE(verdict.failure);
    EXPECT_EQ(verdict.failure->host, "algo-3");
    EXPECT_EQ(verdict.failure->message, "ValueError: bad shape");
    if (i == 0) {
      EXPECT_EQ(verdict.host_exit_codes,
                (std::map<std::string, int>{
                    {"algo-1", 143}, {"algo-2", 143}, {"algo-3", 1}, {"algo-4", 143}}));
    } else {
      // No restart left: each worker left on the ABORT, without the master's summary.
      EXPECT_TRUE(verdict.host_exit_codes.empty());
    }
  }
}

// The ABORT decides the job when no restart can follow: a worker's finish() returns without the
// master's VERDICT, here while the master has not even started to finish (it waits for both
// workers to have returned, bounded, before it does).
TEST(FailFast, WorkersWithNoRestartLeftLeaveOnTheAbortWithoutWaitingForTheMaster) {
  auto port = free_port();
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < 3; ++i) configs.push_back(host_config(3, i, port));
  const FailureRecord failure{"algo-3", 2, 4, 0, "RuntimeError: NCCL timeout", unix_ms_now(), true};
  std::promise<void> workers_returned;
  std::shared_future<void> returned = workers_returned.get_future().share();
  std::atomic<int> returned_count{0};
  std::atomic<bool> master_saw_them_return{false};

  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 2) channel.report_failure(failure);
    run.abort = wait_event(channel, milliseconds(5000));
    if (i == 0) {
      master_saw_them_return =
          returned.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
      // The master itself could restart (1 left): the workers' DONE says they will not.
      run.verdict = channel.finish(LocalVerdict{143, terminated("algo-1")}, 1);
      return;
    }
    run.verdict = i == 2 ? channel.finish(LocalVerdict{4, failure}, 0)
                         : channel.finish(LocalVerdict{143, terminated("algo-2")}, 0);
    if (++returned_count == 2) workers_returned.set_value();
  });

  EXPECT_TRUE(master_saw_them_return);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(host_name(i));
    ASSERT_TRUE(runs[i].abort);
    ASSERT_TRUE(runs[i].verdict && *runs[i].verdict) << runs[i].verdict->error().message;
    const JobVerdict& verdict = **runs[i].verdict;
    EXPECT_EQ(verdict.exit_code, 4);
    EXPECT_EQ(verdict.restart, 0);
    ASSERT_TRUE(verdict.failure);
    EXPECT_EQ(verdict.failure->host, "algo-3");
    EXPECT_EQ(verdict.failure->rank, 2);
    EXPECT_EQ(verdict.failure->message, "RuntimeError: NCCL timeout");
  }
  // The master still waited for, and counted, every DONE.
  EXPECT_EQ(runs[0].verdict->value().host_exit_codes,
            (std::map<std::string, int>{{"algo-1", 143}, {"algo-2", 143}, {"algo-3", 4}}));
}

// Hosts that may restart (restarts left on every host) still wait for the master's VERDICT,
// which restarts them.
TEST(FailFast, WorkersWithRestartsLeftWaitForTheMastersRestart) {
  auto port = free_port();
  std::vector<ClusterConfig> configs = {host_config(2, 0, port), host_config(2, 1, port)};
  const FailureRecord failure{"algo-2", 1, 4, 0, "RuntimeError: NCCL timeout", unix_ms_now(), true};
  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 1) channel.report_failure(failure);
    run.abort = wait_event(channel, milliseconds(5000));
    run.verdict = channel.finish(
        i == 1 ? LocalVerdict{4, failure} : LocalVerdict{143, terminated("algo-1")}, 1);
  });
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(host_name(i));
    ASSERT_TRUE(runs[i].verdict && *runs[i].verdict);
    EXPECT_EQ((*runs[i].verdict)->restart, 1);
    EXPECT_EQ((*runs[i].verdict)->host_exit_codes,
              (std::map<std::string, int>{{"algo-1", 143}, {"algo-2", 4}}));
  }
}

TEST(FailFast, SigtermOnAWorkerStopsEveryHostWith143) {
  auto port = free_port();
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < 3; ++i) configs.push_back(host_config(3, i, port));
  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 1) {
      channel.report_failure(
          FailureRecord{"algo-2", std::nullopt, 0, SIGTERM, "algo-2 received SIGTERM", 1});
    }
    run.abort = wait_event(channel, milliseconds(3000));
    run.verdict = channel.finish(LocalVerdict{143, terminated(configs[i].current_host)});
  });
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(host_name(i));
    ASSERT_TRUE(runs[i].abort);
    EXPECT_EQ(runs[i].abort->event.failure.message, "algo-2 received SIGTERM");
    ASSERT_TRUE(runs[i].verdict && *runs[i].verdict);
    EXPECT_EQ((*runs[i].verdict)->exit_code, 143);
    EXPECT_EQ((*runs[i].verdict)->failure->host, "algo-2");
  }
}

TEST(FailFast, MasterFailureReachesTheWorkers) {
  auto port = free_port();
  std::vector<ClusterConfig> configs = {host_config(2, 0, port), host_config(2, 1, port)};
  const FailureRecord failure{"algo-1", 0, 0, 9, "SIGKILL (out of memory?)", 5};
  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 0) {
      channel.report_failure(failure);
      EXPECT_EQ(channel.abort_reason()->message, failure.message);
      run.verdict = channel.finish(LocalVerdict{137, failure});
      return;
    }
    run.abort = wait_event(channel, milliseconds(3000));
    run.verdict = channel.finish(LocalVerdict{143, terminated("algo-2")});
  });
  ASSERT_TRUE(runs[1].abort);
  EXPECT_EQ(runs[1].abort->event.failure.signal, 9);
  for (auto& run : runs) {
    ASSERT_TRUE(run.verdict && *run.verdict);
    EXPECT_EQ((*run.verdict)->exit_code, 137);
  }
}

TEST(Verdict, FailureOnlyInDoneStillFailsEveryHost) {
  // A host that never called report_failure but finishes with a non-zero code.
  auto port = free_port();
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < 3; ++i) configs.push_back(host_config(3, i, port));
  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    run.verdict = channel.finish(i == 2 ? LocalVerdict{2, std::nullopt} : LocalVerdict{});
  });
  for (auto& run : runs) {
    ASSERT_TRUE(run.verdict && *run.verdict);
    EXPECT_EQ((*run.verdict)->exit_code, 2);
    EXPECT_EQ((*run.verdict)->failure->host, "algo-3");
    EXPECT_EQ((*run.verdict)->failure->message, "exited with code 2");
  }
}

TEST(Verdict, MasterStopsWaitingForAHostThatNeverFinishes) {
  auto port = free_port();
  std::vector<ClusterConfig> configs = {host_config(2, 0, port), host_config(2, 1, port)};
  configs[0].verdict_wait = milliseconds(500);
  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 0) {
      run.verdict = channel.finish(LocalVerdict{});
      return;
    }
    // Still "training": the master's VERDICT arrives as an abort, then finish() returns it.
    run.abort = wait_event(channel, milliseconds(3000));
    run.verdict = channel.finish(LocalVerdict{});
  });
  const std::string message =
      "algo-2 did not report DONE within 500ms after master algo-1 finished "
      "(SMRUN_VERDICT_WAIT_SECONDS)";
  ASSERT_TRUE(runs[1].abort);
  EXPECT_EQ(runs[1].abort->event.failure.message, message);
  for (auto& run : runs) {
    ASSERT_TRUE(run.verdict && *run.verdict);
    EXPECT_EQ((*run.verdict)->exit_code, base::kExitCluster);
    EXPECT_EQ((*run.verdict)->failure->message, message);
  }
}

// Hosts 1, 2 and 4 in threads; host `forked` (index) in a forked process the test can
// SIGKILL / SIGSTOP. `act` runs once everyone has joined and returns when it acted.
struct LossResult {
  std::vector<HostRun> runs;
  Clock::time_point acted_at;
};

LossResult lose_a_host(int hosts, int forked, std::uint16_t port,
                       const std::function<void(ForkedHost&)>& act) {
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < hosts; ++i) configs.push_back(host_config(hosts, i, port));
  ForkedHost child(configs[forked]);  // before any thread exists
  std::vector<ClusterConfig> threaded;
  for (int i = 0; i < hosts; ++i) {
    if (i != forked) threaded.push_back(configs[i]);
  }
  std::promise<void> joined;
  std::atomic<int> joined_count{0};
  LossResult result;
  auto runs = std::async(std::launch::async, [&] {
    return run_hosts(threaded, [&](int i, ControlChannel& channel, HostRun& run) {
      if (++joined_count == static_cast<int>(threaded.size())) joined.set_value();
      run.abort = wait_event(channel, milliseconds(5000));
      run.verdict = channel.finish(LocalVerdict{143, terminated(threaded[i].current_host)});
    });
  });
  if (joined.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready) {
    result.acted_at = Clock::now();
    act(child);
  }
  result.runs = runs.get();
  return result;
}

TEST(LostHost, KilledWorkerIsReportedLostPromptly) {
  auto port = free_port();
  auto result = lose_a_host(4, 2, port, [](ForkedHost& child) { child.signal(SIGKILL); });
  ASSERT_EQ(result.runs.size(), 3u);
  for (std::size_t i = 0; i < result.runs.size(); ++i) {
    const HostRun& run = result.runs[i];
    ASSERT_EQ(run.join_error, "");
    ASSERT_TRUE(run.abort);
    EXPECT_EQ(run.abort->event.failure.host, "algo-3");
    EXPECT_EQ(run.abort->event.failure.message.rfind("algo-3 lost: ", 0), 0u)
        << run.abort->event.failure.message;
    EXPECT_LT(run.abort->at - result.acted_at, milliseconds(1000));
    ASSERT_TRUE(run.verdict && *run.verdict);
    EXPECT_EQ((*run.verdict)->exit_code, base::kExitCluster);
    EXPECT_EQ((*run.verdict)->failure->host, "algo-3");
    if (i == 0) {  // the master (the workers left on the abort, without the per-host codes)
      EXPECT_EQ((*run.verdict)->host_exit_codes.at("algo-3"), -1);
    } else {
      EXPECT_TRUE((*run.verdict)->host_exit_codes.empty());
    }
  }
}

TEST(LostHost, SilentWorkerIsDetectedByHeartbeatTimeout) {
  auto port = free_port();
  auto result = lose_a_host(3, 2, port, [](ForkedHost& child) { child.signal(SIGSTOP); });
  ASSERT_EQ(result.runs.size(), 2u);
  for (auto& run : result.runs) {
    ASSERT_TRUE(run.abort);
    EXPECT_EQ(run.abort->event.failure.message, "algo-3 lost: no heartbeat for 1.5s");
    auto latency = run.abort->at - result.acted_at;
    EXPECT_GE(latency, milliseconds(1300));  // not before the timeout (minus one interval)
    EXPECT_LT(latency, milliseconds(2500));
    ASSERT_TRUE(run.verdict && *run.verdict);
    EXPECT_EQ((*run.verdict)->exit_code, base::kExitCluster);
  }
}

TEST(LostMaster, WorkerGetsAbortAndFinishFailsFast) {
  auto port = free_port();
  auto master = host_config(2, 0, port);
  ForkedHost child(master);
  auto channel = ControlChannel::join(host_config(2, 1, port));
  ASSERT_TRUE(channel) << channel.error().message;
  auto killed_at = Clock::now();
  child.signal(SIGKILL);
  auto event = wait_event(**channel, milliseconds(3000));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event.failure.host, "algo-1");
  EXPECT_EQ(event->event.failure.exit_code, base::kExitCluster);
  EXPECT_EQ(event->event.failure.message.rfind("master algo-1 lost: ", 0), 0u)
      << event->event.failure.message;
  EXPECT_LT(event->at - killed_at, milliseconds(1000));
  auto verdict = (*channel)->finish(LocalVerdict{143, terminated("algo-2")});
  ASSERT_FALSE(verdict);
  EXPECT_EQ(verdict.error().kind, base::ErrorKind::kCluster);
  EXPECT_EQ(verdict.error().message.rfind("master algo-1 lost before it sent the job verdict: ", 0),
            0u)
      << verdict.error().message;
  EXPECT_LT(Clock::now() - killed_at, milliseconds(1500));
}

TEST(LostMaster, SilentMasterEndsFinishWithinHeartbeatTimeout) {
  auto port = free_port();
  ForkedHost child(host_config(2, 0, port));
  auto channel = ControlChannel::join(host_config(2, 1, port));
  ASSERT_TRUE(channel) << channel.error().message;
  child.signal(SIGSTOP);
  auto started = Clock::now();
  auto verdict = (*channel)->finish(LocalVerdict{});
  auto elapsed = Clock::now() - started;
  ASSERT_FALSE(verdict);
  EXPECT_EQ(verdict.error().message,
            "master algo-1 lost before it sent the job verdict: no heartbeat for 1.5s");
  EXPECT_LT(elapsed, milliseconds(2500));
}

}  // namespace
}  // namespace smrun::cluster::test

namespace smrun::cluster::test {
namespace {

// MPI: the worker hosts run nothing of their own; the master's RELEASE ends their part, then
// the usual DONE/VERDICT exchange gives every host the master's result.
TEST(Release, WorkersSeeReleaseThenGetTheMastersVerdict) {
  auto port = free_port();
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < 3; ++i) configs.push_back(host_config(3, i, port));
  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 0) {
      channel.release_workers();
      run.verdict = channel.finish(LocalVerdict{0, std::nullopt});
      return;
    }
    run.abort = wait_event(channel, milliseconds(3000));
    run.verdict = channel.finish(LocalVerdict{0, std::nullopt});
  });
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(host_name(i));
    ASSERT_EQ(runs[i].join_error, "");
    if (i > 0) {
      ASSERT_TRUE(runs[i].abort);
      EXPECT_EQ(runs[i].abort->event.kind, ClusterEvent::Kind::kRelease);
    }
    ASSERT_TRUE(runs[i].verdict && *runs[i].verdict);
    EXPECT_EQ((**runs[i].verdict).exit_code, 0);
    EXPECT_FALSE((**runs[i].verdict).failure);
  }
}

TEST(Release, AbortBeforeReleaseWins) {
  auto port = free_port();
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < 2; ++i) configs.push_back(host_config(2, i, port));
  const FailureRecord failure{"algo-1", std::nullopt, 3, 0, "mpirun exited with code 3", 1};
  auto runs = run_hosts(configs, [&](int i, ControlChannel& channel, HostRun& run) {
    if (i == 0) {
      channel.report_failure(failure);
      channel.release_workers();  // ignored by the worker: the job already failed
      run.verdict = channel.finish(LocalVerdict{3, failure});
      return;
    }
    run.abort = wait_event(channel, milliseconds(3000));
    run.verdict = channel.finish(LocalVerdict{143, terminated("algo-2")});
  });
  ASSERT_TRUE(runs[1].abort);
  EXPECT_EQ(runs[1].abort->event.kind, ClusterEvent::Kind::kAbort);
  for (const auto& run : runs) {
    ASSERT_TRUE(run.verdict && *run.verdict);
    EXPECT_EQ((**run.verdict).exit_code, 3);
  }
}

}  // namespace
}  // namespace smrun::cluster::test
