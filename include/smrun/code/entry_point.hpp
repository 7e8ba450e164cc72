#pragma once

// What kind of program the user's entry point is, and the argv vectors that install and run it
// (reference: _entry_point_type.get, modules.install, ProcessRunner._create_command). Only
// planning: nothing here runs the commands; they are exec'd as argv vectors, never via a shell.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::code {

enum class EntryPointKind { kPythonProgram, kPythonPackage, kCommand };

// "PYTHON_PROGRAM", "PYTHON_PACKAGE", "COMMAND" (the reference's names, for logs).
const char* entry_point_kind_name(EntryPointKind kind);

// Reference order: a ".sh" name is a command; otherwise setup.py directly in code_dir makes it a
// package; otherwise a ".py" name is a program; anything else is a command.
EntryPointKind classify_entry_point(std::string_view name, const std::filesystem::path& code_dir);

struct RunCommandInput {
  EntryPointKind kind = EntryPointKind::kCommand;
  std::string entry_point;         // as configured (sagemaker_program), relative to code_dir
  std::filesystem::path code_dir;  // the run's working directory
  std::string python;              // interpreter: SMRUN_PYTHON else "python3", chosen by the caller
  std::vector<std::string> args;   // user arguments (hyperparameters)
  // false for a dry run (`smrun env`): plan the same argv but never touch the user's files
  // (a non-executable binary would otherwise get its execute bits here).
  bool prepare_files = true;
};

// argv for the user process, to be exec'd with cwd = code_dir:
//   kPythonProgram: {python, "-u", entry_point, args...}
//   kPythonPackage: {python, "-m", entry_point with every ".py" removed, args...}
//   kCommand:       see resolve_command() in entry_point.cpp; the file must exist in code_dir.
// kCommand may make a non-executable binary executable (u+x, plus g+x/o+x where readable).
// Fails with kCode when a command entry point is missing (see command_entry_point_exists) or
// unusable (a directory, an unreadable file).
base::Expected<std::vector<std::string>> build_run_command(const RunCommandInput& input);

// Whether a command entry point names an existing file (following symlinks) in code_dir. The
// caller uses it to tell "not found" (exit 127, like the reference's sh) from other failures.
bool command_entry_point_exists(std::string_view name, const std::filesystem::path& code_dir);

// argv that installs the user's dependencies, run with cwd = code_dir, or nullopt if none:
//   kPythonPackage: {python, "-m", "pip", "install", "."} + {"-r", "requirements.txt"} if present
//   kPythonProgram: {python, "-m", "pip", "install", "-r", "requirements.txt"} if present
//   kCommand:       never (the reference does not install requirements for commands).
std::optional<std::vector<std::string>> build_install_command(EntryPointKind kind,
                                                              const std::filesystem::path& code_dir,
                                                              const std::string& python);

}  // namespace smrun::code
