#pragma once

// SHA-256 (nettle) for the token proof: a one-way function over a nonce, so the shared token never
// crosses the network (see docs/cluster-protocol.md).

#include <string>
#include <string_view>

namespace smrun::cluster {

std::string sha256_hex(std::string_view data);  // lowercase hex, 64 characters

// What a peer sends to show it knows the shared token without sending it:
// sha256_hex("smrun-cluster-v1\n" + nonce + "\n" + token).
std::string token_proof(std::string_view token, std::string_view nonce);

}  // namespace smrun::cluster
