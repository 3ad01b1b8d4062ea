# One router node.  Build: docker build -t router .
#                   Run:   docker run -p 7070:7070 -v router-data:/data router

# Compile the TypeScript once, here, so the running image needs neither tsx nor the sources.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY sdk ./sdk
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    ROUTER_HOST=0.0.0.0 \
    ROUTER_PORT=7070 \
    ROUTER_DATA=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY --from=build /app/dist ./dist

RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
VOLUME ["/data"]
EXPOSE 7070
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.ROUTER_PORT||7070)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# The node drains on SIGTERM (docker stop). bin/router.mjs runs dist/ (there are no sources here).
ENTRYPOINT ["node", "bin/router.mjs"]
CMD ["node", "start"]
