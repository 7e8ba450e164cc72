// `smrun env`: the dry run. Computes what `train` would run — environment, argv, cwd — and prints
// it without fetching, installing or running anything.

#include <fmt/format.h>

#include <cxxopts.hpp>
#include <filesystem>
#include <iostream>

#include "smrun/base/exit_code.hpp"
#include "smrun/base/printable.hpp"
#include "smrun/base/secrets.hpp"
#include "smrun/cli/commands.hpp"
#include "smrun/cli/help.hpp"
#include "smrun/cli/job_context.hpp"
#include "smrun/cli/s3_setup.hpp"
#include "smrun/code/entry_point.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/env/env_format.hpp"
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
  auto parsed = parse_command_line(parser, "env", args);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const cxxopts::ParseResult& opts = std::get<cxxopts::ParseResult>(parsed);
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

  using config::PyValue;
  const auto str_list = [](const std::vector<std::string>& items) {
    config::PyList list;
    list.reserve(items.size());
    for (const auto& item : items) list.push_back(PyValue::str(item));
    return PyValue::list(std::move(list));
  };
  std::vector<std::string> warnings;
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
  PyValue launcher = PyValue::none();
  if (auto choice = launch::select_launcher(shown))
    launcher = PyValue::str(launch::launcher_name(choice->launcher));
  else
    warnings.push_back(choice.error().message);
  if (std::string w = exec_limit_warning(ctx); !w.empty()) warnings.push_back(w);

  // What train would fetch from S3 (never contacted here). A non-empty code dir wins over it.
  PyValue code_source = PyValue::none();
  std::error_code ec;
  const bool code_dir_filled =
      std::filesystem::exists(ctx.paths.code, ec) && !std::filesystem::is_empty(ctx.paths.code, ec);
  if (auto s3 = s3_dry_run(ctx)) {
    code_source = PyValue::dict({{"url", PyValue::str(s3->url)},
                                 {"fetched", PyValue::boolean(!code_dir_filled)},
                                 {"endpoint", PyValue::str(s3->endpoint)},
                                 {"region", PyValue::str(s3->region)},
                                 {"region_source", PyValue::str(s3->region_source)},
                                 {"credentials", PyValue::str(s3->credentials)}});
    if (!s3->warning.empty() && !code_dir_filled) warnings.push_back(s3->warning);
  }

  if (format == "json") {
    config::PyDict env_items;
    env_items.reserve(smrun_env.size());
    for (const auto& [k, v] : smrun_env.entries())
      env_items.emplace_back(
          k, PyValue::str((!show_secrets && base::is_secret_name(k)) ? std::string(base::kRedacted)
                                                                     : v));
    config::PyDict out;
    out.emplace_back("env", PyValue::dict(std::move(env_items)));
    out.emplace_back("user_args", str_list(shown.user_args));
    out.emplace_back("command", str_list(command));
    out.emplace_back("cwd", PyValue::str(ctx.paths.code.string()));
    out.emplace_back("entry_point", shown.user_entry_point ? PyValue::str(*shown.user_entry_point)
                                                           : PyValue::none());
    out.emplace_back("entry_point_kind", kind.empty() ? PyValue::none() : PyValue::str(kind));
    out.emplace_back("install_command", install ? str_list(*install) : PyValue::none());
    out.emplace_back("launcher", std::move(launcher));
    out.emplace_back("s3_code", std::move(code_source));
    out.emplace_back("current_host", PyValue::str(ctx.job.resource.current_host));
    out.emplace_back("hosts", str_list(ctx.job.resource.hosts));
    out.emplace_back("warnings", str_list(warnings));
    std::cout << config::dump_py_json_indented(PyValue::dict(std::move(out))) << "\n";
  } else {
    const auto formatted = env::format_env(
        smrun_env, format == "shell" ? env::EnvFormat::kShell : env::EnvFormat::kDotenv,
        show_secrets);
    std::cout << formatted.text;
    warnings.insert(warnings.end(), formatted.warnings.begin(), formatted.warnings.end());
    for (const auto& w : warnings) std::cerr << "smrun: warning: " << w << "\n";
  }
  return base::kExitSuccess;
}

}  // namespace smrun::cli
