#include "smrun/metrics/csv_writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>

#include "smrun/base/fd_io.hpp"
#include "smrun/base/sys_error.hpp"

namespace smrun::metrics {

std::string csv_field(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void append_row(std::string& out, const Row& row) {
  fmt::format_to(std::back_inserter(out), "{:.3f},{},{},{},{}\n", row.time_s, csv_field(row.host),
                 csv_field(row.rank), csv_field(row.metric), row.value);
}

base::Expected<CsvWriter> CsvWriter::open(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid())
    return base::fail(base::ErrorKind::kInternal,
                      fmt::format("cannot create {}: {}", path.string(), base::errno_text(errno)));
  if (const int error = base::write_all(fd.get(), kCsvHeader); error != 0)
    return base::fail(base::ErrorKind::kInternal,
                      fmt::format("cannot write {}: {}", path.string(), base::errno_text(error)));
  CsvWriter writer;
  writer.m_path = path;
  writer.m_fd = std::move(fd);
  return writer;
}

void CsvWriter::add(const Row& row) {
  ++m_rows;
  if (m_failed) return;
  append_row(m_buffer, row);
  if (m_buffer.size() >= kBatchBytes) write_buffer();
}

void CsvWriter::write_buffer() {
  if (m_failed || m_buffer.empty()) {
    m_buffer.clear();
    return;
  }
  const int error = base::write_all(m_fd.get(), m_buffer);
  m_buffer.clear();
  if (error == 0) return;
  m_failed = true;
  m_failure = fmt::format("writing {}: {}; no more metric rows are written", m_path.string(),
                          base::errno_text(error));
}

base::Status CsvWriter::flush() {
  write_buffer();
  if (!m_failure) return {};
  std::string failure = std::move(*m_failure);
  m_failure.reset();
  return base::fail(base::ErrorKind::kInternal, std::move(failure));
}

}  // namespace smrun::metrics
