# kafka-beam-ts: the expansion service + worker pool sidecar (`serve`), as a small non-root image.
# Build:  docker build -t kafka-beam-ts .
# Run:    docker run -p 8097:8097 -p 50000:50000 -p 8080:8080 kafka-beam-ts
#         (any CLI command works: docker run kafka-beam-ts demo --bootstrap broker:9092)
# test/integration/service-dockerfile.test.ts replays these stages into temp directories and starts the result.

# ---- build: every dependency, compile src/ and service/ (tests and benches are not part of the image)
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY service ./service
RUN npx tsc -p tsconfig.json

# ---- runtime: production dependencies, the compiled JS and the launchers
FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The node user of the official image, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8097 50000 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/app/bin/kafka-beam-ts", "healthcheck"]
ENTRYPOINT ["/app/bin/kafka-beam-ts"]
CMD ["serve", "--host", "0.0.0.0"]
