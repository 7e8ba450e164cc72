#pragma once

// Getting the user's code into the code directory (reference: files.download_and_extract).

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "smrun/base/expected.hpp"

namespace smrun::code {

// Brings a remote submit directory (s3://...) into `scratch_dir` and returns the local file.
// The code area knows no remote protocol; cli passes the S3 downloader.
using RemoteFetch = std::function<base::Expected<std::filesystem::path>(
    const std::string& uri, const std::filesystem::path& scratch_dir)>;

// "file:///abs/p%20q" -> "/abs/p q" (RFC 8089: an empty host or "localhost" only). Errors (kCode)
// name `what` and the URI: "submit directory file://x/y must be file:///absolute/path ...".
base::Expected<std::filesystem::path> file_uri_to_path(const std::string& uri,
                                                       std::string_view what = "submit directory");

// Fills `code_dir` (created if missing) from `submit_uri`:
//   - code_dir already non-empty: nothing happens (code baked into the image wins; logged);
//   - "" : nothing to fetch;
//   - "s3://...": `fetch_remote` downloads it into a scratch directory beside code_dir; it must be
//     a tar archive (any compression the extractor knows), which is extracted safely; anything
//     else is a kCode error naming the URL. Without a fetcher: kCode error;
//   - "file:///abs/path" (or "file://localhost/abs/path"): the local path, percent-decoded;
//     any other host or scheme is a kCode error;
//   - a local directory: its tree is copied in (symlinks kept as symlinks, modes and mtimes
//     kept, source untouched), unless it is code_dir itself;
//   - a local tar file (plain or compressed, detected by content): extracted safely;
//   - any other local file: copied into code_dir under its own name.
// A missing path is a kCode error naming it. On failure code_dir is left empty again.
base::Status prepare_code_dir(const std::string& submit_uri, const std::filesystem::path& code_dir,
                              const RemoteFetch& fetch_remote = {});

}  // namespace smrun::code
