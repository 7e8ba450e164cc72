#include "smrun/metrics/definitions.hpp"

#include <fmt/format.h>

#include <regex>

#include "smrun/base/printable.hpp"
#include "smrun/config/py_json.hpp"

namespace smrun::metrics {
namespace {

base::Unexpected<base::Error> bad(std::string message) {
  return base::fail(base::ErrorKind::kConfig, std::move(message));
}

}  // namespace

base::Expected<std::vector<MetricDefinition>> parse_definitions(std::string_view json) {
  auto doc = config::parse_py_json(json);
  if (!doc) return bad("invalid JSON: " + config::format_json_error(doc.error()));
  if (!doc->is_list()) return bad("a JSON list of {\"Name\": ..., \"Regex\": ...} objects");
  std::vector<MetricDefinition> out;
  std::size_t index = 0;
  for (const config::PyValue& item : doc->as_list()) {
    ++index;
    if (!item.is_dict())
      return bad(fmt::format("definition {}: an object {{\"Name\": ..., \"Regex\": ...}}", index));
    const config::PyValue* name = item.find("Name");
    if (name == nullptr || !name->is_str() || name->as_str().empty())
      return bad(fmt::format("definition {}: a non-empty string \"Name\"", index));
    const std::string where =
        fmt::format("definition {} (\"{}\")", index, base::printable(name->as_str()));
    const config::PyValue* regex = item.find("Regex");
    if (regex == nullptr || !regex->is_str() || regex->as_str().empty())
      return bad(where + ": a non-empty string \"Regex\"");
    try {
      const std::regex compiled(regex->as_str(), std::regex::ECMAScript);
      if (compiled.mark_count() < 1)
        return bad(fmt::format(
            "{}: a \"Regex\" with a capture group around the value, e.g. \"loss=([0-9.eE+-]+)\" "
            "(\"{}\" has none)",
            where, base::printable(regex->as_str())));
    } catch (const std::regex_error& e) {
      return bad(fmt::format("{}: a valid ECMAScript \"Regex\" (\"{}\": {})", where,
                             base::printable(regex->as_str()), e.what()));
    }
    for (const MetricDefinition& earlier : out)
      if (earlier.name == name->as_str()) return bad(where + ": each \"Name\" once");
    out.push_back(MetricDefinition{name->as_str(), regex->as_str()});
  }
  return out;
}

}  // namespace smrun::metrics
