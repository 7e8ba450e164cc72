// Every SMRUN_* setting goes through settings::read_settings: defaults equal to the table's,
// good values of each kind, and one exact message per kind of bad value.

#include "smrun/settings/settings.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace smrun::settings {
namespace {

using Env = std::map<std::string, std::string, std::less<>>;
using Argv = std::vector<std::string>;

Settings read(Env env) {
  auto s = read_settings(env);
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return s ? *s : Settings{};
}

std::string error(std::string name, std::string value) {
  auto s = read_settings(Env{{name, value}});
  EXPECT_FALSE(s.has_value()) << name << "=" << value;
  if (s) return "";
  EXPECT_EQ(s.error().kind, base::ErrorKind::kConfig);
  return s.error().message;
}

// The struct's initialisers and the table's defaults (env-spec/variables.json) are one thing.
TEST(Settings, TheTableDefaultsAreTheStructDefaults) {
  const Settings defaults = read({});
  EXPECT_EQ(defaults, Settings{});
  EXPECT_EQ(defaults.term_grace, std::chrono::seconds(110));
  EXPECT_EQ(defaults.pack_model, PackMode::kOn);
  EXPECT_EQ(defaults.pack_level, 6);
  EXPECT_EQ(defaults.python, "python3");
  EXPECT_EQ(defaults.torchrun, Argv{"torchrun"});
  EXPECT_EQ(defaults.mpi_sshd, (Argv{"/usr/sbin/sshd", "-D"}));
  EXPECT_EQ(defaults.master_port, 7777);
  EXPECT_EQ(defaults.control_port, 7780);
  EXPECT_EQ(defaults.mpi_ssh_port, 22);
  EXPECT_EQ(defaults.s3_sync_wait, std::chrono::seconds(300));
  EXPECT_EQ(defaults.launcher, std::nullopt);
  EXPECT_EQ(defaults.log_prefix, std::nullopt);
}

TEST(Settings, GoodValuesOfEachKind) {
  EXPECT_EQ(read({{"SMRUN_TERM_GRACE_SECONDS", "0"}}).term_grace, std::chrono::seconds(0));
  EXPECT_EQ(read({{"SMRUN_TERM_GRACE_SECONDS", "86400"}}).term_grace, std::chrono::seconds(86400));
  EXPECT_EQ(read({{"SMRUN_PACK_MODEL", "off"}}).pack_model, PackMode::kOff);
  EXPECT_EQ(read({{"SMRUN_PACK_MODEL", "YES"}}).pack_model, PackMode::kOn);
  EXPECT_EQ(read({{"SMRUN_PACK_MODEL", "Required"}}).pack_model, PackMode::kRequired);
  EXPECT_EQ(read({{"SMRUN_MODEL_ARCHIVE", "/o/m.tgz"}}).model_archive, "/o/m.tgz");
  EXPECT_EQ(read({{"SMRUN_MODEL_ARCHIVE", ""}}).model_archive, std::nullopt);
  EXPECT_EQ(read({{"SMRUN_PACK_LEVEL", "12"}}).pack_level, 12);
  EXPECT_EQ(read({{"SMRUN_NUM_GPUS", "0"}}).num_gpus, 0);
  EXPECT_EQ(read({{"SMRUN_NPROC_PER_NODE", "64"}}).nproc_per_node, 64);
  EXPECT_EQ(read({{"SMRUN_LAUNCHER", "torchrun"}}).launcher, "torchrun");
  EXPECT_EQ(read({{"SMRUN_LOG_PREFIX", "0"}}).log_prefix, false);
  EXPECT_EQ(read({{"SMRUN_MASTER_ADDR_IP", "on"}}).master_addr_ip, true);
  EXPECT_EQ(read({{"SMRUN_PYTHON", ""}}).python, "python3");
  EXPECT_EQ(read({{"SMRUN_PYTHON", "/usr/bin/python3"}}).python, "/usr/bin/python3");
  EXPECT_EQ(read({{"SMRUN_CLUSTER_TOKEN", "s3cr3t"}}).cluster_token, "s3cr3t");
  EXPECT_EQ(read({{"SMRUN_S3_PART_SIZE_MB", "5"}}).s3_part_size_mb, 5);
  // SMRUN_TORCHRUN: one program path (never split on spaces), or a JSON argv.
  EXPECT_EQ(read({{"SMRUN_TORCHRUN", "/opt/my torch/bin/torchrun"}}).torchrun,
            Argv{"/opt/my torch/bin/torchrun"});
  EXPECT_EQ(read({{"SMRUN_TORCHRUN",
                   R"(["/usr/bin/python3", "-m", "torch.distributed.run", "--redirects", "2"])"}})
                .torchrun,
            (Argv{"/usr/bin/python3", "-m", "torch.distributed.run", "--redirects", "2"}));
  // SMRUN_MPI_SSHD: a JSON argv; [] runs no daemon.
  EXPECT_EQ(read({{"SMRUN_MPI_SSHD", "[]"}}).mpi_sshd, Argv{});
  EXPECT_EQ(read({{"SMRUN_MPI_SSHD", R"(["/usr/sbin/sshd", "-D", "-p", "2222"])"}}).mpi_sshd,
            (Argv{"/usr/sbin/sshd", "-D", "-p", "2222"}));
  EXPECT_EQ(read({{"SMRUN_HOST_ADDRESSES", " algo-1=127.0.0.2, algo-2=127.0.0.3,,algo-3=::1 "}})
                .host_addresses,
            (std::map<std::string, std::string>{
                {"algo-1", "127.0.0.2"}, {"algo-2", "127.0.0.3"}, {"algo-3", "::1"}}));
  EXPECT_TRUE(read({{"SMRUN_HOST_ADDRESSES", ""}}).host_addresses.empty());
}

TEST(Settings, SwitchesAcceptTheDocumentedSpellingsOnly) {
  for (const char* on : {"1", "true", "TRUE", "yes", "On"})
    EXPECT_EQ(read({{"SMRUN_LOG_PREFIX", on}}).log_prefix, true) << on;
  for (const char* off : {"0", "false", "No", "off"})
    EXPECT_EQ(read({{"SMRUN_LOG_PREFIX", off}}).log_prefix, false) << off;
  for (const char* bad : {"", "2", "y", "enabled", "required"})
    EXPECT_EQ(error("SMRUN_LOG_PREFIX", bad), "environment variable SMRUN_LOG_PREFIX='" +
                                                  std::string(bad) +
                                                  "': expected 1/true/yes/on or 0/false/no/off");
}

TEST(Settings, BadValuesNameTheVariableTheValueAndWhatWasExpected) {
  EXPECT_EQ(error("SMRUN_TERM_GRACE_SECONDS", "abc"),
            "environment variable SMRUN_TERM_GRACE_SECONDS='abc': expected an integer from 0 to "
            "86400");
  EXPECT_EQ(error("SMRUN_TERM_GRACE_SECONDS", "86401"),
            "environment variable SMRUN_TERM_GRACE_SECONDS='86401': expected an integer from 0 to "
            "86400");
  EXPECT_EQ(error("SMRUN_PACK_MODEL", "maybe"),
            "environment variable SMRUN_PACK_MODEL='maybe': expected required, 1/true/yes/on or "
            "0/false/no/off");
  EXPECT_EQ(error("SMRUN_PACK_LEVEL", ""),
            "environment variable SMRUN_PACK_LEVEL='': expected an integer from 1 to 12");
  EXPECT_EQ(error("SMRUN_NPROC_PER_NODE", "0"),
            "environment variable SMRUN_NPROC_PER_NODE='0': expected an integer from 1 to 1048576");
  EXPECT_EQ(error("SMRUN_NUM_CPUS", "-1"),
            "environment variable SMRUN_NUM_CPUS='-1': expected an integer from 0 to 1048576");
  EXPECT_EQ(error("SMRUN_MASTER_PORT", "65536"),
            "environment variable SMRUN_MASTER_PORT='65536': expected an integer from 1 to 65535");
  EXPECT_EQ(error("SMRUN_S3_PART_SIZE_MB", "4"),
            "environment variable SMRUN_S3_PART_SIZE_MB='4': expected an integer from 5 to 5120");
  EXPECT_EQ(error("SMRUN_S3_CONCURRENCY", "8x"),
            "environment variable SMRUN_S3_CONCURRENCY='8x': expected an integer from 1 to 64");
  EXPECT_EQ(error("SMRUN_LAUNCHER", "gang"),
            "environment variable SMRUN_LAUNCHER='gang': expected one of process, native, "
            "torchrun, mpi");
  EXPECT_EQ(error("SMRUN_TORCHRUN", "[]"),
            "environment variable SMRUN_TORCHRUN='[]': expected a non-empty JSON array of "
            "non-empty strings");
  EXPECT_EQ(
      error("SMRUN_TORCHRUN", R"(["torchrun", 3])"),
      R"(environment variable SMRUN_TORCHRUN='["torchrun", 3]': expected a non-empty JSON array of non-empty strings)");
  EXPECT_EQ(error("SMRUN_TORCHRUN", "[torchrun"),
            "environment variable SMRUN_TORCHRUN='[torchrun': expected a non-empty JSON array of "
            "non-empty strings (invalid JSON: Expecting value: line 1 column 2 (char 1))");
  EXPECT_EQ(error("SMRUN_MPI_SSHD", "/usr/sbin/sshd -D"),
            "environment variable SMRUN_MPI_SSHD='/usr/sbin/sshd -D': expected a JSON array of "
            "non-empty strings, or [] (invalid JSON: Expecting value: line 1 column 1 (char 0))");
  EXPECT_EQ(
      error("SMRUN_MPI_SSHD", R"({"argv": []})"),
      R"(environment variable SMRUN_MPI_SSHD='{"argv": []}': expected a JSON array of non-empty strings, or [])");
  EXPECT_EQ(error("SMRUN_HOST_ADDRESSES", "algo-1"),
            "environment variable SMRUN_HOST_ADDRESSES='algo-1': expected host=address,... "
            "(\"algo-1\" is not host=address)");
  EXPECT_EQ(error("SMRUN_HOST_ADDRESSES", "algo-1=somehost"),
            "environment variable SMRUN_HOST_ADDRESSES='algo-1=somehost': expected numeric IP "
            "addresses (somehost is not one, for host algo-1)");
  EXPECT_EQ(error("SMRUN_HOST_ADDRESSES", "a=127.0.0.2,a=127.0.0.3"),
            "environment variable SMRUN_HOST_ADDRESSES='a=127.0.0.2,a=127.0.0.3': expected each "
            "host once (a is given twice)");
  // Control characters are shown escaped, never written raw into a log line.
  EXPECT_EQ(error("SMRUN_PACK_LEVEL", "1\n2"),
            "environment variable SMRUN_PACK_LEVEL='1\\n2': expected an integer from 1 to 12");
}

// Each setting of a kind that can be malformed is checked when set: no SMRUN_* variable is
// read anywhere without its rule.
TEST(Settings, EveryCheckedSettingRejectsGarbage) {
  const std::set<std::string_view> free_text = {"SMRUN_PYTHON",        "SMRUN_MODEL_ARCHIVE",
                                                "SMRUN_CLUSTER_TOKEN", "SMRUN_RANK_LOG_DIR",
                                                "SMRUN_MPI_RSH_AGENT", "SMRUN_TORCHRUN"};
  const auto names = setting_names();
  EXPECT_EQ(names.size(), 35u);
  for (std::string_view name : names) {
    auto s = read_settings(Env{{std::string(name), "[not valid"}});
    if (free_text.count(name) != 0) {
      // Free text: any value is taken as is (SMRUN_TORCHRUN's '[' starts a JSON argv).
      EXPECT_EQ(s.has_value(), name != "SMRUN_TORCHRUN") << name;
      continue;
    }
    ASSERT_FALSE(s.has_value()) << name;
    EXPECT_EQ(s.error().message.rfind("environment variable " + std::string(name) + "=", 0), 0u)
        << s.error().message;
  }
}

TEST(Settings, LogRanksAreRanksAndRanges) {
  const Settings s = read({{"SMRUN_LOG_RANKS", "0, 8-15,3"}});
  ASSERT_TRUE(s.log_ranks.has_value());
  EXPECT_EQ(*s.log_ranks, (std::vector<std::pair<int, int>>{{0, 0}, {8, 15}, {3, 3}}));
  for (int rank : {0, 3, 8, 12, 15}) EXPECT_TRUE(rank_shown(s, rank)) << rank;
  for (int rank : {1, 2, 4, 7, 16}) EXPECT_FALSE(rank_shown(s, rank)) << rank;
  EXPECT_TRUE(rank_shown(Settings{}, 99));  // not set: every rank
  for (const char* bad : {"", "a", "1-", "-1", "5-2", "1,,2", "1 2"})
    EXPECT_EQ(error("SMRUN_LOG_RANKS", bad),
              "environment variable SMRUN_LOG_RANKS='" + std::string(bad) +
                  "': expected ranks and ranges such as 0 or 0,8-15 (non-negative, first <= last)");
}

TEST(Settings, UnknownSmrunNamesAreListed) {
  EXPECT_EQ(unknown_settings({{"SMRUN_TERM_GRACE_SECOND", "5"},
                              {"SMRUN_TERM_GRACE_SECONDS", "5"},
                              {"SMRUN_S3_PART_SIZE", "8"},
                              {"SM_HOSTS", "[]"},
                              {"PATH", "/bin"}}),
            (std::vector<std::string>{"SMRUN_S3_PART_SIZE", "SMRUN_TERM_GRACE_SECOND"}));
}

// The settings parser reads the variable through parse_definitions: the error names the
// variable, and its kind is a config error (exit code 65).
TEST(Settings, MetricDefinitionsAreParsedAndTheErrorNamesTheVariable) {
  auto s =
      read_settings(Env{{"SMRUN_METRIC_DEFINITIONS", R"J([{"Name": "loss", "Regex": "("}])J"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, base::ErrorKind::kConfig);
  EXPECT_EQ(
      s.error().message.rfind(
          R"J(environment variable SMRUN_METRIC_DEFINITIONS='[{"Name": "loss", "Regex": "("}]': )J"
          R"J(expected a JSON list of {"Name": ..., "Regex": ...} objects; definition 1 ("loss"): )J",
          0),
      0u)
      << s.error().message;
  auto ok = read_settings(
      Env{{"SMRUN_METRIC_DEFINITIONS", R"J([{"Name": "loss", "Regex": "loss=(\\S+)"}])J"},
          {"SMRUN_METRIC_INTERVAL_SECONDS", "2"}});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->metric_definitions,
            (std::vector<metrics::MetricDefinition>{{"loss", "loss=(\\S+)"}}));
  EXPECT_EQ(ok->metric_interval, 2);
  auto unset = read_settings(Env{});
  ASSERT_TRUE(unset);
  EXPECT_TRUE(unset->metric_definitions.empty());
  EXPECT_FALSE(unset->metric_interval);
}

}  // namespace
}  // namespace smrun::settings
