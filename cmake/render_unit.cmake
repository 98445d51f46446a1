# Renders deploy/systemd/cloudlog.service.in: cmake -DIN=... -DOUT=... -DCL_BINDIR=...
# -DCL_ENV_FILE=... -P render_unit.cmake. Used at install time (paths follow the prefix
# the install or CPack uses) and by the unit-verify test (paths into the build tree).
configure_file(${IN} ${OUT} @ONLY)
