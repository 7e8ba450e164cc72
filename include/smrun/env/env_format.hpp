#pragma once

// The environment as text to source or to hand to `docker run --env-file`: `smrun env --format
// shell|dotenv`. Nothing in the output runs when it is sourced: a name that is not a shell
// variable name ([A-Za-z_][A-Za-z0-9_]*, e.g. SM_HP_A B;TOUCH /TMP/X from a hyperparameter key)
// is left out, with a warning, and values are quoted.

#include <string>
#include <vector>

#include "smrun/env/env_list.hpp"

namespace smrun::env {

enum class EnvFormat { kShell, kDotenv };

struct FormattedEnv {
  std::string text;                   // one line per variable
  std::vector<std::string> warnings;  // one per variable left out
};

// Secret-looking names (base::is_secret_name) get base::kRedacted unless `show_secrets`.
FormattedEnv format_env(const EnvList& env, EnvFormat format, bool show_secrets);

// A dotenv value: double-quoted, with \\ \" \n \r \$ escapes (an env file cannot hold a newline;
// the common dotenv readers understand these escapes).
std::string dotenv_quote(const std::string& value);

}  // namespace smrun::env
