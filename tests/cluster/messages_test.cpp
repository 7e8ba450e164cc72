#include <netinet/in.h>

#include <gtest/gtest.h>

#include "messages_json.hpp"  // private to the cluster area (src/cluster)
#include "smrun/base/exit_code.hpp"
#include "smrun/cluster/address.hpp"
#include "smrun/cluster/cluster_config.hpp"
#include "smrun/cluster/messages.hpp"
#include "smrun/cluster/sha256.hpp"
#include "smrun/cluster/verdict.hpp"

namespace smrun::cluster {
namespace {

FailureRecord record(std::string host, int code, int signal = 0) {
  return FailureRecord{std::move(host), 3, code, signal, "boom", 1700000000123};
}

TEST(FailureRecord, ExitStatusPrefersSignalAndIsNeverZero) {
  EXPECT_EQ(record("algo-1", 2).exit_status(), 2);
  EXPECT_EQ(record("algo-1", 0, 9).exit_status(), 137);
  EXPECT_EQ(record("algo-1", 0).exit_status(), 1);
}

TEST(FailureRecord, DescribeNamesHostRankAndCause) {
  EXPECT_EQ(describe(record("algo-3", 1)), "algo-3 rank 3: exit code 1: boom");
  FailureRecord lost{"algo-2", std::nullopt, 0, 15, "", 0};
  EXPECT_EQ(describe(lost), "algo-2: signal 15");
}

TEST(FailureRecord, JsonRoundTrip) {
  auto original = record("algo-3", 1);
  auto json = to_json(original);
  EXPECT_EQ(json.dump(), R"({"exit_code":1,"host":"algo-3","message":"boom","rank":3,)"
                         R"("restartable":false,"signal":0,"unix_ms":1700000000123})");
  auto parsed = failure_from_json(json);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->host, "algo-3");
  EXPECT_EQ(parsed->rank, 3);
  EXPECT_EQ(parsed->exit_code, 1);
  EXPECT_EQ(parsed->signal, 0);
  EXPECT_EQ(parsed->message, "boom");
  EXPECT_EQ(parsed->unix_ms, 1700000000123);

  EXPECT_FALSE(parsed->restartable);

  json["rank"] = nullptr;
  EXPECT_EQ(failure_from_json(json)->rank, std::nullopt);
  json["restartable"] = true;
  EXPECT_TRUE(failure_from_json(json)->restartable);
  json.erase("restartable");  // a version 2 record
  EXPECT_FALSE(failure_from_json(json)->restartable);
  json["restartable"] = 1;
  EXPECT_EQ(failure_from_json(json).error().message,
            "control message failure record: field \"restartable\" must be a boolean");
}

TEST(FailureRecord, JsonErrorsNameTheField) {
  auto json = to_json(record("algo-3", 1));
  json["signal"] = "nine";
  auto parsed = failure_from_json(json);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind, base::ErrorKind::kCluster);
  EXPECT_EQ(parsed.error().message,
            "control message failure record: field \"signal\" must be an integer");
  json = to_json(record("", 1));
  EXPECT_EQ(failure_from_json(json).error().message,
            "control message failure record: field \"host\" must be a non-empty string");
}

TEST(JobVerdict, JsonRoundTrip) {
  JobVerdict verdict{137, record("algo-2", 0, 9), {{"algo-1", 143}, {"algo-2", 137}}};
  auto parsed = verdict_from_json(to_json(verdict));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->exit_code, 137);
  ASSERT_TRUE(parsed->failure);
  EXPECT_EQ(parsed->failure->host, "algo-2");
  EXPECT_EQ(parsed->host_exit_codes,
            (std::map<std::string, int>{{"algo-1", 143}, {"algo-2", 137}}));
  EXPECT_EQ(parsed->restart, 0);
  EXPECT_FALSE(to_json(verdict).contains("restart"));  // the final verdict, as in version 2

  verdict.restart = 2;
  auto json = to_json(verdict);
  EXPECT_EQ(json.at("restart"), 2);
  EXPECT_EQ(verdict_from_json(json)->restart, 2);
  json["restart"] = -1;
  EXPECT_EQ(verdict_from_json(json).error().message,
            "control message verdict: field \"restart\" must be an integer from 0");
}

const std::vector<std::string> kHosts = {"algo-1", "algo-2", "algo-3"};

TEST(ComputeVerdict, SuccessWhenEveryHostSucceeded) {
  std::map<std::string, LocalVerdict> done = {{"algo-1", {}}, {"algo-2", {}}, {"algo-3", {}}};
  auto verdict = compute_verdict(kHosts, done, std::nullopt);
  EXPECT_EQ(verdict.exit_code, 0);
  EXPECT_TRUE(verdict.succeeded());
  EXPECT_FALSE(verdict.failure);
  EXPECT_EQ(verdict.host_exit_codes,
            (std::map<std::string, int>{{"algo-1", 0}, {"algo-2", 0}, {"algo-3", 0}}));
}

TEST(ComputeVerdict, FirstFailureDecidesEvenIfOthersFailedLater) {
  std::map<std::string, LocalVerdict> done = {{"algo-1", {143, record("algo-1", 0, 15)}},
                                              {"algo-2", {143, record("algo-2", 0, 15)}},
                                              {"algo-3", {7, record("algo-3", 7)}}};
  auto verdict = compute_verdict(kHosts, done, record("algo-3", 7));
  EXPECT_EQ(verdict.exit_code, 7);
  EXPECT_EQ(verdict.failure->host, "algo-3");
  EXPECT_EQ(verdict.host_exit_codes.at("algo-1"), 143);
}

TEST(ComputeVerdict, SignalFailureGives128PlusSignal) {
  auto verdict = compute_verdict(kHosts, {}, record("algo-2", 0, 9));
  EXPECT_EQ(verdict.exit_code, 137);
}

TEST(ComputeVerdict, MissingOrUnexplainedFailureStillFails) {
  std::map<std::string, LocalVerdict> done = {{"algo-1", {}}, {"algo-2", {3, std::nullopt}}};
  auto verdict = compute_verdict(kHosts, done, std::nullopt);
  EXPECT_EQ(verdict.exit_code, 3);
  EXPECT_EQ(verdict.failure->host, "algo-2");
  EXPECT_EQ(verdict.failure->message, "exited with code 3");
  EXPECT_EQ(verdict.host_exit_codes.at("algo-3"), -1);

  done["algo-2"] = {};
  verdict = compute_verdict(kHosts, done, std::nullopt);
  EXPECT_EQ(verdict.exit_code, base::kExitCluster);
  EXPECT_EQ(verdict.failure->host, "algo-3");
  EXPECT_EQ(verdict.failure->message, "never reported DONE");
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Two-block message (FIPS 180-2 appendix B.2).
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, TokenProofBindsNonceAndToken) {
  EXPECT_EQ(token_proof("tok", "n1"), sha256_hex("smrun-cluster-v1\nn1\ntok"));
  EXPECT_NE(token_proof("tok", "n1"), token_proof("tok", "n2"));
  EXPECT_NE(token_proof("tok", "n1"), token_proof("tok2", "n1"));
}

TEST(ResolveHost, OverrideWinsAndIsNumericOnly) {
  std::map<std::string, std::string> overrides = {{"algo-7", "127.0.0.8"}, {"algo-8", "bogus"}};
  auto resolved = resolve_host("algo-7", 7780, overrides);
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved->text, "127.0.0.8");
  EXPECT_EQ(resolved->family(), AF_INET);
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&resolved->storage)->sin_port), 7780);
  auto bogus = resolve_host("algo-8", 7780, overrides);
  ASSERT_FALSE(bogus);
  EXPECT_EQ(bogus.error().message, "SMRUN_HOST_ADDRESSES value bogus: Name or service not known");
}

TEST(ClusterConfigValidate, AcceptsGoodAndNamesTheProblem) {
  ClusterConfig config;
  config.hosts = {"algo-1", "algo-2"};
  config.current_host = "algo-2";
  config.master_host = "algo-1";
  EXPECT_TRUE(validate(config));
  config.current_host = "algo-9";
  EXPECT_EQ(validate(config).error().message,
            "cluster: current host \"algo-9\" is not one of the distribution hosts");
  config.current_host = "algo-2";
  config.hosts = {"algo-1", "algo-2", "algo-1"};
  EXPECT_EQ(validate(config).error().message, "cluster: host algo-1 listed twice");
  config.hosts = {"algo-1", "algo-2"};
  config.heartbeat_timeout = config.heartbeat_interval;
  EXPECT_EQ(validate(config).error().kind, base::ErrorKind::kConfig);
  EXPECT_EQ(validate(config).error().message,
            "SMRUN_HEARTBEAT_TIMEOUT_SECONDS: expected more than the heartbeat interval (250 ms)");
}

}  // namespace
}  // namespace smrun::cluster
