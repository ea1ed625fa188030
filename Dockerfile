# syntax=docker/dockerfile:1
# ballotchain in a container: the server binary and its built site (the page bundle and
# its split page modules, both mining bundles, SIMD and scalar, and the cryptography
# workers), run as a user of its own. Multi-stage: the build tools stay in the first
# stage. compose.yaml runs three of these on one PostgreSQL database behind nginx;
# alone, it serves a SQLite file in its volume.
#
#   docker build -t ballotchain .
#   docker run -p 3000:3000 -v ballotchain:/var/lib/ballotchain ballotchain

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The tools first (cargo-leptos, wasm-bindgen-cli, wasm-opt): their layer is reused while
# only the sources change.
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh
COPY . .
RUN scripts/build-workers.sh \
 && PATH="/src/.tools/node_modules/.bin:$PATH" cargo leptos build --release --split

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/ballotchain ballotchain \
 && mkdir -p /var/lib/ballotchain/exports \
 && chown -R ballotchain:ballotchain /var/lib/ballotchain \
 && chmod 0700 /var/lib/ballotchain
COPY --from=build /src/target/release/ballotchain /usr/local/bin/ballotchain
COPY --from=build /src/target/site /srv/ballotchain/site
ENV LEPTOS_SITE_ROOT=/srv/ballotchain/site
USER ballotchain
WORKDIR /var/lib/ballotchain
VOLUME /var/lib/ballotchain
EXPOSE 3000
ENTRYPOINT ["ballotchain"]
CMD ["serve", "--addr", "0.0.0.0:3000", "--db", "/var/lib/ballotchain/ballotchain.db"]
