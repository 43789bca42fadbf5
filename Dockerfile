# Multi-stage build: a static (CGO_ENABLED=0) binary on a distroless base,
# running as a non-root user with its data in the /data volume.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/messagebridge ./cmd/messagebridge \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/messagebridge /usr/local/bin/messagebridge
COPY --from=build --chown=65532:65532 /out/data /data
ENV MB_DATA_DIR=/data \
    MB_HTTP_ADDR=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/messagebridge"]
CMD ["serve"]
