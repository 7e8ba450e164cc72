#pragma once

// CHALLENGE / HELLO / WELCOME / REFUSE: building and checking the handshake messages
// (internal). The token never travels: each side proves it with token_proof() over the other
// side's fresh nonce.

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "smrun/base/expected.hpp"
#include "smrun/cluster/cluster_config.hpp"

namespace smrun::cluster {

std::string make_nonce();  // 32 lowercase hex characters from getrandom()

nlohmann::json make_challenge(const ClusterConfig& config, const std::string& master_nonce);
nlohmann::json make_hello(const ClusterConfig& config, const std::string& master_nonce,
                          const std::string& worker_nonce);
nlohmann::json make_welcome(const ClusterConfig& config, const std::string& worker_nonce);
nlohmann::json make_refuse(const std::string& reason);

// What the master makes of a HELLO: the worker's host name (the error carries the refusal
// reason; `claimed_host` gets whatever name the HELLO claimed, for diagnostics).
// `joined` are the hosts already admitted; `accepting` is false once the job has started.
base::Expected<std::string> check_hello(const nlohmann::json& hello, const ClusterConfig& config,
                                        const std::string& master_nonce,
                                        const std::set<std::string>& joined, bool accepting,
                                        std::string& claimed_host);

// The worker's checks of the CHALLENGE and of the WELCOME; errors are complete messages.
base::Expected<std::string> check_challenge(const nlohmann::json& challenge,
                                            const ClusterConfig& config);  // -> master nonce
base::Status check_welcome(const nlohmann::json& reply, const ClusterConfig& config,
                           const std::string& worker_nonce);

}  // namespace smrun::cluster
