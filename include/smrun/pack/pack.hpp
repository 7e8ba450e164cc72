#pragma once

// Packs the contents of a model directory into a gzip-compressed POSIX tar (model.tar.gz).
//
// The archive is deterministic for a given tree: entries are relative to the directory ("a.bin",
// "sub/", "sub/b.txt"; no "./" entry), sorted byte-wise at each level with a directory before its
// contents, owned by uid/gid 0 with empty user/group names, with modes and mtimes (whole seconds)
// kept. Symlinks are stored as links and never followed; hard links are stored as separate
// files; FIFOs, sockets and device nodes are skipped with a warning. The tar stream is cut into
// blocks compressed as independent gzip members on all cores (a multi-member gzip file, which
// gzip, GNU tar and Python's tarfile read as one stream). OUT is replaced atomically: it either
// keeps its old content or holds the complete new archive.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "smrun/base/expected.hpp"

namespace smrun::pack {

inline constexpr std::size_t kDefaultBlockSize = std::size_t{2} << 20;  // tuned by bench/

// Where a pack stands: tar stream bytes written so far against the expected total (file
// contents plus a header per entry and padding; an estimate, done <= total until the end).
struct PackProgress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::chrono::steady_clock::duration elapsed{};
};

struct PackOptions {
  int level = 6;         // libdeflate level, 0..12
  unsigned threads = 0;  // compression threads; 0 = the CPUs this process may use (cpu_count.hpp)
  std::size_t block_size = kDefaultBlockSize;  // uncompressed bytes per gzip member
  // Called from the packing thread every progress_interval while a pack runs (never for a pack
  // shorter than that), e.g. to log progress of a multi-GB model.
  std::function<void(const PackProgress&)> on_progress;
  std::chrono::milliseconds progress_interval{10'000};
};

struct PackResult {
  std::uint64_t files = 0;           // entries written: files, directories and symlinks
  std::uint64_t bytes_in = 0;        // bytes of regular-file content read
  std::uint64_t bytes_out = 0;       // size of the compressed archive
  std::vector<std::string> skipped;  // relative names of FIFOs, sockets, devices
};

// Errors are ErrorKind::kPack with a one-line message naming the file. On error nothing is left
// behind: OUT is untouched and the temporary file is removed. DIR is only read.
base::Expected<PackResult> pack_directory(const std::filesystem::path& dir,
                                          const std::filesystem::path& out,
                                          const PackOptions& options = {});

}  // namespace smrun::pack
