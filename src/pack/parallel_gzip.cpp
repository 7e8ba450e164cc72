#include "smrun/pack/parallel_gzip.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace smrun::pack {

namespace {

// One unit of work. Buffers are allocated once and recycled, and never zero-filled: at MiB sizes
// first-touch page faults on fresh allocations would cost as much as a fast compression level.
struct Block {
  std::unique_ptr<std::uint8_t[]> in;
  std::size_t in_size = 0;
  std::unique_ptr<std::uint8_t[]> out;
  std::size_t out_size = 0;
  bool done = false;    // guarded by Impl::m_mutex
  bool failed = false;  // compression failed (written by the worker before `done`)
};

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
using Compressor = std::unique_ptr<libdeflate_compressor, CompressorDeleter>;

// Incompressible blocks (encrypted or already compressed files, random-looking tensors) are
// stored instead of searched: libdeflate at level 6 spends as long failing to find matches in
// random bytes as it spends compressing text, and then emits stored blocks anyway. A block is
// judged by kProbes samples spread over it, each compressed at level 1; only if every sample
// saves less than 1/kProbeSaving of its size is the block stored (deflate level 0, a copy). A
// block with any compressible region is compressed as usual, so the ratio lost is at most about
// that fraction of an incompressible block; the probes cost about 3% of a compressible one.
constexpr std::size_t kProbes = 4;
constexpr std::size_t kProbeSize = 16 * 1024;
constexpr std::size_t kProbeSaving = 64;  // saving 1/64 of a sample or more: compress

bool incompressible(libdeflate_compressor* probe, const std::uint8_t* data, std::size_t size,
                    std::uint8_t* scratch, std::size_t scratch_size) {
  if (size < kProbes * kProbeSize * 4) return false;  // small blocks: just compress them
  for (std::size_t i = 0; i < kProbes; ++i) {
    const std::uint8_t* sample = data + (size - kProbeSize) * i / (kProbes - 1);
    const std::size_t packed =
        libdeflate_deflate_compress(probe, sample, kProbeSize, scratch, scratch_size);
    // 0: did not fit in scratch, i.e. bigger than the input: incompressible.
    if (packed != 0 && packed < kProbeSize - kProbeSize / kProbeSaving) return false;
  }
  return true;
}

}  // namespace

class ParallelGzipWriter::Impl {
 public:
  Impl(GzipOptions options, ByteSink sink) : m_options(options), m_sink(std::move(sink)) {
    m_options.threads = std::max(1u, m_options.threads);
    m_options.block_size = std::max<std::size_t>(m_options.block_size, 4096);
    // Twice the workers keeps them busy while the oldest block waits to be written; on very
    // wide machines the count is capped so in-flight buffers stay near 512 MiB.
    const std::size_t threads = m_options.threads;
    const std::size_t memory_cap = (std::size_t{512} << 20) / (2 * m_options.block_size);
    m_max_in_flight = std::max(threads + 2, std::min(2 * threads, memory_cap));
    // The bound depends only on the compressor's level; compute it with a throwaway one.
    Compressor bound(libdeflate_alloc_compressor(std::clamp(m_options.level, 0, 12)));
    Compressor bound_stored(libdeflate_alloc_compressor(0));  // what a stored block needs
    m_out_capacity =
        bound && bound_stored
            ? std::max(libdeflate_gzip_compress_bound(bound.get(), m_options.block_size),
                       libdeflate_gzip_compress_bound(bound_stored.get(), m_options.block_size))
            : m_options.block_size + m_options.block_size / 8 + 1024;
    m_workers.reserve(m_options.threads);
    for (unsigned i = 0; i < m_options.threads; ++i) m_workers.emplace_back([this] { work(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
    }
    m_work_cv.notify_all();
    for (auto& t : m_workers) t.join();
  }

  base::Status write(std::span<const std::uint8_t> data) {
    if (!m_status) return m_status;
    while (!data.empty()) {
      if (!m_current) m_current = take_block();
      const std::size_t n = std::min(data.size(), m_options.block_size - m_current->in_size);
      std::memcpy(m_current->in.get() + m_current->in_size, data.data(), n);
      m_current->in_size += n;
      m_bytes_in += n;
      data = data.subspan(n);
      if (m_current->in_size == m_options.block_size) {
        submit();
        if (!m_status) return m_status;
      }
    }
    return {};
  }

  base::Status finish() {
    if (!m_status) return m_status;
    // An empty stream still becomes one (empty) member: a zero-byte file is not valid gzip.
    if (m_current || m_submitted == 0) {
      if (!m_current) m_current = take_block();
      submit();
    }
    while (m_status && !m_in_flight.empty()) deliver_front();
    return m_status;
  }

  std::uint64_t blocks_stored() {
    std::lock_guard lock(m_mutex);
    return m_blocks_stored;
  }
  std::uint64_t bytes_in() const { return m_bytes_in; }
  std::uint64_t bytes_out() const { return m_bytes_out; }

 private:
  std::unique_ptr<Block> take_block() {
    if (!m_free.empty()) {
      auto b = std::move(m_free.back());
      m_free.pop_back();
      return b;
    }
    auto b = std::make_unique<Block>();
    b->in = std::make_unique_for_overwrite<std::uint8_t[]>(m_options.block_size);
    b->out = std::make_unique_for_overwrite<std::uint8_t[]>(m_out_capacity);
    return b;
  }

  void submit() {
    Block* raw = m_current.get();
    raw->done = false;
    raw->failed = false;
    m_in_flight.push_back(std::move(m_current));
    ++m_submitted;
    {
      std::lock_guard lock(m_mutex);
      m_todo.push_back(raw);
    }
    m_work_cv.notify_one();
    // Deliver whatever is already finished, then wait only if the in-flight limit is reached.
    while (m_status && !m_in_flight.empty() && front_done()) deliver_front();
    while (m_status && m_in_flight.size() >= m_max_in_flight) deliver_front();
  }

  bool front_done() {
    std::lock_guard lock(m_mutex);
    return m_in_flight.front()->done;
  }

  void deliver_front() {
    Block* b = m_in_flight.front().get();
    {
      std::unique_lock lock(m_mutex);
      m_done_cv.wait(lock, [b] { return b->done; });
    }
    if (b->failed) {
      m_status = base::fail(base::ErrorKind::kPack,
                            fmt::format("gzip compression failed (level {})", m_options.level));
      return;
    }
    m_status = m_sink({b->out.get(), b->out_size});
    m_bytes_out += b->out_size;
    b->in_size = 0;
    m_free.push_back(std::move(m_in_flight.front()));
    m_in_flight.pop_front();
  }

  void work() {
    // libdeflate compressors are not thread-safe: one per worker, reused for every block.
    Compressor compressor(libdeflate_alloc_compressor(m_options.level));
    Compressor probe, store;
    if (m_options.level > 0) {
      probe.reset(libdeflate_alloc_compressor(1));
      store.reset(libdeflate_alloc_compressor(0));
    }
    std::vector<std::uint8_t> scratch(kProbeSize);
    for (;;) {
      Block* b = nullptr;
      {
        std::unique_lock lock(m_mutex);
        m_work_cv.wait(lock, [this] { return m_stopping || !m_todo.empty(); });
        if (m_stopping) return;
        b = m_todo.front();
        m_todo.pop_front();
      }
      std::size_t n = 0;
      const bool stored =
          probe && store &&
          incompressible(probe.get(), b->in.get(), b->in_size, scratch.data(), scratch.size());
      libdeflate_compressor* use = stored ? store.get() : compressor.get();
      if (use != nullptr)
        n = libdeflate_gzip_compress(use, b->in.get(), b->in_size, b->out.get(), m_out_capacity);
      {
        std::lock_guard lock(m_mutex);
        if (stored && n != 0) ++m_blocks_stored;
        b->out_size = n;
        b->failed = (n == 0);
        b->done = true;
      }
      m_done_cv.notify_all();
    }
  }

  GzipOptions m_options;
  ByteSink m_sink;
  std::size_t m_out_capacity = 0;
  std::size_t m_max_in_flight = 2;

  // Producer side (the thread calling write/finish).
  std::unique_ptr<Block> m_current;
  std::deque<std::unique_ptr<Block>> m_in_flight;  // submission order = output order
  std::vector<std::unique_ptr<Block>> m_free;
  std::uint64_t m_submitted = 0;
  std::uint64_t m_bytes_in = 0;
  std::uint64_t m_bytes_out = 0;
  base::Status m_status;

  // Shared with workers.
  std::mutex m_mutex;
  std::condition_variable m_work_cv;
  std::condition_variable m_done_cv;
  std::deque<Block*> m_todo;
  std::uint64_t m_blocks_stored = 0;
  bool m_stopping = false;
  std::vector<std::thread> m_workers;
};

ParallelGzipWriter::ParallelGzipWriter(GzipOptions options, ByteSink sink)
    : m_impl(std::make_unique<Impl>(options, std::move(sink))) {}
ParallelGzipWriter::~ParallelGzipWriter() = default;
base::Status ParallelGzipWriter::write(std::span<const std::uint8_t> data) {
  return m_impl->write(data);
}
base::Status ParallelGzipWriter::finish() {
  return m_impl->finish();
}
std::uint64_t ParallelGzipWriter::bytes_in() const {
  return m_impl->bytes_in();
}
std::uint64_t ParallelGzipWriter::bytes_out() const {
  return m_impl->bytes_out();
}
std::uint64_t ParallelGzipWriter::blocks_stored() const {
  return m_impl->blocks_stored();
}

}  // namespace smrun::pack
