#include "smrun/code/archive_paths.hpp"

#include <fmt/format.h>

#include <vector>

namespace smrun::code {

namespace {

std::vector<std::string_view> split_slashes(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('/', start);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

base::Expected<std::filesystem::path> normalize_member_path(std::string_view name) {
  if (!name.empty() && name.front() == '/')
    return base::fail(base::ErrorKind::kCode, "has an absolute path");
  std::filesystem::path rel;
  for (std::string_view part : split_slashes(name)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return base::fail(base::ErrorKind::kCode, "contains a '..' component");
    rel /= std::string(part);
  }
  return rel;
}

bool symlink_target_stays_inside(const std::filesystem::path& link, std::string_view target) {
  // Depth below the root of the directory the link lives in; the target is resolved from there.
  std::size_t depth = 0;
  for (auto it = link.begin(); it != link.end(); ++it) ++depth;
  if (depth > 0) --depth;  // the last component is the link itself
  for (std::string_view part : split_slashes(target)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (depth == 0) return false;
      --depth;
    } else {
      ++depth;
    }
  }
  return true;
}

}  // namespace smrun::code
