# The offline stand-in for node:20-bookworm-slim, built by infra/base/build.sh: its context holds
# usr/local/bin/node and usr/local/lib/node_modules/npm, unpacked from the npm registry. The
# `node` user (uid 1000) is the official image's.
ARG BASE
FROM ${BASE}
COPY usr/ /usr/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
