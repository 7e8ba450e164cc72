#include "smrun/code/submit_dir.hpp"
#include "smrun/base/log.hpp"
#include "smrun/base/sys_error.hpp"

#include <fmt/format.h>

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "smrun/code/extract.hpp"
#include "smrun/code/tree_ops.hpp"

namespace smrun::code {

namespace fs = std::filesystem;

namespace {

base::Unexpected<base::Error> code_error(std::string message) {
  return base::fail(base::ErrorKind::kCode, std::move(message));
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

std::optional<int> hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// The local path a submit URI names, or an error for the schemes smrun cannot fetch.
base::Expected<fs::path> local_source(const std::string& uri) {
  if (starts_with_ignoring_case(uri, "file://")) return file_uri_to_path(uri);
  if (const auto scheme_end = uri.find("://"); scheme_end != std::string::npos) {
    const std::string scheme = uri.substr(0, scheme_end);
    const bool looks_like_scheme =
        !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme[0])) &&
        std::all_of(scheme.begin(), scheme.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
        });
    if (looks_like_scheme)
      return code_error(
          fmt::format("submit directory {}: unsupported URI scheme '{}' (expected "
                      "a local path, file:// or s3://)",
                      uri, scheme));
  }
  return fs::path(uri);
}

base::Status is_empty_dir(const fs::path& dir, bool& empty) {
  std::error_code ec;
  empty = fs::is_empty(dir, ec);
  if (ec)
    return code_error(fmt::format("cannot list code directory {}: {}", dir.string(), ec.message()));
  return {};
}

// A file that claims to be an archive, by its name or by a compressor's magic bytes. The
// reference copies any file tarfile cannot read, so a truncated sourcedir.tar.gz landed in the
// code dir as is and the job failed later with "can't open file 'train.py'"; such a file is
// handed to the extractor instead, whose error says what is wrong with it.
bool looks_like_archive(const fs::path& file) {
  std::string name = file.filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view suffix :
       {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tzst"})
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return true;
  std::ifstream in(file, std::ios::binary);
  unsigned char head[6] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  const auto n = in.gcount();
  return (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) ||                  // gzip
         (n >= 3 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h') ||  // bzip2
         (n >= 6 && head[0] == 0xfd && head[1] == '7' && head[2] == 'z' && head[3] == 'X' &&
          head[4] == 'Z' && head[5] == 0) ||  // xz
         (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f &&
          head[3] == 0xfd);  // zstd
}

base::Status fill_from(const fs::path& source, const fs::path& code_dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(source, ec);
  if (!fs::exists(st))
    return code_error(fmt::format("submit directory {} does not exist", source.string()));
  if (fs::is_directory(st)) {
    if (fs::equivalent(source, code_dir, ec)) return {};
    const fs::path canonical_source = fs::canonical(source, ec);
    const fs::path canonical_code = fs::canonical(code_dir, ec);
    const auto mismatch = std::mismatch(canonical_source.begin(), canonical_source.end(),
                                        canonical_code.begin(), canonical_code.end());
    if (!ec && mismatch.first == canonical_source.end())
      return code_error(
          fmt::format("code directory {} lies inside submit directory {}; copying "
                      "would recurse into itself",
                      code_dir.string(), source.string()));
    log::info("copying submit directory {} into {}", source.string(), code_dir.string());
    return copy_tree_contents(source, code_dir);
  }
  if (is_tar_archive(source) || looks_like_archive(source)) {
    log::info("extracting {} into {}", source.string(), code_dir.string());
    return extract_archive_safely(source, code_dir);
  }
  // shutil.copy2(uri, path): a single file lands in the code dir under its own name.
  log::info("copying {} into {}", source.string(), code_dir.string());
  return copy_file_into(source, code_dir);
}

// A private directory for a download, removed with everything in it when this goes out of scope.
class ScratchDir {
 public:
  static base::Expected<ScratchDir> make() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string pattern = (base / "smrun-code-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return code_error(fmt::format("cannot create a download directory under {}: {}",
                                    base.string(), base::errno_text(errno)));
    return ScratchDir(fs::path(pattern));
  }
  ScratchDir(ScratchDir&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    if (!m_path.empty()) remove_tree(m_path);
  }
  const fs::path& path() const { return m_path; }

 private:
  explicit ScratchDir(fs::path path) : m_path(std::move(path)) {}
  fs::path m_path;
};

// s3://... -> download with `fetch_remote`, then extract; only tar archives are accepted, as the
// SDK always uploads source_dir as sourcedir.tar.gz.
base::Status fill_from_remote(const std::string& uri, const fs::path& code_dir,
                              const RemoteFetch& fetch_remote) {
  if (!fetch_remote)
    return code_error(fmt::format("submit directory {}: no downloader for this scheme", uri));
  auto scratch = ScratchDir::make();
  if (!scratch) return base::Unexpected(scratch.error());
  auto local = fetch_remote(uri, scratch->path());
  if (!local) return base::Unexpected(local.error());
  if (!is_tar_archive(*local))
    return code_error(
        fmt::format("submit directory {} is not a tar archive (expected a .tar.gz such as the "
                    "sourcedir.tar.gz the SageMaker SDK uploads)",
                    uri));
  log::info("extracting {} into {}", uri, code_dir.string());
  return extract_archive_safely(*local, code_dir);
}

}  // namespace

// "file:///abs/p%20q" -> "/abs/p q" (RFC 8089: empty host or "localhost" only).
base::Expected<fs::path> file_uri_to_path(const std::string& uri, std::string_view what) {
  std::string_view rest = std::string_view(uri).substr(7);  // after "file://"
  const auto slash = rest.find('/');
  const std::string_view host = rest.substr(0, slash);
  if (slash == std::string_view::npos || (!host.empty() && host != "localhost"))
    return code_error(fmt::format(
        "{} {} must be file:///absolute/path (a local file URI without a host)", what, uri));
  rest.remove_prefix(slash);
  std::string decoded;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      decoded += rest[i];
      continue;
    }
    const auto hi = i + 2 < rest.size() ? hex_value(rest[i + 1]) : std::nullopt;
    const auto lo = i + 2 < rest.size() ? hex_value(rest[i + 2]) : std::nullopt;
    if (!hi || !lo) return code_error(fmt::format("{} {} has an invalid %-escape", what, uri));
    decoded += static_cast<char>(*hi * 16 + *lo);
    i += 2;
  }
  if (decoded.find('\0') != std::string::npos)
    return code_error(fmt::format("{} {} decodes to a path with a NUL byte", what, uri));
  return fs::path(decoded);
}

base::Status prepare_code_dir(const std::string& submit_uri, const fs::path& code_dir,
                              const RemoteFetch& fetch_remote) {
  std::error_code ec;
  fs::create_directories(code_dir, ec);
  if (ec || !fs::is_directory(code_dir))
    return code_error(fmt::format("cannot create code directory {}: {}", code_dir.string(),
                                  ec ? ec.message() : "exists and is not a directory"));
  bool empty = false;
  if (auto listed = is_empty_dir(code_dir, empty); !listed) return listed;
  if (!empty) {
    log::info("code directory {} is not empty; using it as is and ignoring submit directory {}",
              code_dir.string(), submit_uri.empty() ? "(none)" : submit_uri);
    return {};
  }
  if (submit_uri.empty()) return {};
  base::Status filled;
  if (starts_with_ignoring_case(submit_uri, "s3://")) {
    filled = fill_from_remote(submit_uri, code_dir, fetch_remote);
  } else {
    auto source = local_source(submit_uri);
    if (!source) return base::Unexpected(source.error());
    filled = fill_from(*source, code_dir);
  }
  if (!filled) {
    // code_dir was empty when we started: whatever is in it now is ours to remove.
    for (const auto& entry : fs::directory_iterator(code_dir, ec)) remove_tree(entry.path());
  }
  return filled;
}

}  // namespace smrun::code
