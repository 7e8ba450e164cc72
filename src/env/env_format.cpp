#include "smrun/env/env_format.hpp"

#include <fmt/format.h>

#include "smrun/base/printable.hpp"
#include "smrun/base/secrets.hpp"
#include "smrun/base/shell_quote.hpp"

namespace smrun::env {

std::string dotenv_quote(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '$':
        out += "\\$";
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

FormattedEnv format_env(const EnvList& env, EnvFormat format, bool show_secrets) {
  FormattedEnv out;
  const char* format_name = format == EnvFormat::kShell ? "shell" : "dotenv";
  for (const auto& [name, raw] : env.entries()) {
    if (!base::is_shell_variable_name(name)) {
      out.warnings.push_back(fmt::format(
          "left out {}: not a valid variable name for {} output (letters, digits and _ only)",
          base::printable(name), format_name));
      continue;
    }
    const std::string value = (!show_secrets && base::is_secret_name(name)) ? base::kRedacted : raw;
    if (format == EnvFormat::kShell)
      out.text += "export " + name + "=" + base::shell_quote(value) + "\n";
    else
      out.text += name + "=" + dotenv_quote(value) + "\n";
  }
  return out;
}

}  // namespace smrun::env
