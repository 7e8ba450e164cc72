# Renders env-spec/variables.json (the one source of every variable smrun reads or sets) as a
# C++ table for `smrun <command> --help`: generated/smrun_env_spec.hpp, rewritten only when its
# text changes. Included from CMakeLists.txt; re-run whenever the JSON changes.
set(spec_file "${PROJECT_SOURCE_DIR}/env-spec/variables.json")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${spec_file}")
file(READ "${spec_file}" spec)
string(JSON count LENGTH "${spec}" variables)
math(EXPR last "${count} - 1")
set(rows "")
foreach(i RANGE ${last})
  string(JSON direction GET "${spec}" variables ${i} direction)
  if(NOT direction STREQUAL "reads")
    continue()
  endif()
  string(JSON name GET "${spec}" variables ${i} name)
  string(JSON format GET "${spec}" variables ${i} format)
  string(JSON meaning GET "${spec}" variables ${i} meaning)
  string(APPEND rows "    {R\"smrun(${name})smrun\", R\"smrun(${format})smrun\", R\"smrun(${meaning})smrun\"},\n")
endforeach()
set(text "// Generated from env-spec/variables.json by cmake/env_spec_table.cmake: do not edit.
#pragma once

#include <array>
#include <string_view>

namespace smrun::cli::generated {

struct EnvSpecEntry {
  std::string_view name;
  std::string_view format;
  std::string_view meaning;
};

// Every variable smrun reads, in the order of env-spec/variables.json.
inline constexpr EnvSpecEntry kReadVariables[] = {
${rows}};

}  // namespace smrun::cli::generated
")
set(out "${PROJECT_BINARY_DIR}/generated/smrun_env_spec.hpp")
include("${CMAKE_CURRENT_LIST_DIR}/write_if_changed.cmake")
smrun_write_if_changed("${out}" "${text}")

# The SMRUN_* settings' value rules (type, range, default, choices) for src/settings: the one
# parser of smrun's own settings validates every value against this table.
set(rules "")
foreach(i RANGE ${last})
  string(JSON name GET "${spec}" variables ${i} name)
  string(JSON setting ERROR_VARIABLE no_setting GET "${spec}" variables ${i} setting)
  if(no_setting)
    continue()
  endif()
  string(JSON type GET "${setting}" type)
  string(JSON min ERROR_VARIABLE no_min GET "${setting}" min)
  string(JSON max ERROR_VARIABLE no_max GET "${setting}" max)
  if(no_min OR no_max)
    set(min 0)
    set(max 0)
  endif()
  string(JSON default ERROR_VARIABLE no_default GET "${setting}" default)
  set(has_default true)
  if(no_default)
    set(default "")
    set(has_default false)
  endif()
  string(JSON extra ERROR_VARIABLE no_extra GET "${setting}" extra)
  if(no_extra)
    set(extra "")
  endif()
  set(choices "")
  string(JSON nchoices ERROR_VARIABLE no_choices LENGTH "${setting}" choices)
  if(NOT no_choices AND nchoices GREATER 0)
    math(EXPR last_choice "${nchoices} - 1")
    foreach(c RANGE ${last_choice})
      string(JSON choice GET "${setting}" choices ${c})
      if(choices STREQUAL "")
        set(choices "${choice}")
      else()
        string(APPEND choices "|${choice}")
      endif()
    endforeach()
  endif()
  string(APPEND rules "    {R\"smrun(${name})smrun\", R\"smrun(${type})smrun\", ${min}, ${max}, R\"smrun(${default})smrun\", ${has_default}, R\"smrun(${choices})smrun\", R\"smrun(${extra})smrun\"},\n")
endforeach()
set(settings_text "// Generated from env-spec/variables.json by cmake/env_spec_table.cmake: do not edit.
#pragma once

#include <string_view>

namespace smrun::settings::generated {

// One SMRUN_* setting's value rule. type: int (min..max), switch (1/0, true/false, yes/no,
// on/off, plus `extra` when set), choice (one of `choices`, '|'-separated), string, path, argv
// (a JSON array of strings), argv_or_path (that, or one program path), host_addresses
// (name=address,...), rank_set (0,8-15).
struct SettingRule {
  std::string_view name;
  std::string_view type;
  long long min;
  long long max;
  std::string_view default_value;
  bool has_default;
  std::string_view choices;
  std::string_view extra;
};

inline constexpr SettingRule kSettingRules[] = {
${rules}};

}  // namespace smrun::settings::generated
")
smrun_write_if_changed("${PROJECT_BINARY_DIR}/generated/smrun_settings_table.hpp" "${settings_text}")
