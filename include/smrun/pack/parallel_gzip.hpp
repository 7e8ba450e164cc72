#pragma once

// Parallel gzip: the input stream is cut into fixed-size blocks, each compressed by libdeflate
// into an independent gzip member on a worker thread, and the members are written in input order.
// A concatenation of gzip members is a valid gzip file (RFC 1952 §2.2) that gzip, GNU tar and
// Python read as one stream. Independent members cost a little ratio (no shared 32 KiB window
// across blocks) but need no coordination between workers; with MiB-sized blocks the loss is
// well under 1%. Memory is bounded: at most `2 * threads` blocks are in flight (fewer on very
// wide machines, see the cap in the .cpp), each costing about twice the block size. A block
// that samples show to be incompressible is stored without a match search (see the .cpp).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "smrun/base/expected.hpp"

namespace smrun::pack {

struct GzipOptions {
  int level = 6;         // libdeflate compression level, 0..12
  unsigned threads = 1;  // worker threads, >= 1
  std::size_t block_size = std::size_t{2} << 20;
};

// Receives compressed bytes in order. Called only from the thread that calls write()/finish().
using ByteSink = std::function<base::Status(std::span<const std::uint8_t>)>;

class ParallelGzipWriter {
 public:
  ParallelGzipWriter(GzipOptions options, ByteSink sink);
  ~ParallelGzipWriter();  // stops the workers; unfinished output is dropped
  ParallelGzipWriter(const ParallelGzipWriter&) = delete;
  ParallelGzipWriter& operator=(const ParallelGzipWriter&) = delete;

  // Buffers data; may block while the in-flight limit is reached. After an error every later
  // call returns the same error.
  base::Status write(std::span<const std::uint8_t> data);
  // Compresses the last partial block (an empty stream still yields one empty member) and
  // delivers everything to the sink.
  base::Status finish();

  std::uint64_t bytes_in() const;
  std::uint64_t bytes_out() const;
  // Blocks found incompressible by sampling and stored (deflate level 0) without a search.
  std::uint64_t blocks_stored() const;

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace smrun::pack
