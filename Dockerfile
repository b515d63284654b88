# tickerd in a container: built on Debian 12 as `make build-release` builds
# it, run on Debian 12 slim as an unprivileged user with only the binary,
# the quote board and the shared libraries it links.
#   docker build -t tickerd .
#   docker run --rm -p 8080:8080 -e APCA_API_KEY_ID -e APCA_API_SECRET_KEY tickerd \
#       run --url wss://stream.data.alpaca.markets/v2/iex --listen 0.0.0.0:8080 --client demo:demo

FROM debian:12 AS build
# scripts/deps.sh build's packages (git: the commit --version prints;
# libhiredis-dev: CMake wants it for a benchmark, tickerd does not link it)
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libuv1-dev libwebsockets-dev libwebsockets-evlib-uv libhiredis-dev libcurl4-openssl-dev \
      libpq-dev libsqlite3-dev libssl-dev libjsmn-dev libinih-dev libmsgpack-dev libzstd-dev \
      git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release \
    && cmake --build --preset release \
    && strip build/release/tickerd

FROM debian:12-slim
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      libuv1 libwebsockets17 libwebsockets-evlib-uv libcurl4 libpq5 \
      libsqlite3-0 libssl3 libinih1 libmsgpackc2 libzstd1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin tickerd
# The installed layout: bin/tickerd finds ../share/tickerd/web by itself.
COPY --from=build /src/build/release/tickerd /usr/local/bin/tickerd
COPY --from=build /src/web /usr/local/share/tickerd/web
# numeric, so that a runtime checking runAsNonRoot can tell without /etc/passwd
USER 10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tickerd"]
CMD ["--help"]
