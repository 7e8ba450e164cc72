#include "smrun/cluster/sha256.hpp"

#include <nettle/sha2.h>

#include <array>

namespace smrun::cluster {

// nettle is already loaded with libarchive, so the proof costs no extra dependency.
std::string sha256_hex(std::string_view data) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
  std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest{};
  sha256_digest(&ctx, digest.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (std::uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string token_proof(std::string_view token, std::string_view nonce) {
  std::string input = "smrun-cluster-v1\n";
  input.append(nonce);
  input.push_back('\n');
  input.append(token);
  return sha256_hex(input);
}

}  // namespace smrun::cluster
