#pragma once

// Inflates a gzip file on a thread of its own, ahead of its reader, so that decompression
// (zlib, one core) and what the reader does with the bytes (tar parsing and file writes on
// another core) overlap instead of taking turns. Concatenated gzip members are read as one stream
// (RFC 1952 §2.2), as gzip and Python do; bytes after the last member that do not start another
// member end the stream, as in libarchive. Each member's CRC-32 and length are checked by zlib.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "smrun/base/expected.hpp"

namespace smrun::code {

// True when the file exists and starts with the gzip magic bytes.
bool has_gzip_magic(const std::filesystem::path& file);

class GzipStream {
 public:
  // Starts the inflating thread. Fails (kCode) only when the file cannot be opened.
  static base::Expected<std::unique_ptr<GzipStream>> open(const std::filesystem::path& file);
  ~GzipStream();  // stops the thread; unread output is dropped
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // The next decompressed bytes, valid until the next call; empty at the end of the stream.
  // Fails with a one-line reason (truncated input, corrupt data, bad CRC, read error).
  base::Expected<std::span<const std::uint8_t>> next();

 private:
  class Impl;
  explicit GzipStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace smrun::code
