#pragma once

// Small helpers shared by the libFuzzer targets: an invariant check that aborts (libFuzzer then
// saves the input as a crash), and temp-directory handling for the targets that touch the disk.

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// Not assert(): it must hold in every build type, and say which invariant broke.
#define FUZZ_CHECK(cond, what)                                                                \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                                \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace smrun::fuzz {

namespace fs = std::filesystem;

inline void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  FUZZ_CHECK(out.good(), "cannot write " + path.string());
}

// Names directly inside `dir` (empty when dir does not exist).
inline std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.insert(it->path().filename().string());
  return names;
}

// Removes `dir` and everything below it. Extracted directories may carry modes like 0000, which
// would stop a non-root user from deleting their contents, so every directory is opened up first.
inline void remove_tree(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(dir, ec))) {
    ::chmod(dir.c_str(), 0700);
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec) && !it->is_symlink(ec)) remove_tree(it->path());
  }
  fs::remove_all(dir, ec);
  FUZZ_CHECK(!ec, "cannot remove " + dir.string() + ": " + ec.message());
}

// A fresh private directory under $TMPDIR (or /tmp). Removed when the process exits normally; after
// a crash it stays for inspection.
inline fs::path make_temp_dir(const char* prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  static std::vector<fs::path> made;
  static const bool registered = std::atexit([] {
                                   for (const fs::path& dir : made) remove_tree(dir);
                                 }) == 0;
  (void)registered;
  made.emplace_back(pattern);
  return made.back();
}

}  // namespace smrun::fuzz
