// The wiring in cli: the control channel's configuration from the settings and topology, the
// base dir, the outcome files, and commands shown for people.

#include <gtest/gtest.h>

#include "smrun/cli/cluster_settings.hpp"
#include "smrun/cli/job_context.hpp"
#include "smrun/cli/train_steps.hpp"

namespace smrun::cli {
namespace {

launch::LaunchTopology two_hosts() {
  launch::LaunchTopology topo;
  topo.hosts = {"algo-1", "algo-2"};
  topo.current_host = "algo-2";
  topo.master_host = "algo-1";
  topo.node_rank = 1;
  return topo;
}

TEST(ClusterConfig, TakesEveryValueFromTheSettingsAndTheTopology) {
  auto s = settings::read_settings(std::map<std::string, std::string, std::less<>>{
      {"SMRUN_CONTROL_PORT", "9000"},
      {"SMRUN_HOST_WAIT_SECONDS", "12"},
      {"SMRUN_HEARTBEAT_TIMEOUT_SECONDS", "3"},
      {"SMRUN_VERDICT_WAIT_SECONDS", "40"},
      {"SMRUN_CLUSTER_TOKEN", "tok"},
      {"SMRUN_HOST_ADDRESSES", "algo-1=127.0.0.2,algo-2=127.0.0.3"}});
  ASSERT_TRUE(s) << s.error().message;
  auto cfg = cluster_config(*s, two_hosts(), "job-7");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->job_name, "job-7");
  EXPECT_EQ(cfg->hosts, (std::vector<std::string>{"algo-1", "algo-2"}));
  EXPECT_EQ(cfg->current_host, "algo-2");
  EXPECT_EQ(cfg->master_host, "algo-1");
  EXPECT_EQ(cfg->port, 9000);
  EXPECT_EQ(cfg->host_wait, std::chrono::seconds(12));
  EXPECT_EQ(cfg->heartbeat_timeout, std::chrono::seconds(3));
  EXPECT_EQ(cfg->verdict_wait, std::chrono::seconds(40));
  EXPECT_EQ(cfg->token, "tok");
  EXPECT_EQ(cfg->address_overrides.at("algo-2"), "127.0.0.3");

  // No token set: none is required (an empty one would be proven as if it were one).
  auto plain = cluster_config(settings::Settings{}, two_hosts(), "j");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->token, std::nullopt);
  EXPECT_EQ(plain->port, 7780);
}

TEST(ClusterConfig, AHostOutsideTheListIsAConfigError) {
  launch::LaunchTopology topo = two_hosts();
  topo.current_host = "algo-9";
  auto cfg = cluster_config(settings::Settings{}, topo, "j");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().kind, base::ErrorKind::kConfig);
  EXPECT_EQ(cfg.error().message,
            "cluster: current host \"algo-9\" is not one of the distribution hosts");
}

TEST(JobContext, BaseDirComesFromSagemakerBaseDirElseOptMl) {
  EXPECT_EQ(base_dir({}), "/opt/ml");
  EXPECT_EQ(base_dir({{"SAGEMAKER_BASE_DIR", ""}}), "/opt/ml");
  EXPECT_EQ(base_dir({{"SAGEMAKER_BASE_DIR", "/tmp/job"}}), "/tmp/job");
  const report::OutcomeFiles files = outcome_files(config::ml_paths("/tmp/job"));
  EXPECT_EQ(files.failure_file, "/tmp/job/output/failure");
  EXPECT_EQ(files.success_file, "/tmp/job/output/success");
}

TEST(DisplayCommand, QuotesOnlyWhatAShellWouldSplitOrExpand) {
  EXPECT_EQ(display_command(
                {"python3", "-u", "train.py", "--name", "hello world", "-q", "it's", "$HOME"}),
            "python3 -u train.py --name 'hello world' -q 'it'\\''s' '$HOME'");
  EXPECT_EQ(display_command({"a", ""}), "a ''");
}

}  // namespace
}  // namespace smrun::cli
