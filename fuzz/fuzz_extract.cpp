// Fuzzes code::extract_archive_safely: the input is written as an archive file and extracted
// into a fresh tree, the way smrun unpacks sourcedir.tar.gz into /opt/ml/code. Uncompressed
// inputs get their tar header checksums recomputed first (see fix_tar_checksums).
//
// Layout per input, below one private directory made once per process:
//   <base>/case/archive        the fuzz input
//   <base>/case/root/code/     the extraction destination
// Invariants: never crashes; afterwards <base> holds only case/, case/ only archive and root/,
// root/ only code/ (nothing escaped one, two or three levels up); a failed extraction leaves
// code/ empty (rolled back); a successful one holds only regular files, directories and
// symlinks, none setuid/setgid, and no symlink that resolves outside code/.
// The case directory is deleted after every input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "fuzz_support.hpp"
#include "smrun/base/log.hpp"
#include "smrun/code/extract.hpp"

namespace {

namespace fs = std::filesystem;
using smrun::fuzz::entries;

const fs::path& base_dir() {
  static const fs::path kBase = [] {
    // libarchive warnings would flood the fuzzer's log: smrun's lines go nowhere.
    smrun::log::set_line_sink([](const smrun::log::Line&) {});
    return smrun::fuzz::make_temp_dir("smrun-fuzz-extract");
  }();
  return kBase;
}

// Mutations almost always break a tar header's checksum, and libarchive then stops at the first
// member. For uncompressed input the checksums are recomputed before writing, so the fuzzer
// reaches the member checks instead of the checksum check. Header walk: 512-byte blocks, each
// header followed by its size (octal at offset 124) rounded up to whole blocks.
void fix_tar_checksums(std::string& tar) {
  static constexpr unsigned char kCompressedMagic[][3] = {
      {0x1f, 0x8b, 0}, {'B', 'Z', 'h'}, {0xfd, '7', 'z'}, {0x28, 0xb5, 0x2f}};
  for (const auto& magic : kCompressedMagic) {
    const std::size_t n = magic[2] == 0 ? 2 : 3;
    if (tar.size() >= n && std::memcmp(tar.data(), magic, n) == 0) return;
  }
  std::size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    char* header = tar.data() + pos;
    if (std::all_of(header, header + 512, [](char c) { return c == '\0'; })) {
      pos += 512;
      continue;
    }
    std::uint64_t size = 0;
    for (int i = 124; i < 136 && header[i] >= '0' && header[i] <= '7'; ++i)
      size = std::min<std::uint64_t>(size * 8 + static_cast<unsigned>(header[i] - '0'), 1u << 30);
    std::fill(header + 148, header + 156, ' ');
    unsigned sum = 0;
    for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(header[i]);
    std::snprintf(header + 148, 8, "%06o", sum & 0777777);  // six digits and a NUL
    header[155] = ' ';
    pos += 512 + static_cast<std::size_t>((size + 511) / 512 * 512);
  }
}

bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin();
  auto it = p.begin();
  for (; r != root.end(); ++r, ++it)
    if (it == p.end() || *it != *r) return false;
  return true;
}

// After a successful extraction: only regular files, directories and symlinks, no setuid or
// setgid bit, and no symlink that resolves outside the destination.
void check_extracted_tree(const fs::path& code) {
  const fs::path root = fs::canonical(code);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(code, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_status st = it->symlink_status(ec);
    FUZZ_CHECK(fs::is_regular_file(st) || fs::is_directory(st) || fs::is_symlink(st),
               "unexpected file type at " + it->path().string());
    const auto perms = st.permissions();
    FUZZ_CHECK((perms & (fs::perms::set_uid | fs::perms::set_gid)) == fs::perms::none,
               "setuid/setgid bit kept on " + it->path().string());
    if (!fs::is_symlink(st)) continue;
    const fs::path resolved = fs::weakly_canonical(it->path(), ec);
    FUZZ_CHECK(!ec && inside(root, resolved),
               "symlink " + it->path().string() + " resolves to " + resolved.string());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& base = base_dir();
  const fs::path case_dir = base / "case";
  const fs::path archive = case_dir / "archive";
  const fs::path code = case_dir / "root" / "code";
  fs::create_directories(code);
  std::string bytes(reinterpret_cast<const char*>(data), size);
  fix_tar_checksums(bytes);
  smrun::fuzz::write_file(archive, bytes);

  // Small limits keep a decompression bomb from filling the disk during a long run.
  smrun::code::ExtractOptions options;
  options.max_total_bytes = 64u << 20;
  options.max_members = 10'000;
  const auto status = smrun::code::extract_archive_safely(archive, code, options);

  FUZZ_CHECK(entries(base) == std::set<std::string>{"case"}, "something escaped into <base>");
  FUZZ_CHECK((entries(case_dir) == std::set<std::string>{"archive", "root"}),
             "something escaped into <base>/case");
  FUZZ_CHECK(entries(case_dir / "root") == std::set<std::string>{"code"},
             "something escaped into <base>/case/root");
  if (!status) {
    FUZZ_CHECK(status.error().kind == smrun::base::ErrorKind::kCode, status.error().message);
    FUZZ_CHECK(status.error().message.find('\n') == std::string::npos, status.error().message);
    FUZZ_CHECK(entries(code).empty(),
               "failed extraction was not rolled back: " + status.error().message);
  } else {
    check_extracted_tree(code);
  }
  smrun::fuzz::remove_tree(case_dir);
  return 0;
}
