#!/usr/bin/env bash
# The server binaries the tests start on their own ports: redis-server, nats-server and
# turnserver (Debian's coturn package); and Debian's chromium, the headless browser the demo's
# test drives (test/demo/).
# Installs the missing ones with apt-get when run as root; otherwise says what to install.
# Exits non-zero while any is missing, so `npm test` fails here rather than in the middle.
set -euo pipefail

# Debian puts nats-server in /usr/sbin, which a non-root PATH often lacks.
PATH="$PATH:/usr/sbin:/usr/local/sbin"

missing=()
command -v redis-server >/dev/null 2>&1 || [[ -n "${REDIS_SERVER_BIN:-}" ]] || missing+=(redis-server)
command -v nats-server >/dev/null 2>&1 || [[ -n "${NATS_SERVER_BIN:-}" ]] || missing+=(nats-server)
command -v turnserver >/dev/null 2>&1 || [[ -n "${TURNSERVER_BIN:-}" ]] || missing+=(coturn)
command -v chromium >/dev/null 2>&1 || [[ -n "${CHROMIUM_BIN:-}" ]] || missing+=(chromium)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-services: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
  exit 0
fi

echo "ensure-services: missing ${missing[*]}." >&2
echo "  Install them as root:  apt-get install -y ${missing[*]}" >&2
echo "  or point REDIS_SERVER_BIN / NATS_SERVER_BIN / TURNSERVER_BIN / CHROMIUM_BIN at the binaries." >&2
exit 1
