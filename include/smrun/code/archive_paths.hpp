#pragma once

// Pure, lexical checks on archive member names and link targets, used by extract_archive_safely
// before anything touches the disk. Kept separate so each rule can be tested on its own.

#include <filesystem>
#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"

namespace smrun::code {

// Normalises a member name to a path relative to the extraction root: empty and "." components
// are dropped ("./a//b/" -> "a/b"); the root itself becomes the empty path. Fails (the message is
// the reason only, e.g. "has an absolute path") for an absolute name or any ".." component.
base::Expected<std::filesystem::path> normalize_member_path(std::string_view name);

// True when `target`, a relative symlink target, resolved lexically from the directory holding
// `link` (a normalised member path), never climbs above the extraction root at any step.
bool symlink_target_stays_inside(const std::filesystem::path& link, std::string_view target);

}  // namespace smrun::code
