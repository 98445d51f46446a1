# Installation and the Debian package (docs/operations.md): `cmake --install <tree>` puts
# the binary, man pages, bash completion, systemd unit and environment file under the
# prefix; `cpack -G DEB --config <tree>/CPackConfig.cmake` makes cloudlog_<ver>_<arch>.deb
# with prefix /usr (tests/package/test_deb.sh builds, installs and removes it).
include(GNUInstallDirs)

install(TARGETS cloudlog RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/completions/cloudlog.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME cloudlog)
configure_file(cmake/install_service.cmake.in ${CMAKE_BINARY_DIR}/install_service.cmake @ONLY)
install(SCRIPT ${CMAKE_BINARY_DIR}/install_service.cmake)

# Man pages from the binary's own --help (help2man): cloudlog(1) and cloudlog-CMD(1) for
# each command, gzipped as Debian ships them. Without help2man they are left out.
find_program(HELP2MAN help2man)
find_program(GZIP gzip)
set(CL_MAN_COMMANDS serve status query tail partitions dlq alarms verify)
if(HELP2MAN AND GZIP)
  set(man_dir ${CMAKE_BINARY_DIR}/man)
  set(man_pages ${man_dir}/cloudlog.1.gz)
  add_custom_command(
    OUTPUT ${man_dir}/cloudlog.1.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${man_dir}
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
            "--name=fault-tolerant log aggregation pipeline" --output=${man_dir}/cloudlog.1
            $<TARGET_FILE:cloudlog>
    COMMAND ${GZIP} -n -9 -f ${man_dir}/cloudlog.1
    DEPENDS cloudlog COMMENT "help2man: cloudlog.1")
  foreach(cmd ${CL_MAN_COMMANDS})
    add_custom_command(
      OUTPUT ${man_dir}/cloudlog-${cmd}.1.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${man_dir}
      # The version string names the page cloudlog-CMD (help2man takes the program name
      # from its first word).
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
              "--name=the cloudlog ${cmd} command" "--help-option=${cmd} --help"
              "--version-string=cloudlog-${cmd} ${PROJECT_VERSION}"
              --output=${man_dir}/cloudlog-${cmd}.1
              $<TARGET_FILE:cloudlog>
      COMMAND ${GZIP} -n -9 -f ${man_dir}/cloudlog-${cmd}.1
      DEPENDS cloudlog COMMENT "help2man: cloudlog-${cmd}.1")
    list(APPEND man_pages ${man_dir}/cloudlog-${cmd}.1.gz)
  endforeach()
  add_custom_target(man ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man or gzip not found: no man pages (scripts/setup.sh installs help2man)")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cloudlog)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "cloudlog maintainers <cloudlog@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "fault-tolerant log aggregation pipeline")
set(CPACK_PACKAGE_DESCRIPTION
    "cloudlog accepts logs over HTTP (and syslog), keeps them in a durable queue and writes\n"
    "them as partitioned gzip NDJSON objects to a directory or S3; query, tail, metrics,\n"
    "alarms and a dashboard included. Runs under systemd as cloudlog.service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: computed by dpkg-shlibdeps from the libraries the binary links.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
include(CPack)
