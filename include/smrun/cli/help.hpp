#pragma once

// `smrun <command> --help` in one style for every command: usage, what it does, options, the
// settings it reads (from env-spec/variables.json, generated at configure time) and its exit
// codes. Usage errors print `smrun: error: ...` and the usage line, and exit 64.

#include <string>
#include <string_view>

namespace smrun::cli {

// The full help of `command` (train, env, pack, s3, version); the top-level help for "".
std::string command_help(std::string_view command);

// The usage line(s) of `command` ("usage: smrun train\n").
std::string command_usage(std::string_view command);

// Prints `smrun: error: <what>` and the command's usage to stderr; returns kExitUsage.
int usage_error(std::string_view command, std::string_view what);

}  // namespace smrun::cli
