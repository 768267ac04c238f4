# syntax=docker/dockerfile:1
# Container images of the csi-sidecars-ts sidecars. One target per sidecar, plus all-in-one:
#
#   docker build --target csi-provisioner -t <registry>/csi-provisioner:<tag> .
#   docker build --target csi-attacher    -t <registry>/csi-attacher:<tag> .
#   docker build --target csi-resizer     -t <registry>/csi-resizer:<tag> .
#   docker build --target all-in-one      -t <registry>/csi-sidecars:<tag> .
#
# The per-sidecar images keep the Go images' contract: the entry point is the sidecar itself, so
# a pod spec passes flags only (args), no shell, no wrapper. They run as 65532:65532 and write
# nothing but /dev/termination-log (the reason of a fatal exit, for `kubectl describe`), so
# readOnlyRootFilesystem works. Why these base images: docs/adr/0004-container-images.md.
# Node runs with the flags on each bin's first line (a small young generation: docs/adr/0007).

# Builds and installs dependencies (npm, a shell); never shipped.
ARG BUILD_IMAGE=node:24-bookworm-slim
# Node 24 on Debian 12 with no shell or package manager, user nonroot = 65532.
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- build: every dependency (dev included), TypeScript compiled to dist/ --------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
# npm checks the lockfile against every workspace's package.json, e2e included.
COPY packages/shared/package.json packages/shared/
COPY packages/provisioner/package.json packages/provisioner/
COPY packages/attacher/package.json packages/attacher/
COPY packages/resizer/package.json packages/resizer/
COPY e2e/package.json e2e/
# No install scripts: the `node` devDependency would download a second Node, and nothing the
# compiler needs has one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages/ packages/
RUN node_modules/.bin/tsc -b packages/provisioner packages/attacher packages/resizer

# ---- production dependencies only, one set per image ----------------------------------------
FROM ${BUILD_IMAGE} AS prod-deps-base
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/provisioner/package.json packages/provisioner/
COPY packages/attacher/package.json packages/attacher/
COPY packages/resizer/package.json packages/resizer/
COPY e2e/package.json e2e/

FROM prod-deps-base AS prod-deps-provisioner
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace packages/provisioner

FROM prod-deps-base AS prod-deps-attacher
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace packages/attacher

FROM prod-deps-base AS prod-deps-resizer
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace packages/resizer

FROM prod-deps-base AS prod-deps-all
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace packages/provisioner --workspace packages/attacher --workspace packages/resizer

# ---- runtime images -------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS csi-provisioner
WORKDIR /app
COPY --from=prod-deps-provisioner /app/node_modules node_modules
COPY --from=build /src/packages/shared/package.json packages/shared/package.json
COPY --from=build /src/packages/shared/dist packages/shared/dist
COPY --from=build /src/packages/shared/proto packages/shared/proto
COPY --from=build /src/packages/provisioner/package.json packages/provisioner/package.json
COPY --from=build /src/packages/provisioner/dist packages/provisioner/dist
ENV NODE_ENV=production
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "/app/packages/provisioner/dist/cmd/csi-provisioner.js"]

FROM ${RUNTIME_IMAGE} AS csi-attacher
WORKDIR /app
COPY --from=prod-deps-attacher /app/node_modules node_modules
COPY --from=build /src/packages/shared/package.json packages/shared/package.json
COPY --from=build /src/packages/shared/dist packages/shared/dist
COPY --from=build /src/packages/shared/proto packages/shared/proto
COPY --from=build /src/packages/attacher/package.json packages/attacher/package.json
COPY --from=build /src/packages/attacher/dist packages/attacher/dist
ENV NODE_ENV=production
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "/app/packages/attacher/dist/cmd/csi-attacher.js"]

FROM ${RUNTIME_IMAGE} AS csi-resizer
WORKDIR /app
COPY --from=prod-deps-resizer /app/node_modules node_modules
COPY --from=build /src/packages/shared/package.json packages/shared/package.json
COPY --from=build /src/packages/shared/dist packages/shared/dist
COPY --from=build /src/packages/shared/proto packages/shared/proto
COPY --from=build /src/packages/resizer/package.json packages/resizer/package.json
COPY --from=build /src/packages/resizer/dist packages/resizer/dist
ENV NODE_ENV=production
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "/app/packages/resizer/dist/cmd/csi-resizer.js"]

# All three sidecars in one image: the entry point is node, and each container names its
# sidecar, e.g. command: ["/nodejs/bin/node", "/app/packages/attacher/dist/cmd/csi-attacher.js"]
# (the chart does this with allInOneImage.enabled). Without a command it runs csi-provisioner.
FROM ${RUNTIME_IMAGE} AS all-in-one
WORKDIR /app
COPY --from=prod-deps-all /app/node_modules node_modules
COPY --from=build /src/packages/shared/package.json packages/shared/package.json
COPY --from=build /src/packages/shared/dist packages/shared/dist
COPY --from=build /src/packages/shared/proto packages/shared/proto
COPY --from=build /src/packages/provisioner/package.json packages/provisioner/package.json
COPY --from=build /src/packages/provisioner/dist packages/provisioner/dist
COPY --from=build /src/packages/attacher/package.json packages/attacher/package.json
COPY --from=build /src/packages/attacher/dist packages/attacher/dist
COPY --from=build /src/packages/resizer/package.json packages/resizer/package.json
COPY --from=build /src/packages/resizer/dist packages/resizer/dist
ENV NODE_ENV=production
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2"]
CMD ["/app/packages/provisioner/dist/cmd/csi-provisioner.js"]
