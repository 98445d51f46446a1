# cloudlog container image (docs/operations.md, "Docker"): Debian 12 slim, two stages.
# Build: docker build -t cloudlog .    Run: see docs/operations.md.
# No container runtime exists on the development machines; tests/docker/lint_dockerfile.sh
# lints this file (dockerfile-utils and the image's own rules) in CTest as lint.dockerfile.

# ---- build stage: compiler and -dev packages, only the cloudlog binary and man page ----
FROM debian:12-slim AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       build-essential cmake pkg-config \
       libmicrohttpd-dev libsqlite3-dev zlib1g-dev libdeflate-dev libisal-dev libssl-dev \
       libpcre2-dev libcurl4-openssl-dev libexpat1-dev libsystemd-dev libgnutls28-dev \
       libprotobuf-c-dev protobuf-c-compiler libmsgpack-dev libsnappy-dev libfyaml-dev \
       libcmocka-dev python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build /build --target cloudlog man -j "$(nproc)" \
    && DESTDIR=/out cmake --install /build --prefix /usr --strip

# ---- runtime stage: the shared libraries the binary links, curl for the health check ----
FROM debian:12-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libmicrohttpd12 libsqlite3-0 zlib1g libdeflate0 libisal2 libssl3 libpcre2-8-0 \
       libcurl4 libexpat1 libsystemd0 libgnutls30 libprotobuf-c1 libmsgpackc2 libsnappy1v5 \
       libfyaml0 \
       ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin cloudlog \
    && mkdir -p /data \
    && chown cloudlog:cloudlog /data
COPY --from=build /out/usr/bin/cloudlog /usr/bin/cloudlog
COPY --from=build /out/usr/libexec/cloudlog/ /usr/libexec/cloudlog/
COPY --from=build /out/usr/share/man/man1/ /usr/share/man/man1/
# Every option is a CLOUDLOG_* variable. Listening beyond loopback needs API keys: mount a
# key file and set CLOUDLOG_API_KEY_FILE, or set CLOUDLOG_INSECURE=1 on a private network.
ENV CLOUDLOG_DATA=/data \
    CLOUDLOG_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
USER cloudlog:cloudlog
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz > /dev/null || exit 1
# SIGTERM (docker stop) drains in-flight requests for up to CLOUDLOG_SHUTDOWN_TIMEOUT (30s):
# give `docker stop -t 40` or stop_grace_period: 40s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/cloudlog"]
CMD ["serve"]
