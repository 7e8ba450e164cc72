#include "smrun/code/extract.hpp"
#include "smrun/base/log.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "smrun/base/printable.hpp"
#include "smrun/code/archive_paths.hpp"
#include "smrun/code/gzip_stream.hpp"
#include "smrun/code/tree_ops.hpp"

namespace smrun::code {

namespace fs = std::filesystem;

namespace {

struct ReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ReadFree>;
using ArchiveWriter = std::unique_ptr<struct archive, WriteFree>;

// Tar only (like the reference's tarfile), behind the compressions SageMaker SDKs and users
// produce. Filters are named one by one: archive_read_support_filter_all() would also enable
// filters that shell out to external programs (lrzip, lzop, grzip).
std::string archive_message(struct archive* a);

void support_tar(struct archive* a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
}

// libarchive's read callback over a GzipStream: the tar bytes come from the inflating thread.
la_ssize_t read_inflated(struct archive* a, void* client, const void** buffer) {
  auto next = static_cast<GzipStream*>(client)->next();
  if (!next) {
    archive_set_error(a, EIO, "%s", next.error().message.c_str());
    return -1;
  }
  *buffer = next->data();
  return static_cast<la_ssize_t>(next->size());
}

// A reader and, for gzip, the stream it reads from. Declaration order matters: the reader is
// freed before the stream it reads.
struct OpenArchive {
  std::unique_ptr<GzipStream> gzip;
  ArchiveReader reader;
};

// Fails with libarchive's reason (missing file, unknown compression, ...). With `inflate_ahead`,
// a gzip file is inflated on a thread of its own (see gzip_stream.hpp); otherwise libarchive
// decompresses on the calling thread.
base::Expected<OpenArchive> open_reader(const fs::path& file, bool inflate_ahead) {
  OpenArchive opened;
  opened.reader.reset(archive_read_new());
  support_tar(opened.reader.get());
  if (inflate_ahead && has_gzip_magic(file)) {
    auto gzip = GzipStream::open(file);
    if (!gzip) return base::fail(base::ErrorKind::kCode, "Failed to open: " + gzip.error().message);
    opened.gzip = std::move(gzip).value();
    if (archive_read_open(opened.reader.get(), opened.gzip.get(), nullptr, read_inflated,
                          nullptr) != ARCHIVE_OK)
      return base::fail(base::ErrorKind::kCode, archive_message(opened.reader.get()));
    return opened;
  }
  if (archive_read_open_filename(opened.reader.get(), file.c_str(), 64 * 1024) != ARCHIVE_OK)
    return base::fail(base::ErrorKind::kCode, archive_message(opened.reader.get()));
  return opened;
}

std::string archive_message(struct archive* a) {
  const char* msg = archive_error_string(a);
  return base::printable(msg != nullptr ? msg : "unknown libarchive error");
}

const char* forbidden_type_name(mode_t type) {
  switch (type) {
    case AE_IFCHR:
      return "a character device";
    case AE_IFBLK:
      return "a block device";
    case AE_IFIFO:
      return "a FIFO";
    case AE_IFSOCK:
      return "a socket";
    default:
      return "of an unsupported file type";
  }
}

// One extraction run: validates each member, hands it to libarchive's disk writer, and remembers
// what it created so a failure can be rolled back.
class Extraction {
 public:
  Extraction(fs::path archive, fs::path root, const ExtractOptions& options)
      : m_archive(std::move(archive)), m_root(std::move(root)), m_options(options) {}

  base::Status run();
  void roll_back();

 private:
  enum class Verdict { kWrite, kSkip };

  base::Unexpected<base::Error> failure(const std::string& what) const {
    return base::fail(
        base::ErrorKind::kCode,
        fmt::format("cannot extract {}: {}", base::printable(m_archive.string()), what));
  }
  base::Unexpected<base::Error> member_failure(const std::string& name,
                                               const std::string& what) const {
    return failure(fmt::format("member '{}' {}", base::printable(name), what));
  }

  base::Expected<Verdict> check_member(struct archive_entry* entry, const std::string& name);
  base::Status check_on_disk(const std::string& name, const fs::path& rel, bool replaces_ok);
  base::Status copy_data(struct archive* reader, struct archive* writer, const std::string& name);
  base::Status check_symlinks_after() const;

  fs::path m_archive;
  fs::path m_root;
  ExtractOptions m_options;
  std::vector<fs::path> m_created;   // topmost new paths, in creation order
  std::set<fs::path> m_files;        // regular files extracted so far (relative), for hard links
  std::vector<fs::path> m_symlinks;  // symlinks extracted (relative), checked again at the end
  std::uint64_t m_total_bytes = 0;
  std::uint64_t m_members = 0;
};

base::Expected<Extraction::Verdict> Extraction::check_member(struct archive_entry* entry,
                                                             const std::string& name) {
  auto rel = normalize_member_path(name);
  if (!rel) return member_failure(name, rel.error().message);
  const mode_t type = archive_entry_filetype(entry);
  const char* hardlink = archive_entry_hardlink(entry);

  if (rel->empty()) {
    // "./" from `tar -C dir .`: the destination itself, whose mode and mtime we leave alone.
    if (type == AE_IFDIR && hardlink == nullptr) return Verdict::kSkip;
    return member_failure(name, "resolves to the destination directory itself");
  }

  if (type == AE_IFREG || hardlink != nullptr) {
    // Hard links may carry data too (pax), which libarchive writes into the linked file.
    const la_int64_t size = archive_entry_size(entry);
    const std::uint64_t declared = size > 0 ? static_cast<std::uint64_t>(size) : 0;
    if (declared > m_options.max_total_bytes - m_total_bytes)
      return member_failure(name, fmt::format("takes the declared total size over the limit of {} "
                                              "bytes",
                                              m_options.max_total_bytes));
    m_total_bytes += declared;
  }

  if (hardlink != nullptr) {
    auto target = normalize_member_path(hardlink);
    if (!target)
      return member_failure(name, fmt::format("is a hard link whose target '{}' {}",
                                              base::printable(hardlink), target.error().message));
    if (m_files.count(*target) == 0 || !fs::is_regular_file(fs::symlink_status(m_root / *target)))
      return member_failure(name, fmt::format("is a hard link to '{}', which is not a regular file "
                                              "extracted earlier from this archive",
                                              base::printable(hardlink)));
    if (auto ok = check_on_disk(name, *rel, false); !ok) return base::Unexpected(ok.error());
    archive_entry_copy_hardlink(entry, (m_root / *target).c_str());
  } else if (type == AE_IFLNK) {
    const char* target = archive_entry_symlink(entry);
    if (target == nullptr || *target == '\0')
      return member_failure(name, "is a symlink with an empty target");
    if (*target == '/')
      return member_failure(
          name, fmt::format("is a symlink to absolute path '{}'", base::printable(target)));
    if (!symlink_target_stays_inside(*rel, target))
      return member_failure(name, fmt::format("is a symlink whose target '{}' leaves the "
                                              "destination",
                                              base::printable(target)));
    if (auto ok = check_on_disk(name, *rel, false); !ok) return base::Unexpected(ok.error());
  } else if (type == AE_IFREG || type == AE_IFDIR) {
    if (auto ok = check_on_disk(name, *rel, true); !ok) return base::Unexpected(ok.error());
  } else {
    return member_failure(name,
                          fmt::format("is {}, which is not allowed", forbidden_type_name(type)));
  }

  // No setuid/setgid programs from an archive; owners are never restored (no EXTRACT_OWNER).
  archive_entry_set_perm(entry,
                         archive_entry_perm(entry) & ~static_cast<mode_t>(S_ISUID | S_ISGID));
  // libarchive's disk writer resolves relative names against the process cwd; changing the cwd
  // is process-global, so members are written by absolute, already validated paths instead.
  archive_entry_copy_pathname(entry, (m_root / *rel).c_str());
  return Verdict::kWrite;
}

// Walks the member's path on disk: no existing component may be a symlink (that would write
// through it), and links may not replace anything. Records the topmost path this member creates.
base::Status Extraction::check_on_disk(const std::string& name, const fs::path& rel,
                                       bool replaces_ok) {
  fs::path current = m_root;
  fs::path shown;  // the member's own path so far; printed through base::printable() like its name
  for (auto it = rel.begin(); it != rel.end(); ++it) {
    current /= *it;
    shown /= *it;
    const bool last = std::next(it) == rel.end();
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(current, ec);
    if (st.type() == fs::file_type::not_found) {
      m_created.push_back(current);
      return {};
    }
    if (ec) return member_failure(name, fmt::format("cannot be checked: {}", ec.message()));
    if (fs::is_symlink(st)) {
      if (last)
        return member_failure(
            name, fmt::format("would replace symlink '{}'", base::printable(shown.string())));
      return member_failure(name, fmt::format("would be written through symlink '{}'",
                                              base::printable(shown.string())));
    }
    if (!last && !fs::is_directory(st))
      return member_failure(
          name, fmt::format("needs '{}' to be a directory", base::printable(shown.string())));
    if (last && !replaces_ok)
      return member_failure(
          name, fmt::format("would replace existing '{}'", base::printable(shown.string())));
  }
  return {};
}

base::Status Extraction::copy_data(struct archive* reader, struct archive* writer,
                                   const std::string& name) {
  for (;;) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(reader, &block, &size, &offset);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN)
      return member_failure(name, fmt::format("cannot be read (corrupt or truncated archive?): {}",
                                              archive_message(reader)));
    if (archive_write_data_block(writer, block, size, offset) < ARCHIVE_WARN)
      return member_failure(name, fmt::format("cannot be written: {}", archive_message(writer)));
  }
}

// The per-member lexical check cannot see symlink chains built across members (a later link can
// change what an earlier one points at), so every extracted symlink is resolved once more on the
// final tree.
base::Status Extraction::check_symlinks_after() const {
  for (const fs::path& rel : m_symlinks) {
    auto inside = symlink_stays_inside(m_root, m_root / rel);
    if (!inside)
      return failure(fmt::format("symlink '{}': {}", base::printable(rel.string()),
                                 base::printable(inside.error().message)));
    if (!*inside)
      return failure(
          fmt::format("symlink '{}' resolves outside the destination through other "
                      "symlinks",
                      base::printable(rel.string())));
  }
  return {};
}

base::Status Extraction::run() {
  auto opened = open_reader(m_archive, true);
  if (!opened)
    return failure(fmt::format("not a readable tar archive: {}", opened.error().message));
  OpenArchive archive = std::move(opened).value();
  ArchiveReader& reader = archive.reader;
  ArchiveWriter writer(archive_write_disk_new());
  // Second line of defence behind check_member. SECURE_NOABSOLUTEPATHS is deliberately absent:
  // validated members are passed as absolute paths below the destination (see check_member).
  archive_write_disk_set_options(writer.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                   ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                   ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int r = archive_read_next_header(reader.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (m_members == 0)
        return failure(
            fmt::format("not a readable tar archive: {}", archive_message(reader.get())));
      return failure(fmt::format("corrupt or truncated archive after {} members: {}", m_members,
                                 archive_message(reader.get())));
    }
    if (++m_members > m_options.max_members)
      return failure(fmt::format("more than {} members", m_options.max_members));
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr) raw_name = archive_entry_pathname_utf8(entry);
    if (raw_name == nullptr)
      return failure(fmt::format("member #{} has no readable name", m_members));
    const std::string name = raw_name;  // check_member rewrites the entry's pathname

    auto verdict = check_member(entry, name);
    if (!verdict) return base::Unexpected(verdict.error());
    if (*verdict == Verdict::kSkip) continue;
    const bool is_link = archive_entry_hardlink(entry) != nullptr;
    const mode_t type = archive_entry_filetype(entry);

    const int written = archive_write_header(writer.get(), entry);
    if (written < ARCHIVE_WARN)
      return member_failure(name,
                            fmt::format("cannot be written: {}", archive_message(writer.get())));
    if (written == ARCHIVE_WARN)
      log::warn("extracting {} member '{}': {}", m_archive.string(), base::printable(name),
                archive_message(writer.get()));
    if (archive_entry_size(entry) > 0)
      if (auto ok = copy_data(reader.get(), writer.get(), name); !ok) return ok;
    if (archive_write_finish_entry(writer.get()) < ARCHIVE_WARN)
      return member_failure(name,
                            fmt::format("cannot be written: {}", archive_message(writer.get())));

    auto rel = normalize_member_path(name);  // cannot fail: check_member accepted it
    if (!is_link && type == AE_IFREG) m_files.insert(*rel);
    if (!is_link && type == AE_IFLNK) m_symlinks.push_back(*rel);
  }
  // Applies the deferred directory modes and mtimes.
  if (archive_write_close(writer.get()) < ARCHIVE_WARN)
    return failure(fmt::format("cannot finish writing: {}", archive_message(writer.get())));
  return check_symlinks_after();
}

void Extraction::roll_back() {
  for (auto it = m_created.rbegin(); it != m_created.rend(); ++it) remove_tree(*it);
}

}  // namespace

base::Status extract_archive_safely(const fs::path& archive, const fs::path& dest,
                                    const ExtractOptions& options) {
  std::error_code ec;
  // Canonical so the disk writer's symlink check sees no symlink in the destination's own path.
  const fs::path root = fs::canonical(dest, ec);
  if (ec || !fs::is_directory(root, ec))
    return base::fail(
        base::ErrorKind::kCode,
        fmt::format("cannot extract {}: destination {} is not a directory",
                    base::printable(archive.string()), base::printable(dest.string())));
  Extraction extraction(archive, root, options);
  base::Status status = extraction.run();
  if (!status) {
    extraction.roll_back();
    log::debug("rolled back partial extraction of {} into {}", archive.string(), dest.string());
  }
  return status;
}

bool is_tar_archive(const fs::path& file) {
  auto opened = open_reader(file, false);  // one header: not worth a thread
  if (!opened) return false;
  ArchiveReader reader = std::move(opened->reader);
  struct archive_entry* entry = nullptr;
  const int r = archive_read_next_header(reader.get(), &entry);
  if (r == ARCHIVE_OK || r == ARCHIVE_WARN) return true;
  // An archive holding no members at all is still a tar (its end-of-archive blocks parsed).
  return r == ARCHIVE_EOF &&
         (archive_format(reader.get()) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR;
}

}  // namespace smrun::code
