# Placeholder until the sidecar issue: builds the CLI on Node 24 LTS.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci
COPY proto ./proto
COPY src ./src
COPY service ./service
COPY test ./test
COPY bench ./bench
COPY bin ./bin
COPY scripts ./scripts
RUN npm run build

FROM node:24-slim
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
RUN npm ci --omit=dev
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
USER node
ENTRYPOINT ["/app/bin/kafka-beam-ts"]
