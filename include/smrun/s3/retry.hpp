#pragma once

// When and how long to wait before trying a request again: exponential backoff with full jitter,
// bounded by a number of attempts and by a total time for the whole operation.

#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

namespace smrun::s3 {

struct RetryPolicy {
  int max_attempts = 10;                                      // SMRUN_S3_MAX_ATTEMPTS
  std::chrono::milliseconds total{std::chrono::minutes(10)};  // SMRUN_S3_RETRY_SECONDS
  std::chrono::milliseconds base_delay{100};
  std::chrono::milliseconds max_delay{std::chrono::seconds(20)};
};

// Delay before attempt `attempt` + 1 (attempt counts from 1): uniform in [0, min(max_delay,
// base_delay * 2^(attempt-1))], so many clients throttled together spread out.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt,
                                        std::mt19937_64& rng);

// S3 answers worth retrying: 500, 502, 503, 504 and the throttling/timeout error codes
// (SlowDown, RequestTimeout, InternalError, ServiceUnavailable, Throttling, ...).
bool is_retryable_status(int http_status, std::string_view s3_code);

}  // namespace smrun::s3
