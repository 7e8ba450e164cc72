#include "smrun/s3/s3_xml.hpp"

#include <pugixml.hpp>
#include <sstream>

namespace smrun::s3 {

namespace {

bool load(pugi::xml_document& doc, std::string_view body) {
  // parse_default without DOCTYPE handling: pugixml never fetches or expands external entities.
  return static_cast<bool>(doc.load_buffer(body.data(), body.size(), pugi::parse_default));
}

std::string text_of(const pugi::xml_node& parent, const char* name) {
  return parent.child(name).text().as_string();
}

}  // namespace

std::optional<S3ErrorBody> parse_error_body(std::string_view body) {
  pugi::xml_document doc;
  if (!load(doc, body)) return std::nullopt;
  const pugi::xml_node error = doc.child("Error");
  if (!error) return std::nullopt;
  S3ErrorBody out;
  out.code = text_of(error, "Code");
  out.message = text_of(error, "Message");
  out.region = text_of(error, "Region");
  out.endpoint = text_of(error, "Endpoint");
  out.request_id = text_of(error, "RequestId");
  return out;
}

std::optional<std::string> parse_upload_id(std::string_view body) {
  pugi::xml_document doc;
  if (!load(doc, body)) return std::nullopt;
  const pugi::xml_node id = doc.child("InitiateMultipartUploadResult").child("UploadId");
  if (!id || std::string_view(id.text().as_string()).empty()) return std::nullopt;
  return std::string(id.text().as_string());
}

std::string complete_multipart_body(const std::vector<std::pair<int, std::string>>& parts) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  for (const auto& [number, etag] : parts) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text().set(number);
    part.append_child("ETag").text().set(etag.c_str());
  }
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

}  // namespace smrun::s3
