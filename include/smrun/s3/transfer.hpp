#pragma once

// Whole-object transfers: parallel ranged downloads to a file and (multipart) uploads of a file,
// with progress in the log for transfers that take more than one progress interval.

#include <cstdint>
#include <filesystem>
#include <memory>

#include "smrun/base/expected.hpp"
#include "smrun/s3/client.hpp"

namespace smrun::s3 {

struct TransferStats {
  std::uint64_t bytes = 0;
  int parts = 0;
  int retries = 0;
  double seconds = 0;
};

// Downloads `url` into `dest` (created or truncated; removed again on failure). The first ranged
// GET learns the size; the rest is fetched in part_size ranges by `concurrency` threads.
base::Expected<TransferStats, S3Failure> download_file(const std::shared_ptr<S3Context>& context,
                                                       const ObjectUrl& url,
                                                       const std::filesystem::path& dest);

// Uploads `source` to `url`: one PUT up to part_size, else a multipart upload whose parts go in
// parallel (aborted on failure, so no orphaned parts are billed).
base::Expected<TransferStats, S3Failure> upload_file(const std::shared_ptr<S3Context>& context,
                                                     const std::filesystem::path& source,
                                                     const ObjectUrl& url);

}  // namespace smrun::s3
