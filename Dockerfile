# Multi-stage build: compile in the Rust image, run from a slim Debian with
# only CA certificates (for the email APIs and Postgres over TLS).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin pwreset

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/pwreset --create-home pwreset
COPY --from=build /src/target/release/pwreset /usr/local/bin/pwreset
USER pwreset
WORKDIR /var/lib/pwreset
ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["pwreset", "healthcheck", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["pwreset"]
CMD ["serve"]
