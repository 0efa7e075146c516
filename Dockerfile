# One image for the sidecar daemon and the collector. Build stage bundles with esbuild; the runtime stage carries
# only the bundles and the production dependencies that stay external.
# Not yet verified by a container build in CI (no Docker engine there); the delivery capability completes it
# (tini as PID 1, troubleshooting tools, read-only root filesystem checks).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node build.mjs && npm prune --omit=dev

FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/podpulse
COPY --from=build /src/dist ./dist
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["dist/collector.mjs"]
