#pragma once

// `smrun <command> --help` in one style for every command: usage, what it does, options, the
// settings it reads (from env-spec/variables.json, generated at configure time) and its exit
// codes. Usage errors print `smrun: error: ...` and the usage line, and exit 64.

#include <cxxopts.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace smrun::cli {

// The full help of `command` (train, env, pack, s3, version); the top-level help for "".
std::string command_help(std::string_view command);

// The usage line(s) of `command` ("usage: smrun train\n").
std::string command_usage(std::string_view command);

// Prints `smrun: error: <what>` and the command's usage to stderr; returns kExitUsage.
int usage_error(std::string_view command, std::string_view what);

// Parses a command's arguments (those after its name) with `parser`. Returns the result, or the
// exit code when the command ends here: --help printed (0); a parse error, or an argument the
// parser does not take, printed as a usage error (64).
std::variant<cxxopts::ParseResult, int> parse_command_line(cxxopts::Options& parser,
                                                           std::string_view command,
                                                           const std::vector<std::string>& args);

}  // namespace smrun::cli
