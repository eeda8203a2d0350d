# syntax=docker/dockerfile:1
# One image for every process of the platform; the command picks which one runs:
#   node dist/gateway/src/main.js               gateway (PORT 4000)
#   node dist/subgraphs/<name>/src/main.js      users 4001, projects 4002, models 4003, inference 4004, logs 4005
#   node dist/worker/src/main.js                batch prediction worker (health on PORT 4010)
#   node dist/scripts/migrate.js                apply database migrations, then exit
#   node dist/scripts/backup.js --out <dir>     back up database, documents and model files (docs/deploy.md)
#   node dist/scripts/restore.js --from <dir>   restore a backup into an empty deployment
#   node dist/platform/src/main.js              everything in one process (the default command)
# onnxruntime-node ships glibc binaries, so the base is Debian, not Alpine. The code runs on
# Node 20, 22 and 24; build with `--build-arg NODE_IMAGE=node:20-bookworm-slim` to pin another.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The CPU binaries of onnxruntime-node are inside its npm package; skip its optional CUDA download.
# (package.json's allowScripts denies it too, but the npm 10 of the Node images ignores allowScripts.)
ENV ONNXRUNTIME_NODE_INSTALL=skip
# swagger-ui-dist's dependency @scarf/scarf reports installs over the network from its install
# script; allowScripts denies it too, npm 10 needs the variable.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json .npmrc ./
# Fixes to dependencies, applied by `postinstall` (patch-package); each is explained in patches/README.md.
COPY patches ./patches
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund
# Exactly what tsconfig.build.json compiles, plus the SDL files read at run time.
COPY tsconfig.json tsconfig.build.json ./
COPY schema ./schema
COPY lib ./lib
COPY modules ./modules
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY worker ./worker
COPY platform ./platform
COPY scripts ./scripts
# The registered client operations (SAFELIST with PERSISTED_OPERATIONS_MANIFEST=operations/manifest.json).
COPY operations ./operations
# Then drop the dev dependencies, and the onnxruntime-node binaries of other systems and CPUs.
RUN npm run build \
  && rm -f dist/.tsbuildinfo \
  && npm prune --omit=dev --no-audit --no-fund \
  && ort=node_modules/onnxruntime-node/bin/napi-v6 \
  && case "$(uname -m)" in x86_64) keep=x64 ;; aarch64) keep=arm64 ;; *) keep=none ;; esac \
  && if [ -d "$ort/linux/$keep" ]; then \
       find "$ort" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
       && find "$ort/linux" -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} + ; \
     fi

FROM ${NODE_IMAGE} AS runtime
# HOST is the gateway's interface: the one-process platform keeps its subgraphs on 127.0.0.1 whatever
# it is. The image holds no secret: the platform generates its own once (DATA_DIR/secrets.json, 0600)
# unless JWT_SECRET and INTERNAL_SECRET are set, every other process refuses to start without them,
# and NODE_ENV=production means no demo account (DEMO=true is refused).
ENV NODE_ENV=production \
    HOST=0.0.0.0
# pg_dump and pg_restore for the backup and restore scripts (Debian's client matches servers up to its
# major; newer servers want postgresql-client-<major> from apt.postgresql.org).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Code and dependencies stay owned by root (read-only for the app); only DATA_DIR (./.data: the
# model file cache of inference and worker, and PGlite in the one-process mode) is writable.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/schema ./schema
COPY --from=build /app/operations ./operations
COPY --from=build /app/dist ./dist
RUN mkdir -m 700 .data && chown 1000:1000 .data
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 4000
CMD ["node", "dist/platform/src/main.js"]
