# SMRUN_STATIC=ON (scripts/package.sh): smrun as one fully static executable that runs on any
# x86-64 Linux, whatever its libc. Included by the top-level CMakeLists.txt before any
# find_package(), so that every dependency resolves to its static archive:
#
# - find_library() and pkg_check_modules() see only .a files; Boost and OpenSSL are asked for
#   their static libraries by their own switches;
# - fmt and spdlog: Debian ships them as shared libraries only. fmt is header-only here; spdlog
#   is compiled once from its headers (cmake/static/spdlog.cpp; header-only spdlog would add
#   seconds to each of the ~20 files that log). fmt::fmt and spdlog::spdlog are defined below,
#   and find_package(fmt/spdlog) then reuses them instead of importing the .so;
# - libarchive.a names none of its own dependencies: the ones the formats and filters smrun
#   enables need (tar; gzip, bzip2, xz, zstd; writing to disk with ACLs; nettle for its hashes)
#   are added to its target. smrun calls only those formats and filters, but the pax writer's
#   object file needs a helper that lives in archive_write_set_format.o, beside the table of
#   every writer (xar included, which needs libxml2). --gc-sections drops the unreferenced
#   writers again (libarchive.a is built with one section per function): no libxml2, no ICU,
#   and a smaller binary. Should smrun ever reach a writer that needs more, the link fails with
#   its undefined symbols instead of silently growing;
# - pugixml's package target points at its shared library: it is redirected to the static one.
#
# glibc's static libc warns at link time that getaddrinfo/getpwnam/dlopen "require at runtime
# the shared libraries from the glibc version used for linking". Expected and harmless here:
# since glibc 2.34 the files and dns lookups are built into libc, so /etc/hosts and DNS work
# without any libnss_*.so.
if(SMRUN_SANITIZE OR SMRUN_BUILD_FUZZERS)
  message(FATAL_ERROR "SMRUN_STATIC cannot be combined with SMRUN_SANITIZE or SMRUN_BUILD_FUZZERS")
endif()

set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(BUILD_SHARED_LIBS OFF)
set(Boost_USE_STATIC_LIBS ON)
set(OPENSSL_USE_STATIC_LIBS TRUE)
set(THREADS_PREFER_PTHREAD_FLAG ON)
add_link_options(-static -static-libgcc -static-libstdc++ -Wl,--gc-sections)

find_package(Threads REQUIRED)

add_library(fmt::fmt INTERFACE IMPORTED)
set_target_properties(fmt::fmt PROPERTIES INTERFACE_COMPILE_DEFINITIONS "FMT_HEADER_ONLY=1")
add_library(fmt::fmt-header-only INTERFACE IMPORTED)
set_target_properties(fmt::fmt-header-only PROPERTIES INTERFACE_LINK_LIBRARIES fmt::fmt)
# Debian's spdlog is configured for an external fmt (tweakme.h).
add_library(smrun_spdlog_compiled STATIC ${CMAKE_CURRENT_LIST_DIR}/static/spdlog.cpp)
target_compile_definitions(smrun_spdlog_compiled PUBLIC SPDLOG_COMPILED_LIB SPDLOG_FMT_EXTERNAL)
target_link_libraries(smrun_spdlog_compiled PUBLIC fmt::fmt Threads::Threads)
add_library(spdlog::spdlog INTERFACE IMPORTED)
set_target_properties(spdlog::spdlog PROPERTIES INTERFACE_LINK_LIBRARIES smrun_spdlog_compiled)
add_library(spdlog::spdlog_header_only INTERFACE IMPORTED)
set_target_properties(spdlog::spdlog_header_only PROPERTIES INTERFACE_LINK_LIBRARIES spdlog::spdlog)

find_package(LibArchive REQUIRED)
foreach(lib acl lzma zstd bz2 z nettle)
  find_library(SMRUN_STATIC_LIB_${lib} NAMES ${lib} REQUIRED)
  set_property(TARGET LibArchive::LibArchive APPEND PROPERTY
    INTERFACE_LINK_LIBRARIES "${SMRUN_STATIC_LIB_${lib}}")
endforeach()

find_package(pugixml QUIET)
if(TARGET pugixml::pugixml AND TARGET pugixml::static)
  set_target_properties(pugixml::pugixml PROPERTIES INTERFACE_LINK_LIBRARIES pugixml::static)
endif()
