#include "smrun/pack/tar_writer.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace smrun::pack {

namespace {

// Large reads: fewer syscalls and archive_write_data calls. 1 MiB is past the point where the
// per-call cost stops mattering next to compression.
constexpr std::size_t kReadSize = std::size_t{1} << 20;

// libarchive converts names from the current locale's charset to UTF-8 for pax headers. Under the
// "C" locale (smrun never calls setlocale) any non-ASCII name fails that conversion and is stored
// with "hdrcharset=BINARY", which GNU tar warns about. Model files are named in UTF-8 in
// practice, so libarchive is called under a thread-local C.UTF-8 locale; the process locale is
// untouched. Names that are not valid UTF-8 still fall back to BINARY (with a warning).
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale() {
    static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
    if (utf8 != locale_t{}) m_previous = uselocale(utf8);
  }
  ~ScopedUtf8Locale() {
    if (m_previous != locale_t{}) uselocale(m_previous);
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t m_previous{};
};

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

struct TarWriter::SinkState {
  ByteSink sink;
  base::Status status;   // first sink failure; libarchive only sees "-1"
  bool discard = false;  // swallow output (closing after an error)
  std::vector<std::uint8_t> read_buffer;
};

namespace {

la_ssize_t write_callback(struct archive* a, void* client, const void* buffer, size_t length) {
  auto* state = static_cast<TarWriter::SinkState*>(client);
  if (state->discard) return static_cast<la_ssize_t>(length);
  base::Status s = state->sink({static_cast<const std::uint8_t*>(buffer), length});
  if (!s) {
    state->status = std::move(s);
    archive_set_error(a, EIO, "output failed");
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

}  // namespace

base::Expected<std::unique_ptr<TarWriter>> TarWriter::open(ByteSink sink) {
  ScopedUtf8Locale utf8;
  struct archive* a = archive_write_new();
  if (a == nullptr) return base::fail(base::ErrorKind::kPack, "cannot create a tar writer");
  auto state = std::make_unique<SinkState>();
  state->sink = std::move(sink);
  // "pax restricted": ustar headers, pax extensions only where ustar cannot express an entry.
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_add_filter_none(a) != ARCHIVE_OK ||
      archive_write_open2(a, state.get(), nullptr, write_callback, nullptr, nullptr) !=
          ARCHIVE_OK) {
    std::string msg = fmt::format("cannot start the tar stream: {}",
                                  archive_error_string(a) ? archive_error_string(a) : "unknown");
    archive_write_free(a);
    return base::fail(base::ErrorKind::kPack, msg);
  }
  return std::unique_ptr<TarWriter>(new TarWriter(a, std::move(state)));
}

TarWriter::TarWriter(struct archive* a, std::unique_ptr<SinkState> state)
    : m_archive(a), m_state(std::move(state)) {}

TarWriter::~TarWriter() {
  if (m_archive != nullptr) {
    // Not closed: an error path. Close anyway (libarchive 3.6 frees its output buffer only in
    // close, so archive_write_fail() + free() leaks it) but drop what close writes: a partial
    // archive must not look finished.
    ScopedUtf8Locale utf8;
    m_state->discard = true;
    archive_write_close(m_archive);
    archive_write_free(m_archive);
  }
}

base::Status TarWriter::archive_failure(const std::string& what, const std::string& name) {
  if (!m_state->status) return m_state->status;
  const char* detail = archive_error_string(m_archive);
  return base::fail(base::ErrorKind::kPack,
                    fmt::format("cannot {} {}: {}", what, name, detail ? detail : "tar error"));
}

base::Status TarWriter::write_header(const std::string& name, const EntryInfo& info, unsigned type,
                                     std::int64_t size, const std::string* link_target) {
  ScopedUtf8Locale utf8;
  std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
  archive_entry_copy_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), type);
  archive_entry_set_perm(entry.get(), info.mode & 07777);
  archive_entry_set_size(entry.get(), size);
  // Whole seconds only: in pax-restricted mode libarchive would write sub-second times (plus
  // atime/ctime) only for entries that already need a pax header, making the archive
  // inconsistent from one entry to the next.
  archive_entry_set_mtime(entry.get(), info.mtime, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  if (link_target != nullptr) archive_entry_copy_symlink(entry.get(), link_target->c_str());
  int rc = archive_write_header(m_archive, entry.get());
  if (rc == ARCHIVE_WARN) {
    // e.g. a name that is not valid in the current locale: stored byte-for-byte, still readable.
    const char* detail = archive_error_string(m_archive);
    log::warn("pack: {}: {}", name, detail ? detail : "tar warning");
  } else if (rc != ARCHIVE_OK) {
    return archive_failure("add", name);
  }
  return {};
}

base::Status TarWriter::add_directory(const std::string& name, const EntryInfo& info) {
  return write_header(name + "/", info, AE_IFDIR, 0, nullptr);
}

base::Status TarWriter::add_symlink(const std::string& name, const EntryInfo& info,
                                    const std::string& target) {
  return write_header(name, info, AE_IFLNK, 0, &target);
}

base::Status TarWriter::add_file(const std::string& name, const EntryInfo& info,
                                 const std::filesystem::path& path) {
  // O_NOFOLLOW: if the file was swapped for a symlink since it was listed, fail rather than
  // archive whatever the link points to.
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return base::fail(base::ErrorKind::kPack,
                      fmt::format("cannot read {}: {}", path.string(), base::errno_text(errno)));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  // Only files past the prefetcher's limit come here: worth the call.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  const auto size = static_cast<std::int64_t>(info.size);
  if (base::Status s = write_header(name, info, AE_IFREG, size, nullptr); !s) return s;

  auto& buffer = m_state->read_buffer;
  if (buffer.size() < kReadSize) buffer.resize(kReadSize);
  std::int64_t remaining = size;
  while (remaining > 0) {
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::int64_t>(remaining, static_cast<std::int64_t>(buffer.size())));
    ssize_t n = ::read(fd, buffer.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::fail(base::ErrorKind::kPack,
                        fmt::format("cannot read {}: {}", path.string(), base::errno_text(errno)));
    }
    if (n == 0)
      return base::fail(base::ErrorKind::kPack,
                        fmt::format("cannot read {}: file shrank from {} bytes while being packed",
                                    path.string(), size));
    la_ssize_t written = archive_write_data(m_archive, buffer.data(), static_cast<size_t>(n));
    if (written != n) return archive_failure("add", name);
    remaining -= n;
    m_content_bytes += static_cast<std::uint64_t>(n);
  }
  return {};
}

base::Status TarWriter::add_file_contents(const std::string& name, const EntryInfo& info,
                                          std::span<const std::uint8_t> contents) {
  if (base::Status s =
          write_header(name, info, AE_IFREG, static_cast<std::int64_t>(contents.size()), nullptr);
      !s)
    return s;
  if (contents.empty()) return {};
  const la_ssize_t written = archive_write_data(m_archive, contents.data(), contents.size());
  if (written != static_cast<la_ssize_t>(contents.size())) return archive_failure("add", name);
  m_content_bytes += contents.size();
  return {};
}

base::Status TarWriter::close() {
  ScopedUtf8Locale utf8;
  int rc = archive_write_close(m_archive);
  base::Status result;
  if (rc != ARCHIVE_OK) result = archive_failure("finish", "the tar stream");
  archive_write_free(m_archive);
  m_archive = nullptr;
  return result;
}

}  // namespace smrun::pack
