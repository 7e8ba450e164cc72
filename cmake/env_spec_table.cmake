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
