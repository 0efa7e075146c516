# One image for the sidecar (daemon + worker) and the collector.
#   collector: the default command (see manifests/base/deployment.yaml; its node flag is collector/node-flags.ts)
#   sidecar:   /usr/bin/tini -s -- /opt/podpulse/bin/podpulse-sidecar (set by the injection webhook)
# The bundles are self-contained (esbuild), so the runtime stage carries no node_modules and no npm. It runs as
# uid 65532 and writes nothing outside its mounted volumes, so it works with a read-only root filesystem.
# test/integration/webhook/image.test.ts checks these properties (no container engine in CI).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node build.mjs

FROM node:24-bookworm-slim
# tini reaps the worker and command children; curl, dig (dnsutils), ip/ss (iproute2), ps (procps) and nc are the
# tools the default command templates run, so troubleshooting works even when the app image is distroless.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates curl dnsutils iproute2 procps netcat-openbsd \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /opt/podpulse
COPY --from=build /src/dist/ ./dist/
COPY --chmod=0755 docker/podpulse-sidecar ./bin/podpulse-sidecar
# The collector's V8 code cache (collector/node-flags.ts): the Deployment points NODE_COMPILE_CACHE here.
RUN NODE_COMPILE_CACHE=/opt/podpulse/compile-cache node --max-semi-space-size=8 /opt/podpulse/dist/collector.mjs --check-config
ENV NODE_ENV=production
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["--max-semi-space-size=8", "/opt/podpulse/dist/collector.mjs"]
