# The release artifacts of the static build (SMRUN_STATIC=ON; scripts/package.sh drives this):
#
# - <build>/dist/smrun: the static smrun, stripped (--strip-debug --strip-unneeded), with a GNU
#   debuglink to smrun.debug beside it (gdb and eu-stack find the symbols there);
# - <build>/dist/smrun.debug: its debug info (objcopy --only-keep-debug);
# - `cpack`: smrun_<version>_<arch>.deb, installing the stripped binary as /usr/bin/smrun, with
#   no dependencies (the binary needs no shared library).
set(SMRUN_DIST_DIR ${PROJECT_BINARY_DIR}/dist)
add_custom_command(
  OUTPUT ${SMRUN_DIST_DIR}/smrun ${SMRUN_DIST_DIR}/smrun.debug
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SMRUN_DIST_DIR}
  COMMAND ${CMAKE_OBJCOPY} --only-keep-debug $<TARGET_FILE:smrun> ${SMRUN_DIST_DIR}/smrun.debug
  COMMAND chmod 0644 ${SMRUN_DIST_DIR}/smrun.debug
  # Run in dist/ so that the debuglink records the bare name "smrun.debug".
  COMMAND ${CMAKE_OBJCOPY} --strip-debug --strip-unneeded --add-gnu-debuglink=smrun.debug
          $<TARGET_FILE:smrun> ${SMRUN_DIST_DIR}/smrun
  WORKING_DIRECTORY ${SMRUN_DIST_DIR}
  DEPENDS smrun
  COMMENT "Stripping smrun into dist/smrun + dist/smrun.debug"
  VERBATIM)
add_custom_target(smrun_dist ALL DEPENDS ${SMRUN_DIST_DIR}/smrun ${SMRUN_DIST_DIR}/smrun.debug)

install(PROGRAMS ${SMRUN_DIST_DIR}/smrun DESTINATION bin)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME smrun)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "smrun maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "native entrypoint for SageMaker training containers")
set(CPACK_PACKAGE_DESCRIPTION
    "smrun reads /opt/ml/input/config, exports the SM_* environment of AWS's "
    "sagemaker-training-toolkit, fetches the user's code, runs it as a correct PID 1 and packs "
    "the model. One static binary: it needs no shared library and no Python to start.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3, python3-pip")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
set(CPACK_STRIP_FILES OFF)
include(CPack)
