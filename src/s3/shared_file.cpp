// The AWS shared credentials and config files (~/.aws/credentials, ~/.aws/config): an INI parser
// with the rules botocore gets from Python's configparser, and the static keys of one profile.

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "credential_sources.hpp"
#include "smrun/base/sys_error.hpp"
#include "smrun/s3/credentials.hpp"

namespace smrun::s3 {

namespace {

using base::ErrorKind;
using base::fail;
using Section = std::vector<std::pair<std::string, std::string>>;

constexpr std::uintmax_t kMaxFileSize = 16u << 20;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

const Section* SharedFile::section(const std::string& name) const {
  for (const auto& [section_name, entries] : sections)
    if (section_name == name) return &entries;
  return nullptr;
}

base::Expected<SharedFile> parse_shared_file(std::string_view text, const std::string& filename) {
  const auto error = [&](std::size_t line, const std::string& what) {
    return fail(ErrorKind::kConfig, fmt::format("{}:{}: {}", filename, line, what));
  };
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark

  SharedFile out;
  std::map<std::string, std::size_t> section_lines;  // name -> line of its header
  std::map<std::string, std::size_t> key_lines;      // keys of the current section -> line
  Section* current = nullptr;
  std::string current_name;
  std::string* continued = nullptr;  // value an indented line would continue
  std::size_t continued_indent = 0;  // indentation of the line that started that value

  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    // Python's universal newlines, as configparser reads the file: "\n", "\r\n" or "\r".
    const std::size_t end = text.find_first_of("\r\n");
    std::string_view line = text.substr(0, end);
    std::size_t consumed = end == std::string_view::npos ? text.size() : end + 1;
    if (end != std::string_view::npos && text[end] == '\r' && end + 1 < text.size() &&
        text[end + 1] == '\n')
      ++consumed;
    text.remove_prefix(consumed);

    const std::string_view stripped = trim(line);
    if (stripped.empty()) {
      continued = nullptr;
      continue;
    }
    if (stripped.front() == '#' || stripped.front() == ';') continue;
    const std::size_t indent = static_cast<std::size_t>(stripped.data() - line.data());
    if (continued != nullptr && indent > continued_indent) {
      continued->append("\n").append(stripped);
      continue;
    }
    if (stripped.front() == '[') {
      const std::size_t close = stripped.rfind(']');
      if (close == std::string_view::npos)
        return error(line_no, "a section header without its closing ']'");
      const std::string_view after = trim(stripped.substr(close + 1));
      if (!after.empty() && after.front() != '#' && after.front() != ';')
        return error(line_no, "text after a section header's ']'");
      const std::string name(trim(stripped.substr(1, close - 1)));
      if (name.empty()) return error(line_no, "a section header without a name");
      if (auto [it, inserted] = section_lines.try_emplace(name, line_no); !inserted)
        return error(line_no,
                     fmt::format("duplicate section [{}] (first at line {})", name, it->second));
      out.sections.emplace_back(name, Section{});
      current = &out.sections.back().second;
      current_name = name;
      key_lines.clear();
      continued = nullptr;
      continue;
    }
    if (current == nullptr) return error(line_no, "a property before any [section] header");
    const std::size_t delimiter = stripped.find_first_of("=:");
    if (delimiter == std::string_view::npos)
      return error(line_no, "expected 'key = value', a [section] header or a comment");
    const std::string key = lower(trim(stripped.substr(0, delimiter)));
    if (key.empty()) return error(line_no, "a property without a name");
    if (auto [it, inserted] = key_lines.try_emplace(key, line_no); !inserted)
      return error(line_no, fmt::format("duplicate key '{}' in [{}] (first at line {})", key,
                                        current_name, it->second));
    current->emplace_back(key, std::string(trim(stripped.substr(delimiter + 1))));
    continued = &current->back().second;
    continued_indent = indent;
  }
  return out;
}

namespace detail {

namespace {

// Keys of profiles smrun cannot use: assumed roles, processes, SSO and web identity.
constexpr std::array<const char*, 6> kUnsupportedKeys = {
    "role_arn",      "credential_process",      "credential_source",
    "sso_start_url", "web_identity_token_file", "sso_session"};

std::optional<std::string> value_of(const Section& section, std::string_view key) {
  for (const auto& [k, v] : section)
    if (k == key && !v.empty()) return v;
  return std::nullopt;
}

struct LoadedFile {
  std::filesystem::path path;
  std::string label;               // "shared credentials file /root/.aws/credentials"
  std::optional<SharedFile> file;  // nullopt: there is no such file
  std::string missing_reason;      // why `file` is nullopt
};

// The file named by `variable` (~ expanded), else ~/.aws/<name>.
base::Expected<LoadedFile> load(const EnvLookup& env, const char* variable, const char* name,
                                const char* kind) {
  LoadedFile out;
  const auto home = non_empty(env, "HOME");
  if (auto explicit_path = non_empty(env, variable)) {
    std::string path = *explicit_path;
    if ((path == "~" || path.rfind("~/", 0) == 0) && home) path = *home + path.substr(1);
    out.path = path;
  } else if (home) {
    out.path = std::filesystem::path(*home) / ".aws" / name;
  } else {
    out.label = fmt::format("shared {} file", kind);
    out.missing_reason = fmt::format("HOME and {} not set", variable);
    return out;
  }
  out.label = fmt::format("shared {} file {}", kind, out.path.string());
  std::error_code ec;
  const auto status = std::filesystem::status(out.path, ec);
  if (!std::filesystem::exists(status)) {
    out.missing_reason = "not found";
    return out;
  }
  if (!std::filesystem::is_regular_file(status)) {
    out.missing_reason = "not a regular file";
    return out;
  }
  const auto size = std::filesystem::file_size(out.path, ec);
  if (!ec && size > kMaxFileSize)
    return fail(ErrorKind::kConfig,
                fmt::format("{}: larger than {} MiB", out.label, kMaxFileSize >> 20));
  std::ifstream in(out.path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad())
    return fail(ErrorKind::kConfig,
                fmt::format("{}: cannot read it: {}", out.label, base::errno_text(errno)));
  auto parsed = parse_shared_file(text.str(), out.path.string());
  if (!parsed) return base::Unexpected(parsed.error());
  out.file = std::move(*parsed);
  return out;
}

// The config file's section for `profile`: "[profile NAME]" ("profile" and the name separated by
// whitespace), or "[default]" for the default profile ("[profile default]" wins over it).
const Section* config_profile(const SharedFile& file, const std::string& profile) {
  for (const auto& [name, entries] : file.sections) {
    std::istringstream words(name);
    std::string first, second, third;
    words >> first >> second >> third;
    if (first == "profile" && second == profile && third.empty()) return &entries;
  }
  return profile == "default" ? file.section("default") : nullptr;
}

enum class Outcome { kFound, kNoKeys };

// Static keys of one profile section. Half a key pair is an error, and so is a profile that gets
// its credentials in a way smrun does not implement (better than silently using others).
base::Expected<Outcome> keys_from(const Section& section, const std::string& label,
                                  std::optional<Credentials>& found) {
  const auto id = value_of(section, "aws_access_key_id");
  const auto secret = value_of(section, "aws_secret_access_key");
  const auto token = value_of(section, "aws_session_token")
                         ? value_of(section, "aws_session_token")
                         : value_of(section, "aws_security_token");
  if (id && !secret)
    return fail(ErrorKind::kConfig,
                fmt::format("{}: aws_secret_access_key is missing or empty (aws_access_key_id "
                            "is set)",
                            label));
  if (secret && !id)
    return fail(ErrorKind::kConfig,
                fmt::format("{}: aws_access_key_id is missing or empty (aws_secret_access_key "
                            "is set)",
                            label));
  if (id && secret) {
    for (const auto& [key, value] :
         {std::pair{"aws_access_key_id", &id}, std::pair{"aws_secret_access_key", &secret},
          std::pair{"aws_session_token", &token}})
      if (*value && !is_header_safe_token(**value))
        return fail(ErrorKind::kConfig,
                    fmt::format("{}: {} has characters that cannot be sent (whitespace, control "
                                "or non-ASCII; an indented line continues the line above it)",
                                label, key));
    found = Credentials{{*id, *secret, token.value_or("")}, std::nullopt, label};
    return Outcome::kFound;
  }
  return Outcome::kNoKeys;
}

base::Status refuse_unsupported(const Section& section, const std::string& label) {
  for (const char* key : kUnsupportedKeys)
    if (value_of(section, key))
      return fail(ErrorKind::kConfig,
                  fmt::format("{} uses {}, which smrun does not support: give the profile "
                              "aws_access_key_id and aws_secret_access_key, or use another "
                              "source (environment, container credentials, instance metadata)",
                              label, key));
  return {};
}

}  // namespace

base::Expected<SourceResult> from_shared_files(const EnvLookup& env) {
  const auto explicit_profile = non_empty(env, "AWS_PROFILE");
  const std::string profile = explicit_profile.value_or("default");
  auto credentials_file = load(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials", "credentials");
  if (!credentials_file) return base::Unexpected(credentials_file.error());
  auto config_file = load(env, "AWS_CONFIG_FILE", "config", "config");
  if (!config_file) return base::Unexpected(config_file.error());

  SourceResult out;
  std::vector<std::pair<const Section*, std::string>> sections;  // profile sections found
  for (LoadedFile* loaded : {&*credentials_file, &*config_file}) {
    if (!loaded->file) {
      out.tried.push_back(fmt::format("{} ({})", loaded->label, loaded->missing_reason));
      continue;
    }
    const Section* section = loaded == &*credentials_file ? loaded->file->section(profile)
                                                          : config_profile(*loaded->file, profile);
    if (section == nullptr) {
      out.tried.push_back(fmt::format("{} (no profile {})", loaded->label, profile));
      continue;
    }
    const std::string label = fmt::format("{} (profile {})", loaded->label, profile);
    auto outcome = keys_from(*section, label, out.credentials);
    if (!outcome) return base::Unexpected(outcome.error());
    if (*outcome == Outcome::kFound) return out;
    out.tried.push_back(fmt::format("{} (profile {} has no keys)", loaded->label, profile));
    sections.emplace_back(section, label);
  }
  for (const auto& [section, label] : sections)
    if (auto refused = refuse_unsupported(*section, label); !refused)
      return base::Unexpected(refused.error());
  if (explicit_profile && sections.empty())
    return fail(ErrorKind::kConfig,
                fmt::format("the profile {} named by AWS_PROFILE is in neither {} nor {}", profile,
                            credentials_file->label, config_file->label));
  return out;
}

}  // namespace detail

}  // namespace smrun::s3
