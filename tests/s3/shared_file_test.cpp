// The AWS shared credentials/config files: the INI parser, and the profile lookup of the
// credential chain (credentials file over config file, "[profile x]" vs "[x]", AWS_PROFILE).

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "smrun/s3/credentials.hpp"
#include "support/test_support.hpp"

namespace smrun::s3 {
namespace {

using Env = std::map<std::string, std::string, std::less<>>;

// Every secret-looking value in these files; no message may quote one.
const std::vector<std::string> kSecrets = {"FILESECRET", "CONFIGSECRET", "FILETOKEN", "PROFSECRET"};

void expect_no_secrets(const std::string& text) {
  for (const std::string& secret : kSecrets)
    EXPECT_EQ(text.find(secret), std::string::npos) << "'" << secret << "' leaked in: " << text;
}

std::string parse_error(std::string_view text) {
  auto parsed = parse_shared_file(text, "/cfg/credentials");
  EXPECT_FALSE(parsed.has_value()) << text;
  if (parsed) return "";
  EXPECT_EQ(parsed.error().kind, base::ErrorKind::kConfig);
  expect_no_secrets(parsed.error().message);
  return parsed.error().message;
}

TEST(SharedFileParse, SectionsKeysCommentsAndWhitespace) {
  auto parsed = parse_shared_file(
      "\xEF\xBB\xBF# leading comment\r\n"
      "[default]\r\n"
      "aws_access_key_id=AKIDDEFAULT\r\n"
      "  ; indented comment\n"
      "\n"
      "[profile dev]   # a comment after the header\n"
      "AWS_Secret_Access_Key   =    spaced value  \t\n"
      "region: eu-west-1\n"
      "s3 =\n"
      "    addressing_style = path\n"
      "    max_concurrent_requests = 4\n"
      "\t\n"
      "[  padded  ]\n"
      "k = a=b:c\n"
      "empty =\n",
      "/cfg/config");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const SharedFile& f = *parsed;
  ASSERT_EQ(f.sections.size(), 3u);
  EXPECT_EQ(f.sections[0].first, "default");
  EXPECT_EQ(f.sections[1].first, "profile dev");
  EXPECT_EQ(f.sections[2].first, "padded");
  using Entries = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*f.section("default"), (Entries{{"aws_access_key_id", "AKIDDEFAULT"}}));
  EXPECT_EQ(*f.section("profile dev"),
            (Entries{{"aws_secret_access_key", "spaced value"},
                     {"region", "eu-west-1"},
                     {"s3", "\naddressing_style = path\nmax_concurrent_requests = 4"}}));
  EXPECT_EQ(*f.section("padded"), (Entries{{"k", "a=b:c"}, {"empty", ""}}));
  EXPECT_EQ(f.section("dev"), nullptr);
  EXPECT_EQ(f.section("nope"), nullptr);
}

TEST(SharedFileParse, LoneCarriageReturnsEndLinesLikePythonsUniversalNewlines) {
  auto parsed = parse_shared_file("[a]\rk = v\r\r\nj = w\r", "f");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  using Entries = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*parsed->section("a"), (Entries{{"k", "v"}, {"j", "w"}}));
  EXPECT_EQ(parse_shared_file("[a]\r\rk\r", "f").error().message,
            "f:3: expected 'key = value', a [section] header or a comment");
}

TEST(SharedFileParse, EmptyAndCommentOnlyFiles) {
  for (std::string_view text : {"", "\n\n", "# only\n; comments\n", "\r\n  \t\r\n"}) {
    auto parsed = parse_shared_file(text, "f");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_TRUE(parsed->sections.empty());
  }
}

TEST(SharedFileParse, ErrorsNameFileAndLineButNoValue) {
  EXPECT_EQ(parse_error("aws_secret_access_key = FILESECRET\n"),
            "/cfg/credentials:1: a property before any [section] header");
  EXPECT_EQ(parse_error("[default]\n\nFILESECRET\n"),
            "/cfg/credentials:3: expected 'key = value', a [section] header or a comment");
  EXPECT_EQ(parse_error("[default]\n = FILESECRET\n"),
            "/cfg/credentials:2: a property without a name");
  EXPECT_EQ(parse_error("[a]\nx=1\n[b]\n[a]\n"),
            "/cfg/credentials:4: duplicate section [a] (first at line 1)");
  EXPECT_EQ(
      parse_error("[a]\naws_secret_access_key=FILESECRET\nAWS_SECRET_ACCESS_KEY = FILESECRET\n"),
      "/cfg/credentials:3: duplicate key 'aws_secret_access_key' in [a] (first at line 2)");
  EXPECT_EQ(parse_error("[default\nx=1\n"),
            "/cfg/credentials:1: a section header without its closing ']'");
  EXPECT_EQ(parse_error("[]\n"), "/cfg/credentials:1: a section header without a name");
  EXPECT_EQ(parse_error("[default] FILESECRET\n"),
            "/cfg/credentials:1: text after a section header's ']'");
}

TEST(SharedFileParse, ContinuationOnlyFromDeeperIndentation) {
  // An indented line continues the value above it (configparser's rule): here it swallows the
  // secret line, which the chain then reports as unusable.
  auto parsed = parse_shared_file("[d]\n  a = 1\n  b = 2\n    c = 3\n", "f");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  using Entries = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*parsed->section("d"), (Entries{{"a", "1"}, {"b", "2\nc = 3"}}));
}

// ---------------------------------------------------------------------------------------------
// The shared-files link of the chain.

class SharedFiles : public ::testing::Test {
 protected:
  Env env() const {
    // Every test keeps off the network: no endpoint is set and IMDS is disabled.
    return {{"HOME", home().string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  }
  std::filesystem::path home() const { return m_dir.path(); }
  std::string credentials_path() const { return (home() / ".aws/credentials").string(); }
  std::string config_path() const { return (home() / ".aws/config").string(); }
  void write_credentials(const std::string& text) const {
    test::write_file(home() / ".aws/credentials", text);
  }
  void write_config(const std::string& text) const {
    test::write_file(home() / ".aws/config", text);
  }
  static base::Expected<Credentials> resolve(Env vars) {
    return resolve_credentials(env_from_map(std::move(vars)));
  }
  std::string resolve_error(Env vars) const {
    auto r = resolve(std::move(vars));
    EXPECT_FALSE(r.has_value());
    if (r) return "";
    expect_no_secrets(r.error().message);
    return r.error().message;
  }

 private:
  test::TempDir m_dir;
};

TEST_F(SharedFiles, CredentialsFileWinsOverConfigFile) {
  write_credentials(
      "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = FILESECRET\n"
      "aws_session_token = FILETOKEN\n");
  write_config(
      "[default]\naws_access_key_id = AKIDCONFIG\n"
      "aws_secret_access_key = CONFIGSECRET\nregion = us-west-2\n");
  auto c = resolve(env());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDFILE");
  EXPECT_EQ(c->keys.secret_access_key, "FILESECRET");
  EXPECT_EQ(c->keys.session_token, "FILETOKEN");
  EXPECT_FALSE(c->expiration.has_value());
  EXPECT_EQ(c->source, "shared credentials file " + credentials_path() + " (profile default)");
  expect_no_secrets(c->source);
  EXPECT_EQ(describe_credential_source(env_from_map(env())), c->source);
}

TEST_F(SharedFiles, ConfigFileWhenTheCredentialsFileHasNoKeysForTheProfile) {
  write_credentials(
      "[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = X\n"
      "[default]\n# keys are in the config file\n");
  write_config("[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = CONFIGSECRET\n");
  auto c = resolve(env());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDCONFIG");
  EXPECT_EQ(c->keys.session_token, "");
  EXPECT_EQ(c->source, "shared config file " + config_path() + " (profile default)");
}

TEST_F(SharedFiles, ProfileSectionsAreNamedDifferentlyInTheTwoFiles) {
  // Credentials file: [dev]; config file: [profile dev]. The other spellings are not profile dev.
  write_credentials("[profile dev]\naws_access_key_id = WRONG1\naws_secret_access_key = X\n");
  write_config(
      "[dev]\naws_access_key_id = WRONG2\naws_secret_access_key = X\n"
      "[profile   dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = PROFSECRET\n");
  Env vars = env();
  vars["AWS_PROFILE"] = "dev";
  auto c = resolve(vars);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDDEV");
  EXPECT_EQ(c->source, "shared config file " + config_path() + " (profile dev)");

  write_credentials("[dev]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = FILESECRET\n");
  c = resolve(vars);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDCREDS");
  EXPECT_EQ(c->source, "shared credentials file " + credentials_path() + " (profile dev)");
}

TEST_F(SharedFiles, DefaultProfileInTheConfigFile) {
  write_config(
      "[default]\naws_access_key_id = PLAIN\naws_secret_access_key = X\n"
      "[profile default]\naws_access_key_id = PROFILED\naws_secret_access_key = X\n");
  auto c = resolve(env());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "PROFILED");
  write_config("[default]\naws_access_key_id = PLAIN\naws_secret_access_key = X\n");
  c = resolve(env());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "PLAIN");
}

TEST_F(SharedFiles, AwsProfileSelectsAndAMissingOneIsAnError) {
  write_credentials(
      "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = X\n"
      "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = PROFSECRET\n");
  Env vars = env();
  vars["AWS_PROFILE"] = "ci";
  auto c = resolve(vars);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDCI");

  vars["AWS_PROFILE"] = "nope";
  EXPECT_EQ(resolve_error(vars),
            "the profile nope named by AWS_PROFILE is in neither shared "
            "credentials file " +
                credentials_path() + " nor shared config file " + config_path());
  // An empty AWS_PROFILE is the default profile.
  vars["AWS_PROFILE"] = "";
  c = resolve(vars);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDDEFAULT");
}

TEST_F(SharedFiles, HalfAKeyPairNamesFileAndProfile) {
  write_credentials("[default]\naws_access_key_id = AKIDONLY\n");
  EXPECT_EQ(resolve_error(env()), "shared credentials file " + credentials_path() +
                                      " (profile default): aws_secret_access_key is missing or "
                                      "empty (aws_access_key_id is set)");
  write_credentials("[default]\naws_access_key_id = AKIDONLY\naws_secret_access_key =\n");
  EXPECT_EQ(resolve_error(env()), "shared credentials file " + credentials_path() +
                                      " (profile default): aws_secret_access_key is missing or "
                                      "empty (aws_access_key_id is set)");
  write_credentials("");
  write_config("[profile x]\naws_secret_access_key = PROFSECRET\n");
  Env vars = env();
  vars["AWS_PROFILE"] = "x";
  EXPECT_EQ(resolve_error(vars), "shared config file " + config_path() +
                                     " (profile x): aws_access_key_id is missing or empty "
                                     "(aws_secret_access_key is set)");
}

TEST_F(SharedFiles, ValuesThatCannotBeSentAreRefused) {
  // The indented secret line continues the key id: the key id now holds a line break.
  write_credentials(
      "[default]\naws_access_key_id = AKID\n  aws_secret_access_key = FILESECRET\n"
      "aws_secret_access_key = FILESECRET\n");
  EXPECT_EQ(resolve_error(env()),
            "shared credentials file " + credentials_path() +
                " (profile default): aws_access_key_id has characters that cannot be sent "
                "(whitespace, control or non-ASCII; an indented line continues the line above "
                "it)");
  write_credentials("[default]\naws_access_key_id = AKID\naws_secret_access_key = FILE SECRET\n");
  EXPECT_NE(resolve_error(env()).find("aws_secret_access_key has characters"), std::string::npos);
}

TEST_F(SharedFiles, ExplicitPathsWithTildeAndSessionTokenSpellings) {
  test::write_file(home() / "elsewhere/creds",
                   "[default]\naws_access_key_id = AKIDX\naws_secret_access_key = FILESECRET\n"
                   "aws_security_token = FILETOKEN\n");
  Env vars = env();
  vars["AWS_SHARED_CREDENTIALS_FILE"] = "~/elsewhere/creds";
  vars["AWS_CONFIG_FILE"] = (home() / "elsewhere/missing-config").string();
  auto c = resolve(vars);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.session_token, "FILETOKEN");  // the legacy name still works
  EXPECT_EQ(c->source, "shared credentials file " + (home() / "elsewhere/creds").string() +
                           " (profile default)");
}

TEST_F(SharedFiles, ProfilesThatNeedUnsupportedProvidersAreRefused) {
  write_config("[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = d\n");
  Env vars = env();
  vars["AWS_PROFILE"] = "r";
  EXPECT_EQ(resolve_error(vars),
            "shared config file " + config_path() +
                " (profile r) uses role_arn, which smrun does not support: give the profile "
                "aws_access_key_id and aws_secret_access_key, or use another source "
                "(environment, container credentials, instance metadata)");
  write_credentials("[r]\ncredential_process = /bin/get-creds\n");
  EXPECT_NE(resolve_error(vars).find("(profile r) uses credential_process"), std::string::npos);
}

TEST_F(SharedFiles, MalformedFileIsAnErrorNamingIt) {
  write_credentials("[default]\naws_access_key_id AKID\n");
  EXPECT_EQ(resolve_error(env()),
            credentials_path() + ":2: expected 'key = value', a [section] header or a comment");
}

TEST_F(SharedFiles, WhatWasTriedWhenNoFileHasKeys) {
  write_credentials("[other]\naws_access_key_id = A\naws_secret_access_key = B\n");
  write_config("[default]\nregion = us-east-1\n");
  EXPECT_EQ(resolve_error(env()),
            "no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY not set); shared credentials file " +
                credentials_path() + " (no profile default); shared config file " + config_path() +
                " (profile default has no keys); container credentials "
                "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI "
                "not set); EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
  Env no_home = {{"AWS_EC2_METADATA_DISABLED", "TRUE"}};
  EXPECT_EQ(resolve_error(no_home),
            "no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY not set); shared credentials file (HOME and "
            "AWS_SHARED_CREDENTIALS_FILE not set); shared config file (HOME and AWS_CONFIG_FILE "
            "not set); container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
            "AWS_CONTAINER_CREDENTIALS_FULL_URI not set); EC2 instance metadata (disabled by "
            "AWS_EC2_METADATA_DISABLED)");
}

TEST_F(SharedFiles, EnvironmentWinsOverFiles) {
  write_credentials(
      "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = FILESECRET\n");
  Env vars = env();
  vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  vars["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  auto c = resolve(vars);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->keys.access_key_id, "AKIDENV");
  EXPECT_EQ(c->source, "environment");
}

}  // namespace
}  // namespace smrun::s3
