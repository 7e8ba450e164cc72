#include "smrun/report/failure_report.hpp"

#include <signal.h>
#include <string.h>

#include <fmt/format.h>
#include <algorithm>

#include "smrun/supervise/signals.hpp"

namespace smrun::report {
namespace {

using supervise::signal_name;

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  return lines;
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// Index of the first of the whole lines lines[first..end) that fit in `max_chars` together
// (each with its newline), counting back from `end`.
std::size_t first_fitting(const std::vector<std::string_view>& lines, std::size_t end,
                          std::size_t max_chars) {
  std::size_t used = 0;
  std::size_t first = end;
  while (first > 0) {
    std::size_t cost = lines[first - 1].size() + 1;
    if (used + cost > max_chars) break;
    used += cost;
    --first;
  }
  return first;
}

// lines[first..end), leading blank lines dropped (they carry nothing).
std::string join_lines(const std::vector<std::string_view>& lines, std::size_t first,
                       std::size_t end) {
  while (first < end && is_blank(lines[first])) ++first;
  std::string out;
  for (std::size_t i = first; i < end; ++i) {
    out.append(lines[i]);
    out.push_back('\n');
  }
  return out;
}

constexpr std::size_t kFullTailChars = 16 * 1024;

}  // namespace

std::string exception_line(std::string_view tail) {
  auto lines = split_lines(tail);
  constexpr std::string_view kHeader = "Traceback (most recent call last):";
  for (std::size_t i = lines.size(); i > 0; --i) {
    if (lines[i - 1].find(kHeader) == std::string_view::npos) continue;
    for (std::size_t j = i; j < lines.size(); ++j) {
      std::string_view l = lines[j];
      if (!l.empty() && l.front() != ' ' && l.front() != '\t') return std::string(l);
    }
    break;
  }
  for (std::size_t i = lines.size(); i > 0; --i)
    if (!is_blank(lines[i - 1])) return std::string(lines[i - 1].substr(0, 500));
  return {};
}

std::vector<std::string> error_lines(std::string_view output, std::size_t max_lines) {
  std::vector<std::string> out;
  for (std::string_view line : split_lines(output)) {
    if (line.rfind("ERROR:", 0) == 0 || line.rfind("error:", 0) == 0) {
      out.emplace_back(line.substr(0, 500));
      if (out.size() > max_lines) out.erase(out.begin());
    }
  }
  return out;
}

std::string compose_failure_report(const FailureFacts& f) {
  std::string where = f.host;
  if (f.rank) where += fmt::format(" (rank {})", *f.rank);
  std::string what;
  if (f.killed_on_second_interrupt && f.signal == SIGKILL) {
    what = "was killed with SIGKILL because SIGINT (Ctrl-C) came twice";
  } else if (f.killed_after_grace) {
    what = fmt::format(
        "did not exit within the {}s grace period after SIGTERM and was killed with SIGKILL",
        f.grace_seconds);
  } else if (f.signal == SIGKILL) {
    // The kernel's OOM killer is by far the most common sender of SIGKILL to a training job.
    what = "was killed by SIGKILL (signal 9, likely out of memory)";
  } else if (f.signal != 0) {
    what = fmt::format("was killed by {} (signal {}){}", signal_name(f.signal), f.signal,
                       f.core_dumped ? ", core dumped" : "");
  } else {
    what = fmt::format("exited with code {}", f.exit_code);
  }
  std::string headline = fmt::format("ExecuteUserScriptError: {} {} on {}", f.program, what, where);
  if (f.received_signal != 0)
    headline +=
        fmt::format(" after smrun received {} and forwarded it", signal_name(f.received_signal));
  headline += "\n";

  std::string out = headline;
  std::string detail = f.error_detail.value_or(exception_line(f.stderr_tail));
  if (!detail.empty()) out += detail + "\n";

  // The stderr tail appears once: its last lines right here, inside the window SageMaker shows
  // as FailureReason; the lines before those (up to kFullTailChars in all) after the command.
  auto lines = split_lines(f.stderr_tail);
  std::size_t window_first = lines.size();
  if (!lines.empty()) {
    constexpr std::string_view kTailTitle = "\nLast lines of stderr:\n";
    std::size_t room = kFailureReasonWindow > out.size() + kTailTitle.size()
                           ? kFailureReasonWindow - out.size() - kTailTitle.size()
                           : 0;
    window_first = first_fitting(lines, lines.size(), room);
    std::string tail = join_lines(lines, window_first, lines.size());
    if (!tail.empty()) out += std::string(kTailTitle) + tail;
  }
  if (!f.command.empty()) out += "\nCommand: " + f.command + "\n";
  if (window_first > 0) {
    std::size_t shown = 0;
    for (std::size_t i = window_first; i < lines.size(); ++i) shown += lines[i].size() + 1;
    const std::size_t room = kFullTailChars > shown ? kFullTailChars - shown : 0;
    std::string earlier = join_lines(lines, first_fitting(lines, window_first, room), window_first);
    if (!earlier.empty())
      out += "\nEarlier lines of stderr (before the last lines above):\n" + earlier;
  }
  return out;
}

std::string compose_error_report(const base::Error& error, const std::string& host,
                                 std::string_view detail) {
  std::string out =
      fmt::format("{}: {} (on {})\n", base::error_kind_name(error.kind), error.message, host);
  if (!detail.empty()) {
    out += "\n";
    out += detail;
    if (out.back() != '\n') out += "\n";
  }
  return out;
}

std::string scrub_secrets(std::string text, const std::vector<std::string>& secret_values) {
  for (const auto& secret : secret_values) {
    if (secret.size() < 4) continue;  // too short to scrub without mangling ordinary text
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), "****");
      pos += 4;
    }
  }
  return text;
}

}  // namespace smrun::report
