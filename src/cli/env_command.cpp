// `smrun env`: the dry run. Computes what `train` would run — environment, argv, cwd — and prints
// it without fetching, installing or running anything.

#include <fmt/format.h>

#include <cxxopts.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/printable.hpp"
#include "smrun/base/secrets.hpp"
#include "smrun/base/shell_quote.hpp"
#include "smrun/cli/commands.hpp"
#include "smrun/cli/help.hpp"
#include "smrun/cli/job_context.hpp"
#include "smrun/cli/s3_setup.hpp"
#include "smrun/code/entry_point.hpp"
#include "smrun/launch/launcher.hpp"
#include "smrun/launch/process_plan.hpp"
#include "smrun/supervise/exec_limits.hpp"

namespace smrun::cli {
namespace {

const char* kind_label(code::EntryPointKind kind) {
  switch (kind) {
    case code::EntryPointKind::kPythonProgram:
      return "python_program";
    case code::EntryPointKind::kPythonPackage:
      return "python_package";
    case code::EntryPointKind::kCommand:
      return "command";
  }
  return "command";
}

// dotenv double-quoted value with backslash escapes (docker --env-file cannot carry newlines;
// the common dotenv readers understand these escapes).
std::string dotenv_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
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

// What `train` would hear from execve (E2BIG) with the real values, even when the output masks
// secrets; the explanation names arguments and variables, never their values.
std::string exec_limit_warning(const JobContext& ctx) {
  env::EnvList env;
  for (const auto& [k, v] : ctx.process_env) env.set(k, v);
  env.append(env::sm_environment(ctx.training));
  env.append(env::process_extras(ctx.training, ctx.process_env));
  std::vector<std::string> command;
  if (auto plan = launch::make_process_plan(ctx.training, ctx.process_env,
                                            code_dir_for_dry_run(ctx), /*dry_run=*/true))
    command = plan->command;
  std::string why = supervise::explain_argument_list_too_long(command, env.to_strings(),
                                                              supervise::current_exec_limits());
  return why.empty() ? why : "train would fail: Argument list too long: " + why;
}

}  // namespace

int run_env_command(const std::vector<std::string>& args, env::EnvSnapshot process_env) {
  cxxopts::Options parser("smrun env", "Print what `smrun train` would run, without running it");
  parser.add_options()("f,format", "json, dotenv or shell",
                       cxxopts::value<std::string>()->default_value("json"))(
      "show-secrets", "print secret-looking values instead of ****")("h,help", "show this help");
  std::vector<std::string> argv_store{"smrun env"};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  cxxopts::ParseResult opts;
  try {
    opts = parser.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const std::exception& e) {
    return usage_error("env", e.what());
  }
  if (opts.count("help")) {
    fmt::print("{}", command_help("env"));
    return base::kExitSuccess;
  }
  if (!opts.unmatched().empty())
    return usage_error("env", "unexpected argument '" + opts.unmatched().front() + "'");
  const std::string format = opts["format"].as<std::string>();
  if (format != "json" && format != "dotenv" && format != "shell")
    return usage_error("env", "--format must be json, dotenv or shell (got '" + format + "')");
  const bool show_secrets = opts.count("show-secrets") > 0;

  auto loaded = load_job_context(std::move(process_env));
  if (!loaded) {
    fmt::print(stderr, "smrun: error: {}\n", loaded.error().error.message);
    return base::exit_code_for(loaded.error().error.kind);
  }
  const JobContext& ctx = *loaded;
  const env::TrainingEnv& shown = show_secrets ? ctx.training : ctx.display;

  nlohmann::ordered_json out;
  nlohmann::ordered_json warnings = nlohmann::ordered_json::array();
  env::EnvList smrun_env = env::sm_environment(shown);
  smrun_env.append(env::process_extras(shown, ctx.process_env));
  std::vector<std::string> command;
  std::optional<std::vector<std::string>> install;
  std::string kind;
  if (auto plan = launch::make_process_plan(shown, ctx.process_env, code_dir_for_dry_run(ctx),
                                            /*dry_run=*/true)) {
    command = plan->command;
    install = plan->install_command;
    kind = kind_label(plan->kind);
  } else {
    warnings.push_back(plan.error().message);
  }
  // The launcher `train` would pick (native for sagemaker_torch_distributed_enabled, ...).
  nlohmann::ordered_json launcher = nullptr;
  if (auto choice = launch::select_launcher(shown))
    launcher = launch::launcher_name(choice->launcher);
  else
    warnings.push_back(choice.error().message);
  if (std::string w = exec_limit_warning(ctx); !w.empty()) warnings.push_back(w);

  // What train would fetch from S3 (never contacted here). A non-empty code dir wins over it.
  nlohmann::ordered_json code_source = nullptr;
  std::error_code ec;
  const bool code_dir_filled =
      std::filesystem::exists(ctx.paths.code, ec) && !std::filesystem::is_empty(ctx.paths.code, ec);
  if (auto s3 = s3_dry_run(ctx)) {
    code_source = nlohmann::ordered_json{{"url", s3->url},
                                         {"fetched", !code_dir_filled},
                                         {"endpoint", s3->endpoint},
                                         {"region", s3->region},
                                         {"region_source", s3->region_source},
                                         {"credentials", s3->credentials}};
    if (!s3->warning.empty() && !code_dir_filled) warnings.push_back(s3->warning);
  }

  if (format == "json") {
    // EnvList names are unique, so append directly: ordered_json's operator[] scans the object
    // for each key, which made 100 000 SM_HP_* variables quadratic.
    nlohmann::ordered_json::object_t env_json;
    nlohmann::ordered_json::object_t::Container& env_items = env_json;
    env_items.reserve(smrun_env.size());
    for (const auto& [k, v] : smrun_env.entries())
      env_items.emplace_back(k, (!show_secrets && base::is_secret_name(k)) ? base::kRedacted : v);
    out["env"] = std::move(env_json);
    out["user_args"] = shown.user_args;
    out["command"] = command;
    out["cwd"] = ctx.paths.code.string();
    out["entry_point"] = shown.user_entry_point ? nlohmann::ordered_json(*shown.user_entry_point)
                                                : nlohmann::ordered_json(nullptr);
    out["entry_point_kind"] =
        kind.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(kind);
    out["install_command"] =
        install ? nlohmann::ordered_json(*install) : nlohmann::ordered_json(nullptr);
    out["launcher"] = launcher;
    out["s3_code"] = code_source;
    out["current_host"] = ctx.job.resource.current_host;
    out["hosts"] = ctx.job.resource.hosts;
    out["warnings"] = warnings;
    // replace: invalid UTF-8 in a user value must not abort the dry run.
    std::cout << out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    for (const auto& [k, v] : smrun_env.entries()) {
      // A name like `SM_HP_A B;TOUCH /TMP/X` (from a hyperparameter key) would run a command
      // when the output is sourced: such variables are left out, and said so.
      if (!base::is_shell_variable_name(k)) {
        warnings.push_back(fmt::format(
            "left out {}: not a valid variable name for {} output (letters, digits and _ only)",
            base::printable(k), format));
        continue;
      }
      const std::string value = (!show_secrets && base::is_secret_name(k)) ? base::kRedacted : v;
      if (format == "shell")
        std::cout << "export " << k << "=" << base::shell_quote(value) << "\n";
      else
        std::cout << k << "=" << dotenv_quote(value) << "\n";
    }
    for (const auto& w : warnings) std::cerr << "smrun: warning: " << w.get<std::string>() << "\n";
  }
  return base::kExitSuccess;
}

}  // namespace smrun::cli
