#pragma once

// Reads the small files of a listing ahead of the tar writer, on worker threads. A tree of many
// small files costs an open, a read and a close per file, and the writer would otherwise make
// those calls one after another on one core; here they run in parallel while the writer works on
// the files before. Files are handed over strictly in listing order. Memory is bounded: at most
// `window` files (each at most `max_file_size` bytes) are held ahead of the writer.
//
// Workers claim runs of consecutive files (a chunk) and the writer waits once per chunk, so the
// hand-over costs a few futex calls per chunk rather than per file. Where the kernel allows it
// (Linux >= 5.19 without a seccomp filter that forbids io_uring, as Docker's default one does),
// each worker submits a whole chunk's opens, reads and closes in one io_uring_enter: on a VM where
// every system call traps to the hypervisor that is 3 of 4 per-file calls saved. Anything the ring
// does not finish exactly (an error, a short read, an opcode the kernel lacks) is done again with
// plain calls, which give the error reported.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "smrun/base/expected.hpp"
#include "smrun/pack/tree_listing.hpp"

namespace smrun::pack {

struct PrefetchOptions {
  unsigned threads = 2;
  std::size_t max_file_size = std::size_t{64} << 10;  // larger files are left to the writer
  std::size_t window = 512;                           // files read ahead of the writer, at most
  bool io_uring = true;  // false: plain open/read/close only (tests cover both paths)
};

// One file's contents as read, exactly info.st_size bytes.
struct FileContents {
  std::unique_ptr<std::uint8_t[]> bytes;
  std::size_t size = 0;
  std::span<const std::uint8_t> view() const { return {bytes.get(), size}; }
};

class FilePrefetcher {
 public:
  // `listing` must outlive the prefetcher and not change. Starts the workers at once.
  FilePrefetcher(const TreeListing& listing, PrefetchOptions options);
  ~FilePrefetcher();  // stops the workers; files not taken are dropped
  FilePrefetcher(const FilePrefetcher&) = delete;
  FilePrefetcher& operator=(const FilePrefetcher&) = delete;

  // Whether an entry is one the workers read: a regular file no larger than max_file_size.
  static bool covers(const TreeEntry& entry, const PrefetchOptions& options);
  // The same for entry `index` of the listing.
  bool covers(std::size_t index) const;
  // The contents of entry `index`, which covers() must accept; covered entries must be taken in
  // increasing index order. Blocks until a worker has read it. Fails (kPack) naming the path when
  // the file cannot be read or shrank since it was listed.
  base::Expected<FileContents> take(std::size_t index);

  // Files read so far through io_uring (the rest, if any, with plain calls). For tests and logs.
  std::size_t files_read_by_ring() const;

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace smrun::pack
