#include "smrun/base/shell_quote.hpp"

namespace smrun::base {
namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_plain(char c) {
  switch (c) {
    case '@':
    case '%':
    case '+':
    case '=':
    case ':':
    case ',':
    case '.':
    case '/':
    case '_':
    case '-':
      return true;
    default:
      return is_alpha(c) || is_digit(c);
  }
}

}  // namespace

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string shell_word(std::string_view s) {
  if (s.empty()) return "''";
  for (char c : s)
    if (!is_plain(c)) return shell_quote(s);
  return std::string(s);
}

std::string shell_command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += shell_word(a);
  }
  return out;
}

bool is_shell_variable_name(std::string_view name) {
  if (name.empty() || is_digit(name.front())) return false;
  for (char c : name)
    if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
  return true;
}

}  // namespace smrun::base
