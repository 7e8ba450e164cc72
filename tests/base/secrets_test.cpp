// base::is_secret_name: the masking rule works on name segments. Both lists are the contract
// the README states; a name moving from one list to the other is a user-visible change.

#include "smrun/base/secrets.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smrun::base {
namespace {

TEST(SecretName, MaskedNames) {
  for (const char* name : {"password",
                           "db_password",
                           "PASSWORD",
                           "passwd",
                           "my-passphrase",
                           "secret",
                           "SECRET_TOKEN",
                           "client_secret",
                           "secrets",
                           "token",
                           "HF_TOKEN",
                           "auth_token",
                           "authToken",
                           "inner.token",
                           "SMRUN_CLUSTER_TOKEN",
                           "AWS_SESSION_TOKEN",
                           "AWS_SECRET_ACCESS_KEY",
                           "api_key",
                           "apiKey",
                           "APIKey",
                           "WANDB_API_KEY",
                           "api-key",
                           "apikey",
                           "access_key",
                           "AWS_ACCESS_KEY",
                           "AWS_ACCESS_KEY_ID",
                           "private_key",
                           "privateKey",
                           "ssh private key",
                           "credential",
                           "MY_CREDENTIAL",
                           "credentials",
                           "auth",
                           "basic_auth",
                           "authorization",
                           "secretKey",
                           "openai.api.key"})
    EXPECT_TRUE(is_secret_name(name)) << name;
}

TEST(SecretName, NamesThatAreNotSecrets) {
  for (const char* name : {"max_tokens",
                           "tokens",
                           "tokenizer",
                           "tokenizer_name",
                           "maxTokens",
                           "keys",
                           "key",
                           "key with space",
                           "unicode_key_ü",
                           "monkey",
                           "keyboard",
                           "primary_key_column",
                           "sort_key",
                           "passes",
                           "author",
                           "oauth_provider",
                           "lr",
                           "epochs",
                           "secretary",
                           "num_tokens_per_batch",
                           "",
                           "_",
                           "SM_HP_LR"})
    EXPECT_FALSE(is_secret_name(name)) << name;
}

TEST(SecretName, Segments) {
  EXPECT_EQ(name_segments("AWS_SECRET_ACCESS_KEY"),
            (std::vector<std::string>{"aws", "secret", "access", "key"}));
  EXPECT_EQ(name_segments("apiKey"), (std::vector<std::string>{"api", "key"}));
  EXPECT_EQ(name_segments("APIKey"), (std::vector<std::string>{"api", "key"}));
  EXPECT_EQ(name_segments("maxTokens2"), (std::vector<std::string>{"max", "tokens2"}));
  EXPECT_EQ(name_segments("key with space"), (std::vector<std::string>{"key", "with", "space"}));
  EXPECT_EQ(name_segments("unicode_key_ü"), (std::vector<std::string>{"unicode", "key", "ü"}));
  EXPECT_EQ(name_segments("--a..b--"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(name_segments("").empty());
}

}  // namespace
}  // namespace smrun::base
