#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smrun::base {

// Whether a variable or hyperparameter name looks like it holds a secret. The rule works on the
// name's segments, never on substrings: the name is cut at every character that is not a letter
// or digit (`_`, `-`, `.`, space, ...) and between a lower-case letter or digit and an upper-case
// letter (camelCase; `APIKey` -> `API`, `Key`), then compared case-insensitively. Secret when
// - a segment is password, passwd, passphrase, secret, secrets, token, credential, credentials,
//   auth, authorization, or one of the joined forms apikey, accesskey, privatekey, secretkey,
//   authtoken; or
// - two neighbouring segments are api+key, access+key or private+key.
// So `db_password`, `HF_TOKEN`, `WANDB_API_KEY`, `AWS_SECRET_ACCESS_KEY`, `apiKey` are secret;
// `max_tokens`, `tokenizer`, `keys`, `key`, `monkey`, `primary_key_column` are not.
bool is_secret_name(std::string_view name);

// The segments is_secret_name compares, lower-cased (exposed for tests and documentation).
std::vector<std::string> name_segments(std::string_view name);

inline constexpr const char* kRedacted = "****";

}  // namespace smrun::base
