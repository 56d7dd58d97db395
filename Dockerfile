# Volly Signaling server image. Build: docker build -t volly-signaling .
# Runs the compiled server (dist/server, bundled by scripts/build-server.mjs in the deps stage) on plain Node: no
# TypeScript loader at run time. The image holds what `npm ci --omit=dev` installs, dist/server, and src/ plus
# the generated protobuf code only for the demo page, which bundles the SDK's sources when VOLLY_DEMO=true.

# The full image has python3, make and g++ for the record-layer and hashing addon (native/record-aead), which npm ci builds
# against the Node headers and OpenSSL that ship with Node, and for pqclean's ML-KEM addon; the runtime image
# gets only the built .node files and node_modules.
FROM node:20-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY scripts/build-native.mjs ./scripts/
COPY native ./native
# pqclean's C sources and object files (about 14 MB) are only needed to build its addon.
RUN VOLLY_REQUIRE_NATIVE=1 npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && rm -rf node_modules/pqclean/deps node_modules/pqclean/build/Release/obj.target
# After the dependencies, so a change to the sources does not rebuild the layer above. esbuild is a runtime
# dependency (the demo uses it too), so --omit=dev installed it.
COPY scripts/build-server.mjs scripts/dist-install.mjs ./scripts/
COPY src ./src
COPY gen ./gen
RUN node scripts/build-server.mjs

FROM node:20-bookworm-slim AS runtime
# Production by default: the server then refuses the development key pair (docker-compose.signaling.yml
# sets NODE_ENV=development for local use with the dev keys).
ENV NODE_ENV=production \
    VOLLY_HOST=0.0.0.0 \
    VOLLY_PORT=7880 \
    VOLLY_API_PORT=7881
WORKDIR /app
# Files stay owned by root and read-only for the runtime user.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/native/record-aead/build/Release/record_aead.node ./native/record-aead/build/Release/
COPY --from=deps /app/dist/server ./dist/server
COPY package.json ./
COPY bin ./bin
COPY gen ./gen
COPY src ./src
USER node
EXPOSE 7880 7881
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.VOLLY_API_PORT||7881)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (graceful drain, exit 0); no init wrapper needed.
ENTRYPOINT ["node", "bin/volly-signaling.mjs"]
CMD ["start"]
