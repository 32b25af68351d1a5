# syntax=docker/dockerfile:1
# llm-logger: one image for every role (the CLI is the entrypoint).
#   docker build -t llm-logger:0.1.0 .
#   docker run --rm -p 127.0.0.1:8080:8080 -p 127.0.0.1:3000:3000 -e LLM_LOGGER_GATEWAY_HOST=0.0.0.0 \
#     -e LLM_LOGGER_GATEWAY_AUTH=none -e LLM_LOGGER_INGEST_AUTH=none \
#     -e LLM_LOGGER_CONSOLE_HOST=0.0.0.0 llm-logger:0.1.0 start
#   (an open gateway, published on loopback: see the README's Gateway keys to require keys)
# See docs/deploy-kubernetes.md ("The image").

# Node 22 LTS (20 reached its end of life in April 2026).
ARG NODE_VERSION=22

# Build dependencies of the native addons: better-sqlite3 compiles SQLite;
# @confluentinc/kafka-javascript compiles librdkafka, linked (CKJS_LINKING=dynamic)
# against the system's OpenSSL, zstd and SASL. Without libzstd-dev librdkafka
# silently builds without zstd.
# npm_config_build_from_source: both addons are compiled here, always. Without it their install
# scripts first try to download a prebuilt binary (node-pre-gyp, prebuild-install), which with
# network access succeeds and gives a librdkafka that is not the one linked below (and that the
# clean-up in the deps stage does not find), without it fails: one path, whatever the network.
FROM node:${NODE_VERSION}-bookworm AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 libssl-dev libzstd-dev libsasl2-dev \
 && rm -rf /var/lib/apt/lists/*
ENV CKJS_LINKING=dynamic \
    npm_config_build_from_source=true
WORKDIR /app

# Stage 1: compile the TypeScript and build the dashboard (Vite, into dist/web, which the
# console serves); both need the dev dependencies. The check fails the build without a dashboard.
FROM toolchain AS build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services services
COPY topology topology
RUN npx tsc -p tsconfig.build.json \
 && npm run build:web \
 && test -f dist/web/index.html \
 && rm -rf dist/bench dist/infra

# Stage 2: production dependencies only, native addons built for this platform.
# Scripts are skipped by `npm ci` (the `prepare` script would need tsc) and run
# by `npm rebuild` for the two addons only.
FROM toolchain AS deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild --build-from-source better-sqlite3 @confluentinc/kafka-javascript \
 && test -f node_modules/@confluentinc/kafka-javascript/build/deps/librdkafka.so.1 \
 && ldd node_modules/@confluentinc/kafka-javascript/build/deps/librdkafka.so.1 | grep -q libzstd \
 && node -e "const k=require('@confluentinc/kafka-javascript');for(const f of ['zstd','lz4','ssl','sasl_scram'])if(!k.features.includes(f))throw new Error('librdkafka built without '+f)" \
 && npm cache clean --force
# Build leftovers of the two addons (sources, objects, static libraries: ~310 MB
# of the ~380 MB of node_modules), and librdkafka's debug symbols.
RUN cd node_modules/@confluentinc/kafka-javascript \
 && rm -rf deps src build/Release/obj.target build/deps/*.a build/deps/include build/deps/pkgconfig \
 && strip --strip-unneeded build/deps/librdkafka.so.1 build/deps/librdkafka++.so.1 \
 && cd ../../better-sqlite3 \
 && rm -rf deps src build/Release/obj build/Release/obj.target build/Release/*.a build/Release/.deps

# Stage 3: the runtime: slim Debian, the shared libraries librdkafka links to,
# no compiler, no npm cache, not root.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# libcurl: librdkafka's OIDC support links it when the build image has its headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libzstd1 libsasl2-2 libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
ENV NODE_ENV=production \
    LLM_LOGGER_DATA_DIR=/data
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
COPY schemas schemas
# Fails the build if a shared library the addons link to is missing here.
RUN node -e "require('@confluentinc/kafka-javascript');new (require('better-sqlite3'))(':memory:').close()" \
 && node bin/llm-logger.js --help >/dev/null \
 && test -f dist/web/index.html
# The node image's unprivileged user (uid 1000); the Kubernetes manifests run as it too.
USER node
VOLUME ["/data"]
# gateway, console, and the consumer roles' /healthz /readyz /metrics (LLM_LOGGER_METRICS_PORT).
EXPOSE 8080 3000 9464
# Healthy when the role in this container answers /healthz on its port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env;Promise.any([e.LLM_LOGGER_GATEWAY_PORT||8080,e.LLM_LOGGER_CONSOLE_PORT||3000,e.LLM_LOGGER_METRICS_PORT||9464].map(p=>fetch('http://127.0.0.1:'+p+'/healthz').then(r=>{if(!r.ok)throw new Error(String(r.status))}))).then(()=>process.exit(0),()=>process.exit(1))"]
ENTRYPOINT ["node", "--enable-source-maps", "bin/llm-logger.js"]
CMD ["start"]
