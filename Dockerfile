# syntax=docker/dockerfile:1

# The latch server: a static binary on distroless (CA certificates, no
# shell), run as the unprivileged user 65532, its data on the /data volume.
#
#   docker build -t latch .
#   docker run -d --name latch -p 8080:8080 -v latch-data:/data \
#     -e LATCH_ISSUER=https://auth.example.com latch
#   docker exec -i latch latch user add --email alice@example.com --password-stdin --role admin < password.txt
#
# Every flag of "latch serve" has a LATCH_* variable (latch serve --help);
# set LATCH_ISSUER to the URL clients reach. LATCH_DATA and LATCH_ADDR are
# set here, so that "docker exec ... latch user|keys|client|revoke" and the
# health check find the same data directory and address as the server.
# See docs/operations.md.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/latch ./cmd/latch \
 && install -d -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/latch /usr/local/bin/latch
COPY --from=build --chown=65532:65532 /out/data /data
ENV LATCH_DATA=/data LATCH_ADDR=0.0.0.0:8080
USER 65532:65532
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/latch", "healthcheck", "--timeout", "3s"]
ENTRYPOINT ["/usr/local/bin/latch"]
CMD ["serve"]
