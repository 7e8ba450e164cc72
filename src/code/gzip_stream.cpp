#include "smrun/code/gzip_stream.hpp"
#include "smrun/base/sys_error.hpp"
#include "smrun/base/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace smrun::code {

namespace {

constexpr std::size_t kInputChunk = std::size_t{1} << 20;
constexpr std::size_t kOutputChunk = std::size_t{1} << 20;
// Output buffers in flight: enough for the inflater to stay ahead of a reader that stalls on a
// file creation now and then, few enough to bound memory (4 MiB).
constexpr std::size_t kOutputBuffers = 4;

struct Chunk {
  std::vector<std::uint8_t> bytes;
  std::size_t size = 0;
};

}  // namespace

bool has_gzip_magic(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned char magic[2] = {0, 0};
  const ssize_t n = ::read(fd, magic, sizeof magic);
  ::close(fd);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

class GzipStream::Impl {
 public:
  explicit Impl(base::UniqueFd fd) : m_fd(std::move(fd)) {
    for (std::size_t i = 0; i < kOutputBuffers; ++i) {
      Chunk c;
      c.bytes.resize(kOutputChunk);
      m_free.push_back(std::move(c));
    }
    m_thread = std::thread([this] { inflate_all(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
  }

  base::Expected<std::span<const std::uint8_t>> next() {
    std::unique_lock lock(m_mutex);
    if (m_current) {
      m_free.push_back(std::move(*m_current));
      m_current.reset();
      m_changed.notify_all();
    }
    m_changed.wait(lock, [&] { return !m_ready.empty() || m_done; });
    if (!m_ready.empty()) {
      m_current = std::move(m_ready.front());
      m_ready.pop_front();
      return std::span<const std::uint8_t>(m_current->bytes.data(), m_current->size);
    }
    if (!m_error.empty()) return base::fail(base::ErrorKind::kCode, m_error);
    return std::span<const std::uint8_t>();
  }

 private:
  // Blocks for a free output buffer; nullopt once stopped.
  std::optional<Chunk> take_free() {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return !m_free.empty() || m_stop; });
    if (m_stop) return std::nullopt;
    Chunk c = std::move(m_free.front());
    m_free.pop_front();
    return c;
  }

  void deliver(Chunk c) {
    {
      std::lock_guard lock(m_mutex);
      m_ready.push_back(std::move(c));
    }
    m_changed.notify_all();
  }

  void finish(std::string error) {
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
      m_error = std::move(error);
    }
    m_changed.notify_all();
  }

  // Refills the input buffer; false at end of file. Sets `error` on a read failure.
  bool refill(z_stream& z, std::string& error) {
    for (;;) {
      const ssize_t n = ::read(m_fd.get(), m_input.data(), m_input.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = fmt::format("read error: {}", base::errno_text(errno));
        return false;
      }
      m_input_offset += static_cast<std::uint64_t>(n);
      z.next_in = m_input.data();
      z.avail_in = static_cast<uInt>(n);
      return n > 0;
    }
  }

  void inflate_all() {
    m_input.resize(kInputChunk);
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {  // 16: gzip wrapper, checked
      finish("gzip: cannot initialise zlib");
      return;
    }
    std::string error;
    bool at_end = false;    // the stream ended where it may end
    bool in_member = true;  // bytes of a member are expected
    std::optional<Chunk> out;
    while (!at_end && error.empty()) {
      if (!out) {
        out = take_free();
        if (!out) break;  // stopped
        out->size = 0;
      }
      if (z.avail_in == 0 && !refill(z, error)) {
        if (!error.empty()) break;
        if (in_member) error = "gzip: unexpected end of data (truncated archive?)";
        at_end = true;
        break;
      }
      if (!in_member) {
        // After a member: another one must start with the magic; anything else ends the stream.
        if (z.next_in[0] != 0x1f || (z.avail_in > 1 && z.next_in[1] != 0x8b)) {
          at_end = true;
          break;
        }
        inflateReset(&z);
        in_member = true;
      }
      z.next_out = out->bytes.data() + out->size;
      z.avail_out = static_cast<uInt>(out->bytes.size() - out->size);
      const int rc = inflate(&z, Z_NO_FLUSH);
      out->size = out->bytes.size() - z.avail_out;
      if (rc == Z_STREAM_END) {
        in_member = false;
      } else if (rc == Z_BUF_ERROR) {
        // No progress possible: needs input (refilled above) or output (delivered below).
      } else if (rc != Z_OK) {
        error = fmt::format("gzip: corrupt data near compressed byte {}: {}",
                            m_input_offset - z.avail_in, z.msg != nullptr ? z.msg : "error");
        break;
      }
      if (out->size == out->bytes.size()) {
        deliver(std::move(*out));
        out.reset();
      }
    }
    inflateEnd(&z);
    // Also before an error: the bytes up to it are good, and the reader then fails on the member
    // the damage is in rather than at the start.
    if (out && out->size > 0) deliver(std::move(*out));
    finish(std::move(error));
  }

  base::UniqueFd m_fd;
  std::vector<std::uint8_t> m_input;
  std::uint64_t m_input_offset = 0;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<Chunk> m_free;
  std::deque<Chunk> m_ready;
  std::optional<Chunk> m_current;  // handed to the reader by the last next()
  bool m_stop = false;
  bool m_done = false;
  std::string m_error;
  std::thread m_thread;  // last: started once everything above exists
};

GzipStream::GzipStream(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
GzipStream::~GzipStream() = default;

base::Expected<std::unique_ptr<GzipStream>> GzipStream::open(const std::filesystem::path& file) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return base::fail(base::ErrorKind::kCode, base::errno_text(errno));
  return std::unique_ptr<GzipStream>(new GzipStream(std::make_unique<Impl>(std::move(fd))));
}

base::Expected<std::span<const std::uint8_t>> GzipStream::next() {
  return m_impl->next();
}

}  // namespace smrun::code
