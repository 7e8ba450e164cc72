// The pre-launch barrier: who gets in, who is refused, and what the errors say.

#include <future>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cluster/cluster_harness.hpp"
#include "smrun/cluster/sha256.hpp"

namespace smrun::cluster::test {
namespace {

using JoinResult = base::Expected<std::unique_ptr<ControlChannel>>;

std::future<JoinResult> join_async(ClusterConfig config) {
  return std::async(std::launch::async, [config] { return ControlChannel::join(config); });
}

// Joins every host in its own thread; every result is returned (bounded by host_wait).
std::vector<JoinResult> join_all(const std::vector<ClusterConfig>& configs) {
  std::vector<std::future<JoinResult>> futures;
  for (const auto& config : configs) futures.push_back(join_async(config));
  std::vector<JoinResult> results;
  for (auto& future : futures) results.push_back(future.get());
  return results;
}

void expect_success_everywhere(std::vector<JoinResult>& channels) {
  // Finish concurrently: the master waits for every DONE.
  std::vector<std::future<base::Expected<JobVerdict>>> verdicts;
  for (auto& channel : channels) {
    ControlChannel* c = channel->get();
    verdicts.push_back(std::async(std::launch::async, [c] { return c->finish(LocalVerdict{}); }));
  }
  for (auto& future : verdicts) {
    auto verdict = future.get();
    ASSERT_TRUE(verdict) << verdict.error().message;
    EXPECT_EQ(verdict->exit_code, 0);
    EXPECT_FALSE(verdict->failure);
    EXPECT_EQ(verdict->host_exit_codes.size(), channels.size());
  }
}

class Barrier : public ::testing::TestWithParam<int> {};

TEST_P(Barrier, AllHostsJoinAndAgreeOnSuccess) {
  int hosts = GetParam();
  auto port = free_port();
  std::vector<ClusterConfig> configs;
  for (int i = 0; i < hosts; ++i) configs.push_back(host_config(hosts, i, port));
  auto started = Clock::now();
  auto channels = join_all(configs);
  for (int i = 0; i < hosts; ++i) {
    ASSERT_TRUE(channels[i]) << host_name(i) << ": " << channels[i].error().message;
    EXPECT_EQ((*channels[i])->is_master(), i == 0);
    EXPECT_FALSE((*channels[i])->abort_reason());
  }
  EXPECT_LT(Clock::now() - started, milliseconds(3000));
  expect_success_everywhere(channels);
}

INSTANTIATE_TEST_SUITE_P(Hosts, Barrier, ::testing::Values(2, 4));

TEST(BarrierTimeout, MasterNamesTheHostsThatNeverArrived) {
  auto port = free_port();
  auto master = host_config(4, 0, port);
  master.host_wait = milliseconds(1000);
  master.address_overrides["algo-4"] = "not-an-ip";  // cannot resolve (and never asks DNS)
  auto worker = host_config(4, 1, port);
  worker.address_overrides["algo-4"] = "not-an-ip";
  auto started = Clock::now();
  auto results = join_all({master, worker});
  auto elapsed = Clock::now() - started;

  std::string expected = fmt::format(
      "timed out after 1s waiting for hosts algo-3 (resolves to 127.0.0.4, no connection), "
      "algo-4 (name does not resolve: SMRUN_HOST_ADDRESSES value not-an-ip: Name or service not "
      "known) (SMRUN_HOST_WAIT_SECONDS; control port {})",
      port);
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().kind, base::ErrorKind::kCluster);
  EXPECT_EQ(results[0].error().message, expected);
  // The worker that did arrive learns the same reason from the master, not from its own clock.
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().kind, base::ErrorKind::kCluster);
  EXPECT_EQ(results[1].error().message, "master algo-1 gave up waiting for the hosts: " + expected);
  EXPECT_GE(elapsed, milliseconds(1000));
  EXPECT_LT(elapsed, milliseconds(3000));
}

TEST(BarrierTimeout, WorkerNamesTheMasterThatNeverCame) {
  auto port = free_port();
  auto worker = host_config(2, 1, port);
  worker.host_wait = milliseconds(1000);
  auto started = Clock::now();
  auto result = ControlChannel::join(worker);
  auto elapsed = Clock::now() - started;
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, base::ErrorKind::kCluster);
  EXPECT_EQ(result.error().message,
            fmt::format("timed out after 1s waiting for master algo-1 (resolves to 127.0.0.2 port "
                        "{}, connection refused; SMRUN_HOST_WAIT_SECONDS)",
                        port));
  EXPECT_GE(elapsed, milliseconds(750));
  EXPECT_LT(elapsed, milliseconds(2500));
}

TEST(BarrierTimeout, WorkerSaysWhenTheMasterNameDoesNotResolve) {
  auto worker = host_config(2, 1, free_port());
  worker.host_wait = milliseconds(600);
  worker.address_overrides["algo-1"] = "bogus";
  auto result = ControlChannel::join(worker);
  ASSERT_FALSE(result);
  EXPECT_EQ(
      result.error().message,
      "timed out after 600ms waiting for master algo-1 (name does not resolve: "
      "SMRUN_HOST_ADDRESSES value bogus: Name or service not known; SMRUN_HOST_WAIT_SECONDS)");
}

TEST(BarrierRefusal, MatchingTokensJoin) {
  auto port = free_port();
  auto master = host_config(2, 0, port);
  auto worker = host_config(2, 1, port);
  master.token = worker.token = "s3cret";
  auto channels = join_all({master, worker});
  ASSERT_TRUE(channels[0]) << channels[0].error().message;
  ASSERT_TRUE(channels[1]) << channels[1].error().message;
  expect_success_everywhere(channels);
}

TEST(BarrierRefusal, WrongTokenIsRefusedAndDoesNotCountAsArrived) {
  auto port = free_port();
  auto master = host_config(2, 0, port);
  master.host_wait = milliseconds(1000);
  master.token = "s3cret";
  auto worker = host_config(2, 1, port);
  worker.token = "guess";
  auto results = join_all({master, worker});
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().message,
            "master algo-1 refused algo-2: token proof does not match SMRUN_CLUSTER_TOKEN");
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().message,
            fmt::format("timed out after 1s waiting for host algo-2 (resolves to 127.0.0.3, "
                        "refused: token proof does not match SMRUN_CLUSTER_TOKEN) "
                        "(SMRUN_HOST_WAIT_SECONDS; control port {})",
                        port));
}

TEST(BarrierRefusal, MissingTokenIsRefused) {
  auto port = free_port();
  auto master = host_config(2, 0, port);
  master.host_wait = milliseconds(1000);
  master.token = "s3cret";
  auto worker = host_config(2, 1, port);
  auto results = join_all({master, worker});
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().message,
            "master algo-1 refused algo-2: SMRUN_CLUSTER_TOKEN is set on the master but the peer "
            "sent no token proof");
  EXPECT_FALSE(results[0]);
}

TEST(BarrierRefusal, OtherJobIsRefused) {
  auto port = free_port();
  auto master = host_config(2, 0, port);
  master.host_wait = milliseconds(1000);
  auto worker = host_config(2, 1, port);
  worker.job_name = "job-b";
  auto results = join_all({master, worker});
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().message,
            "master algo-1 refused algo-2: job name mismatch: master algo-1 runs job \"job-a\", "
            "peer runs job \"job-b\"");
  ASSERT_FALSE(results[0]);
  EXPECT_NE(
      results[0].error().message.find("algo-2 (resolves to 127.0.0.3, refused: job name mismatch"),
      std::string::npos)
      << results[0].error().message;
}

nlohmann::json raw_hello(const nlohmann::json& challenge, const std::string& host, int version) {
  return {{"type", "hello"}, {"version", version}, {"job", "job-a"},
          {"host", host},    {"nonce", "00ff"},    {"unused", challenge.value("nonce", "")}};
}

TEST(BarrierRefusal, MasterRefusesOtherProtocolVersion) {
  auto port = free_port();
  auto master = host_config(2, 0, port);
  master.host_wait = milliseconds(1500);
  auto pending = join_async(master);
  RawPeer peer(host_address(0), port, milliseconds(1000));
  ASSERT_TRUE(peer.connected());
  auto challenge = peer.read(milliseconds(1000));
  ASSERT_TRUE(challenge);
  EXPECT_EQ((*challenge)["type"], "challenge");
  EXPECT_EQ((*challenge)["version"], kProtocolVersion);
  EXPECT_EQ((*challenge)["nonce"].get<std::string>().size(), 32u);
  peer.send(raw_hello(*challenge, "algo-2", 99));
  auto refuse = peer.read(milliseconds(1000));
  ASSERT_TRUE(refuse);
  EXPECT_EQ((*refuse)["type"], "refuse");
  EXPECT_EQ((*refuse)["reason"], "protocol version mismatch: master algo-1 speaks version " +
                                     std::to_string(kProtocolVersion) + ", peer speaks version 99");
  EXPECT_FALSE(peer.read(milliseconds(1000)));  // and the master closed the connection
  EXPECT_FALSE(pending.get());
}

TEST(BarrierRefusal, WorkerRefusesMasterWithOtherProtocolVersion) {
  auto port = free_port();
  auto worker = host_config(2, 1, port);
  worker.host_wait = milliseconds(3000);
  auto pending = join_async(worker);
  RawPeer fake_master(accept_one_connection(host_address(0), port, milliseconds(3000)));
  ASSERT_TRUE(fake_master.connected());
  fake_master.send({{"type", "challenge"},
                    {"version", kProtocolVersion + 1},
                    {"master", "algo-1"},
                    {"nonce", "ab"}});
  auto started = Clock::now();
  auto result = pending.get();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "protocol version mismatch: master algo-1 speaks version " +
                                        std::to_string(kProtocolVersion + 1) +
                                        ", this smrun speaks version " +
                                        std::to_string(kProtocolVersion));
  EXPECT_LT(Clock::now() - started, milliseconds(1000));  // fatal at once, not retried
}

TEST(BarrierRefusal, DuplicateAndUnknownHostsAreRefused) {
  auto port = free_port();
  auto master = host_config(3, 0, port);
  master.host_wait = milliseconds(2000);
  master.heartbeat_timeout = milliseconds(5000);  // the raw peers do not send heartbeats
  auto pending = join_async(master);

  RawPeer first(host_address(0), port, milliseconds(1000));
  ASSERT_TRUE(first.connected());
  auto challenge = first.read(milliseconds(1000));
  ASSERT_TRUE(challenge);
  first.send(raw_hello(*challenge, "algo-2", kProtocolVersion));
  auto welcome = first.read(milliseconds(1000));
  ASSERT_TRUE(welcome);
  EXPECT_EQ((*welcome)["type"], "welcome");
  EXPECT_EQ((*welcome)["job"], "job-a");
  EXPECT_FALSE(welcome->contains("proof"));

  for (auto [host, reason] :
       {std::pair{"algo-2", "duplicate host algo-2: already joined"},
        std::pair{"algo-9", "unknown host algo-9: not one of the job's distribution hosts"},
        std::pair{"algo-1", "host algo-1 is the master itself"}}) {
    RawPeer other(host_address(0), port, milliseconds(1000));
    ASSERT_TRUE(other.connected());
    auto other_challenge = other.read(milliseconds(1000));
    ASSERT_TRUE(other_challenge);
    other.send(raw_hello(*other_challenge, host, kProtocolVersion));
    auto refuse = other.read(milliseconds(1000));
    ASSERT_TRUE(refuse) << host;
    EXPECT_EQ((*refuse)["type"], "refuse");
    EXPECT_EQ((*refuse)["reason"], reason);
  }

  auto result = pending.get();
  ASSERT_FALSE(result);
  // algo-2 arrived (the first connection); only algo-3 is missing.
  EXPECT_EQ(result.error().message,
            fmt::format("timed out after 2s waiting for host algo-3 (resolves to 127.0.0.4, no "
                        "connection) (SMRUN_HOST_WAIT_SECONDS; control port {})",
                        port));
  auto cancel = first.read(milliseconds(1000));
  ASSERT_TRUE(cancel);
  EXPECT_EQ((*cancel)["type"], "cancel");
}

TEST(BarrierRefusal, GarbageBeforeHelloIsDropped) {
  auto port = free_port();
  auto master = host_config(2, 0, port);
  master.host_wait = milliseconds(1500);
  auto pending = join_async(master);
  {
    RawPeer garbage(host_address(0), port, milliseconds(1000));
    ASSERT_TRUE(garbage.connected());
    ASSERT_TRUE(garbage.read(milliseconds(1000)));
    garbage.send("not an object");
    EXPECT_FALSE(garbage.read(milliseconds(1000)));  // closed
  }
  // The real host still gets in afterwards.
  auto worker = ControlChannel::join(host_config(2, 1, port));
  ASSERT_TRUE(worker) << worker.error().message;
  auto channel = pending.get();
  ASSERT_TRUE(channel) << channel.error().message;
}

}  // namespace
}  // namespace smrun::cluster::test
