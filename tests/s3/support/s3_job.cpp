#include "s3/support/s3_job.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>

#include "s3/support/loopback.hpp"
#include "s3/support/s3_server.hpp"

namespace smrun::test {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return out;
}

e2e::Env s3_job_env(const e2e::JobDir& job, const std::string& endpoint, e2e::Env extra) {
  e2e::Env env = job.environment();
  for (const auto& [k, v] : isolated_child_env(job.scratch() / "home"))
    if (k.rfind("AWS_", 0) == 0 || k == "HOME") env[k] = v;
  env["S3_ENDPOINT_URL"] = endpoint;
  env["AWS_ACCESS_KEY_ID"] = S3Server::kAccessKey;
  env["AWS_SECRET_ACCESS_KEY"] = S3Server::kSecretKey;
  env["SMRUN_S3_RETRY_SECONDS"] = "20";
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

}  // namespace smrun::test
