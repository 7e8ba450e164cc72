// SMRUN_* settings `train` reads itself: defaults, good values, and one exact message per bad one.

#include "smrun/cli/settings.hpp"

#include <gtest/gtest.h>

#include <string>

namespace smrun::cli {
namespace {

env::EnvSnapshot with(std::string name, std::string value) {
  return env::EnvSnapshot{{std::move(name), std::move(value)}};
}

TEST(RunSettings, Defaults) {
  auto s = read_run_settings({});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->base_dir, "/opt/ml");
  EXPECT_EQ(s->term_grace, std::chrono::seconds(110));
  EXPECT_TRUE(s->pack_model);
  EXPECT_FALSE(s->pack_required);
  EXPECT_FALSE(s->model_archive.has_value());
  EXPECT_EQ(s->pack_level, 6);
}

TEST(RunSettings, GoodValues) {
  EXPECT_EQ(read_run_settings(with("SAGEMAKER_BASE_DIR", "/x"))->base_dir, "/x");
  EXPECT_EQ(read_run_settings(with("SMRUN_TERM_GRACE_SECONDS", "0"))->term_grace,
            std::chrono::seconds(0));
  EXPECT_EQ(read_run_settings(with("SMRUN_TERM_GRACE_SECONDS", "86400"))->term_grace,
            std::chrono::seconds(86400));
  EXPECT_FALSE(read_run_settings(with("SMRUN_PACK_MODEL", "off"))->pack_model);
  EXPECT_TRUE(read_run_settings(with("SMRUN_PACK_MODEL", "YES"))->pack_model);
  auto required = read_run_settings(with("SMRUN_PACK_MODEL", "Required"));
  EXPECT_TRUE(required->pack_model && required->pack_required);
  EXPECT_EQ(read_run_settings(with("SMRUN_MODEL_ARCHIVE", "/o/m.tgz"))->model_archive, "/o/m.tgz");
  EXPECT_EQ(read_run_settings(with("SMRUN_PACK_LEVEL", "12"))->pack_level, 12);
}

TEST(RunSettings, BadValuesNameTheVariableAndWhatWasExpected) {
  const std::pair<env::EnvSnapshot, std::string> cases[] = {
      {with("SMRUN_TERM_GRACE_SECONDS", "abc"),
       "environment variable SMRUN_TERM_GRACE_SECONDS='abc': expected an integer from 0 to 86400"},
      {with("SMRUN_TERM_GRACE_SECONDS", "86401"),
       "environment variable SMRUN_TERM_GRACE_SECONDS='86401': expected an integer from 0 to "
       "86400"},
      {with("SMRUN_PACK_MODEL", "maybe"),
       "environment variable SMRUN_PACK_MODEL='maybe': expected required, 1/true/yes/on or "
       "0/false/no/off"},
      {with("SMRUN_PACK_LEVEL", "0"),
       "environment variable SMRUN_PACK_LEVEL='0': expected an integer from 1 to 12"},
      {with("SMRUN_PACK_LEVEL", ""),
       "environment variable SMRUN_PACK_LEVEL='': expected an integer from 1 to 12"},
  };
  for (const auto& [env, message] : cases) {
    auto s = read_run_settings(env);
    ASSERT_FALSE(s.has_value()) << message;
    EXPECT_EQ(s.error().kind, base::ErrorKind::kConfig);
    EXPECT_EQ(s.error().message, message);
  }
}

TEST(ParseSwitch, AcceptsTheDocumentedSpellingsOnly) {
  for (const char* on : {"1", "true", "TRUE", "yes", "On"})
    EXPECT_EQ(parse_switch("X", on).value(), true) << on;
  for (const char* off : {"0", "false", "No", "off"})
    EXPECT_EQ(parse_switch("X", off).value(), false) << off;
  for (const char* bad : {"", "2", "y", "enabled"}) EXPECT_FALSE(parse_switch("X", bad)) << bad;
}

}  // namespace
}  // namespace smrun::cli
