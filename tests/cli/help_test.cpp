// `smrun <command> --help`: one style for every command, settings from env-spec/variables.json.

#include "smrun/cli/help.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace smrun::cli {
namespace {

nlohmann::json env_spec() {
  std::ifstream in(std::string(SMRUN_SOURCE_DIR) + "/env-spec/variables.json");
  return nlohmann::json::parse(in);
}

std::vector<std::string> read_variables() {
  std::vector<std::string> names;
  const nlohmann::json spec = env_spec();
  for (const auto& v : spec.at("variables"))
    if (v.at("direction") == "reads") names.push_back(v.at("name").get<std::string>());
  return names;
}

TEST(Help, EveryCommandHasTheSameSections) {
  for (const char* command : {"train", "env", "pack", "s3", "version"}) {
    const std::string help = command_help(command);
    EXPECT_EQ(help.rfind(std::string("usage: smrun ") + command, 0), 0u) << help;
    EXPECT_NE(help.find("\n\noptions:\n  -"), std::string::npos) << help;
    EXPECT_NE(help.find("\n  -h, --help           show this help\n"), std::string::npos) << help;
    EXPECT_NE(help.find("\nexit codes:\n  0      "), std::string::npos) << help;
    EXPECT_NE(help.find("\n  64     usage error"), std::string::npos) << help;
    EXPECT_EQ(command_usage(command).rfind(std::string("usage: smrun ") + command, 0), 0u);
  }
}

TEST(Help, TrainListsEverySettingOfEnvSpecAndEveryExitCode) {
  const std::string help = command_help("train");
  const auto names = read_variables();
  ASSERT_GT(names.size(), 40u);
  for (const auto& name : names)
    EXPECT_NE(help.find("\n  " + name + " "), std::string::npos) << name << " missing";
  // The first sentence of each meaning, under its name.
  EXPECT_NE(help.find("\n  SMRUN_PACK_MODEL                         required, or 1/0, true/false, "
                      "yes/no, on/off\n      Pack the model dir into model.tar.gz on success "
                      "(default on).\n"),
            std::string::npos)
      << help;
  for (const char* row :
       {"\n  65     invalid config JSON or setting\n", "\n  66     user code missing",
        "\n  67     requirements or package installation failed\n",
        "\n  68     model archive failed (SMRUN_PACK_MODEL=required)\n",
        "\n  69     cluster: peers missing", "\n  70     smrun bug or OS failure",
        "\n  126    the entry point cannot be executed\n",
        "\n  127    the entry point or its interpreter was not found\n", "\n  128+N  "})
    EXPECT_NE(help.find(row), std::string::npos) << row;
}

TEST(Help, S3ListsOnlyItsSettings) {
  const std::string help = command_help("s3");
  EXPECT_NE(help.find("\n  SMRUN_S3_MAX_ATTEMPTS "), std::string::npos);
  EXPECT_NE(help.find("\n  AWS_ACCESS_KEY_ID "), std::string::npos);
  EXPECT_EQ(help.find("SMRUN_TERM_GRACE_SECONDS"), std::string::npos);
  EXPECT_NE(help.find("\n  66     the transfer failed\n"), std::string::npos);
}

TEST(Help, PackAndVersionReadNoSettings) {
  EXPECT_EQ(command_help("pack").find("settings"), std::string::npos);
  EXPECT_EQ(command_help("version").find("settings"), std::string::npos);
}

TEST(Help, TopLevelNamesEveryCommand) {
  const std::string top = command_help("");
  EXPECT_EQ(top.rfind("usage: smrun <command> [options]\n", 0), 0u);
  for (const char* c :
       {"\n  train ", "\n  env ", "\n  pack DIR OUT ", "\n  s3 cp SRC DST ", "\n  version "})
    EXPECT_NE(top.find(c), std::string::npos) << c;
  EXPECT_EQ(command_help("no-such-command"), top);
}

}  // namespace
}  // namespace smrun::cli
