#pragma once

// Quoting for text meant to be read by a POSIX shell or pasted into one: `smrun env --format
// shell` and the commands smrun logs. Nothing smrun runs goes through a shell; these are for
// people and for `. file`.

#include <string>
#include <string_view>
#include <vector>

namespace smrun::base {

// Always single-quoted: `it's` -> 'it'\''s'.
std::string shell_quote(std::string_view s);

// Plain words (letters, digits and `@%+=:,./_-`) stay as they are, anything else is quoted as by
// shell_quote; the empty string is ''.
std::string shell_word(std::string_view s);

// argv joined with spaces, each argument as shell_word: can be pasted to rerun the command.
std::string shell_command_line(const std::vector<std::string>& argv);

// A name a POSIX shell accepts in `export NAME=...` and dotenv readers in `NAME=...`:
// [A-Za-z_][A-Za-z0-9_]*.
bool is_shell_variable_name(std::string_view name);

}  // namespace smrun::base
