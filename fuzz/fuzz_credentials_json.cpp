// Fuzzes s3::parse_credentials_json (the document of a container credentials endpoint or IMDS)
// and s3::parse_iso8601 (its Expiration).
//
// Invariants, for every input:
// - neither crashes (nor overflows: UBSan) and both are deterministic;
// - a rejected document gets one kCode line starting with the source name, which never contains
//   the document's SecretAccessKey or Token (when they are strings of 8 characters or more that
//   are not part of the messages' own wording);
// - an accepted document's AccessKeyId and SecretAccessKey are non-empty, and they and the Token
//   are printable ASCII without spaces (safe in a header) and equal the document's values (read
//   again with config::parse_py_json, Python's json.loads as botocore uses it); an expiration
//   exists exactly when Expiration is a non-null value; the source is the one given;
// - a time parse_iso8601 accepts is at least "YYYY-MM-DDTHH:MM:SSZ" long.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "smrun/config/py_json.hpp"
#include "smrun/s3/credentials.hpp"

namespace {

bool header_safe(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// Every fixed word smrun's messages use. A "secret" that is a piece of this wording (the fuzzer
// found a Token "SecretAc", part of the message `the response has no "SecretAccessKey"`) is
// in the message without having leaked from the document.
constexpr std::string_view kWording =
    "SRC: the response is not valid JSON (error at character a number out of range) the response "
    "is "
    "not a JSON object the endpoint answered Code instead of Success (unprintable) the response "
    "has no \"AccessKeyId\" \"SecretAccessKey\" \"Token\" \"Expiration\" in the response is "
    "not a string in the response is empty in the response has characters that cannot be sent "
    "(whitespace, control or non-ASCII) is not an ISO 8601 time such as 2019-05-29T00:21:43Z";

using smrun::config::PyValue;

std::string string_field(const PyValue* doc, const char* name) {
  if (doc == nullptr || !doc->is_dict()) return "";
  const PyValue* it = doc->find(name);
  return it != nullptr && it->is_str() ? it->as_str() : "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto when = smrun::s3::parse_iso8601(text);
  FUZZ_CHECK(when == smrun::s3::parse_iso8601(text), "parse_iso8601 not deterministic");
  if (when) FUZZ_CHECK(text.size() >= 20, std::string(text));

  const auto read = smrun::config::parse_py_json(text);
  const PyValue* doc = read ? &*read : nullptr;
  auto parsed = smrun::s3::parse_credentials_json(text, "SRC");
  auto again = smrun::s3::parse_credentials_json(text, "SRC");
  FUZZ_CHECK(parsed.has_value() == again.has_value(), "not deterministic");
  if (!parsed) {
    const std::string& message = parsed.error().message;
    FUZZ_CHECK(parsed.error().kind == smrun::base::ErrorKind::kCode, message);
    FUZZ_CHECK(message == again.error().message, "not deterministic: " + message);
    FUZZ_CHECK(message.rfind("SRC: ", 0) == 0, message);
    FUZZ_CHECK(message.find_first_of("\r\n") == std::string::npos, message);
    // A Code other than Success: the one message with a part taken from the document, and that
    // part is the Code itself (a secret can overlap it and the wording around it, as the fuzzer
    // found: "wered Code SuI/..."), so the message is checked exactly instead.
    constexpr std::string_view kCodePrefix = "SRC: the endpoint answered Code ";
    if (message.rfind(kCodePrefix, 0) == 0) {
      FUZZ_CHECK(doc != nullptr && doc->is_dict() && doc->find("Code") != nullptr, message);
      const PyValue& code_value = *doc->find("Code");
      const std::string shown =
          code_value.is_str() ? code_value.as_str() : smrun::config::dump_py_json(code_value);
      const bool printable = header_safe(shown) && shown.size() <= 64;
      FUZZ_CHECK(message == std::string(kCodePrefix) + (printable ? shown : "(unprintable)") +
                                " instead of Success",
                 message);
      return 0;
    }
    const std::string code = string_field(doc, "Code");
    for (const char* name : {"SecretAccessKey", "Token"}) {
      const std::string secret = string_field(doc, name);
      if (secret.size() >= 8 && code.find(secret) == std::string::npos &&
          kWording.find(secret) == std::string_view::npos)
        FUZZ_CHECK(message.find(secret) == std::string::npos,
                   std::string(name) + " leaked: " + message);
    }
    return 0;
  }
  const auto& c = *parsed;
  FUZZ_CHECK(doc != nullptr && doc->is_dict(), "accepted a non-object");
  FUZZ_CHECK(c.source == "SRC", c.source);
  FUZZ_CHECK(!c.keys.access_key_id.empty() && !c.keys.secret_access_key.empty(), "empty key");
  FUZZ_CHECK(header_safe(c.keys.access_key_id) && header_safe(c.keys.secret_access_key) &&
                 header_safe(c.keys.session_token),
             "unsendable key");
  FUZZ_CHECK(c.keys.access_key_id == string_field(doc, "AccessKeyId"), "AccessKeyId differs");
  FUZZ_CHECK(c.keys.secret_access_key == string_field(doc, "SecretAccessKey"), "secret differs");
  FUZZ_CHECK(c.keys.session_token == string_field(doc, "Token"), "Token differs");
  const PyValue* exp = doc->find("Expiration");
  FUZZ_CHECK(c.expiration.has_value() == (exp != nullptr && !exp->is_none()), "Expiration");
  if (c.expiration)
    FUZZ_CHECK(exp->is_str() && c.expiration == smrun::s3::parse_iso8601(exp->as_str()),
               "Expiration value");
  return 0;
}
