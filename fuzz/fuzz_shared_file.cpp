// Fuzzes s3::parse_shared_file, the parser of ~/.aws/credentials and ~/.aws/config.
//
// Invariants, for every input:
// - parsing never crashes and is deterministic;
// - a rejected file gets one kConfig line "<file>:<line>: ..." with 1 <= line <= lines in input;
// - an accepted file has unique, non-empty, trimmed section names; per section unique,
//   non-empty, lower-case keys without '=' or ':'; no CR or LF anywhere but the '\n' that joins
//   continuation lines, and nothing with leading or trailing blanks;
// - rendering the result back as INI and parsing that gives the same sections, keys and values.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "smrun/s3/credentials.hpp"

namespace {

using smrun::s3::SharedFile;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

bool trimmed(std::string_view s) {
  return s.empty() || (!is_blank(s.front()) && !is_blank(s.back()));
}

std::size_t count_lines(std::string_view text) {
  std::size_t lines = 1;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')))
      ++lines;
  return lines;
}

std::string render(const SharedFile& file) {
  std::string out;
  for (const auto& [name, entries] : file.sections) {
    out += "[" + name + "]\n";
    for (const auto& [key, value] : entries) {
      out += key + " =";
      std::size_t start = 0;
      bool first = true;
      while (true) {
        const std::size_t end = value.find('\n', start);
        const std::string piece = value.substr(start, end == std::string::npos ? end : end - start);
        if (first) {
          if (!piece.empty()) out += " " + piece;
        } else {
          out += "\n    " + piece;
        }
        first = false;
        if (end == std::string::npos) break;
        start = end + 1;
      }
      out += "\n";
    }
  }
  return out;
}

std::string dump(const SharedFile& file) {
  std::string out;
  for (const auto& [name, entries] : file.sections) {
    out += "[" + name + "]";
    for (const auto& [key, value] : entries) out += "{" + key + "=" + value + "}";
    out += "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = smrun::s3::parse_shared_file(text, "f");
  auto again = smrun::s3::parse_shared_file(text, "f");
  FUZZ_CHECK(parsed.has_value() == again.has_value(), "not deterministic");
  if (!parsed) {
    const auto& e = parsed.error();
    FUZZ_CHECK(e.kind == smrun::base::ErrorKind::kConfig, e.message);
    FUZZ_CHECK(e.message == again.error().message, "not deterministic: " + e.message);
    FUZZ_CHECK(
        e.message.find('\n') == std::string::npos && e.message.find('\r') == std::string::npos,
        e.message);
    FUZZ_CHECK(e.message.rfind("f:", 0) == 0, e.message);
    const std::size_t line = std::stoul(e.message.substr(2));
    FUZZ_CHECK(line >= 1 && line <= count_lines(text), e.message);
    return 0;
  }
  FUZZ_CHECK(dump(*parsed) == dump(*again), "not deterministic");
  std::set<std::string> names;
  for (const auto& [name, entries] : parsed->sections) {
    FUZZ_CHECK(!name.empty() && trimmed(name), "[" + name + "]");
    FUZZ_CHECK(name.find_first_of("\r\n") == std::string::npos, "[" + name + "]");
    FUZZ_CHECK(names.insert(name).second, "duplicate section " + name);
    FUZZ_CHECK(parsed->section(name) == &entries || parsed->section(name) != nullptr, name);
    std::set<std::string> keys;
    for (const auto& [key, value] : entries) {
      FUZZ_CHECK(!key.empty() && trimmed(key), "key '" + key + "'");
      FUZZ_CHECK(key.find_first_of("=:\r\n") == std::string::npos, "key '" + key + "'");
      for (char c : key) FUZZ_CHECK(c < 'A' || c > 'Z', "key not lower-case: " + key);
      FUZZ_CHECK(keys.insert(key).second, "duplicate key " + key);
      FUZZ_CHECK(value.find('\r') == std::string::npos, "CR in a value");
      FUZZ_CHECK(trimmed(value), "value '" + value + "'");
    }
  }
  const std::string rendered = render(*parsed);
  auto reparsed = smrun::s3::parse_shared_file(rendered, "rendered");
  FUZZ_CHECK(reparsed.has_value(),
             "the rendering does not parse: " + reparsed.error().message + "\n" + rendered);
  FUZZ_CHECK(dump(*reparsed) == dump(*parsed), dump(*parsed) + " != " + dump(*reparsed));
  return 0;
}
