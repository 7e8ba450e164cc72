#pragma once

// Writes a POSIX tar stream (libarchive "pax restricted": plain ustar headers, with a pax extended
// header only for entries ustar cannot describe, such as names over 255 bytes) into a ByteSink.
// Ownership is normalised to uid/gid 0 with empty names, so the archive does not depend on who
// ran the job; modes and mtimes (whole seconds) are kept.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "smrun/base/expected.hpp"
#include "smrun/pack/parallel_gzip.hpp"
#include "smrun/pack/tree_listing.hpp"

struct archive;

namespace smrun::pack {

class TarWriter {
 public:
  // `sink` receives the uncompressed tar stream; it must outlive the writer.
  static base::Expected<std::unique_ptr<TarWriter>> open(ByteSink sink);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  base::Status add_directory(const std::string& name, const EntryInfo& info);
  base::Status add_symlink(const std::string& name, const EntryInfo& info,
                           const std::string& target);
  // Streams the file at `path`; its size must still be info.size when read.
  base::Status add_file(const std::string& name, const EntryInfo& info,
                        const std::filesystem::path& path);
  // Adds a file whose contents were already read (exactly info.size bytes).
  base::Status add_file_contents(const std::string& name, const EntryInfo& info,
                                 std::span<const std::uint8_t> contents);
  // Writes the end-of-archive blocks. Required; the destructor only frees.
  base::Status close();

  std::uint64_t content_bytes() const { return m_content_bytes; }

  struct SinkState;  // opaque; public only so libarchive's C callback can name it

 private:
  TarWriter(struct archive* a, std::unique_ptr<SinkState> state);
  base::Status write_header(const std::string& name, const EntryInfo& info, unsigned type,
                            std::int64_t size, const std::string* link_target);
  base::Status archive_failure(const std::string& what, const std::string& name);

  struct archive* m_archive = nullptr;
  std::unique_ptr<SinkState> m_state;
  std::uint64_t m_content_bytes = 0;
};

}  // namespace smrun::pack
