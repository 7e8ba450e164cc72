#pragma once

// A file that appears under its final name only when complete: written to a hidden temporary in
// the destination directory, fsync'ed, then renamed over the target. Anything short of commit()
// (an error, an exception, a forgotten commit) removes the temporary, so a reader never sees a
// truncated archive under the real name.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "smrun/base/expected.hpp"

namespace smrun::pack {

class AtomicFile {
 public:
  // Creates ".<name>.tmp-XXXXXX" beside `target` with mode 0666 & ~umask.
  static base::Expected<AtomicFile> create(const std::filesystem::path& target);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary unless committed

  base::Status write(std::span<const std::uint8_t> data);
  // fsync, close, rename over the target, fsync the directory.
  base::Status commit();

  const std::filesystem::path& temp_path() const { return m_temp; }
  std::uint64_t bytes_written() const { return m_written; }

 private:
  AtomicFile(int fd, std::filesystem::path target, std::filesystem::path temp);
  void discard();

  int m_fd = -1;
  std::filesystem::path m_target;
  std::filesystem::path m_temp;
  std::uint64_t m_written = 0;
};

}  // namespace smrun::pack
