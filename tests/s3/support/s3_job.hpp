#pragma once

// Shared by the s3 tests: test data, and the environment of an `smrun train` job whose S3 is a
// test S3Server (credentials of s3rver, the machine's AWS settings and ~/.aws kept out).

#include <cstddef>
#include <string>

#include "e2e/job_fixture.hpp"

namespace smrun::test {

// n pseudo-random bytes, the same for the same seed (incompressible test objects).
std::string random_bytes(std::size_t n, unsigned seed);

// job.environment() plus isolated_child_env's AWS settings and HOME, S3_ENDPOINT_URL=endpoint,
// s3rver's keys and a 20 s retry budget, overlaid with `extra`.
e2e::Env s3_job_env(const e2e::JobDir& job, const std::string& endpoint, e2e::Env extra = {});

}  // namespace smrun::test
