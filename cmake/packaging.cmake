# Installation and the Debian package (docs/operations.md): `cmake --install <tree>` puts
# the binary, man pages, bash completion, systemd unit and environment file under the
# prefix; `cpack -G DEB --config <tree>/CPackConfig.cmake` makes cloudlog_<ver>_<arch>.deb
# with prefix /usr (tests/package/test_deb.sh builds, installs and removes it).
include(GNUInstallDirs)

install(TARGETS cloudlog RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The full binary, which the front in BINDIR runs for every command but a local query
# (src/cli/lean_main.c finds it at ../libexec/cloudlog/cloudlog).
install(TARGETS cloudlog_full RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/cloudlog)
configure_file(cmake/install_service.cmake.in ${CMAKE_BINARY_DIR}/install_service.cmake @ONLY)
install(SCRIPT ${CMAKE_BINARY_DIR}/install_service.cmake)

# The man page and the bash completion, generated from the option tables by the binary
# itself (`cloudlog help --man`, `cloudlog help --completions bash`; src/cli/cmd_help.c), so
# they list every option; the man page gzipped as Debian ships it.
# deploy/completions/cloudlog.bash is the same generated script, checked in
# (package.generated_docs fails when it is stale).
find_program(GZIP gzip REQUIRED)
set(gen_dir ${CMAKE_BINARY_DIR}/generated-docs)
add_custom_command(
  OUTPUT ${gen_dir}/cloudlog.1.gz ${gen_dir}/cloudlog.bash
  COMMAND ${CMAKE_COMMAND} -E make_directory ${gen_dir}
  COMMAND $<TARGET_FILE:cloudlog> help --man > ${gen_dir}/cloudlog.1
  COMMAND ${GZIP} -n -9 -f ${gen_dir}/cloudlog.1
  COMMAND $<TARGET_FILE:cloudlog> help --completions bash > ${gen_dir}/cloudlog.bash
  DEPENDS cloudlog COMMENT "cloudlog help: man page and bash completion")
# cloudlog-COMMAND(1) (the unit's Documentation=man:cloudlog-serve(1)) point at cloudlog(1),
# which documents every command.
set(man_pages ${gen_dir}/cloudlog.1.gz)
foreach(cmd serve status query tail partitions dlq alarms verify patterns anomalies config)
  file(WRITE ${gen_dir}/stub/cloudlog-${cmd}.1 ".so man1/cloudlog.1\n")
  add_custom_command(
    OUTPUT ${gen_dir}/cloudlog-${cmd}.1.gz
    COMMAND ${GZIP} -n -9 -c ${gen_dir}/stub/cloudlog-${cmd}.1 > ${gen_dir}/cloudlog-${cmd}.1.gz
    DEPENDS ${gen_dir}/stub/cloudlog-${cmd}.1)
  list(APPEND man_pages ${gen_dir}/cloudlog-${cmd}.1.gz)
endforeach()
add_custom_target(man ALL DEPENDS ${man_pages} ${gen_dir}/cloudlog.bash)
install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${gen_dir}/cloudlog.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME cloudlog)

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
