#include "smrun/s3/retry.hpp"

#include <algorithm>
#include <array>

namespace smrun::s3 {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt,
                                        std::mt19937_64& rng) {
  const int doublings = std::clamp(attempt - 1, 0, 30);
  const auto base = std::max<std::int64_t>(policy.base_delay.count(), 1);
  const std::int64_t ceiling =
      std::min<std::int64_t>(policy.max_delay.count(), base << std::min(doublings, 20));
  std::uniform_int_distribution<std::int64_t> jitter(0, std::max<std::int64_t>(ceiling, 0));
  return std::chrono::milliseconds(jitter(rng));
}

bool is_retryable_status(int http_status, std::string_view s3_code) {
  static constexpr std::array<std::string_view, 9> kCodes = {
      "SlowDown",        "RequestTimeout",      "InternalError",        "ServiceUnavailable",
      "Throttling",      "ThrottlingException", "RequestTimeTooSkewed", "RequestLimitExceeded",
      "OperationAborted"};
  if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504)
    return true;
  return std::find(kCodes.begin(), kCodes.end(), s3_code) != kCodes.end();
}

}  // namespace smrun::s3
