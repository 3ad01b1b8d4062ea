#!/usr/bin/env bash
# Installs Debian's ejabberd package for the bench's incumbent baseline, when it is missing.
# Called by the bench (bench/baselines/ejabberd/ensure.ts) before an ejabberd ramp, never by
# `npm test`. Needs root and apt-get; otherwise says what to install and exits non-zero.
# The package's own service is not used: the bench runs its own node on its own ports.
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"

command -v ejabberdctl >/dev/null 2>&1 && exit 0

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "bench: installing ejabberd with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # A container has no init to start the packaged service with; keep the postinst from trying.
  policy="/usr/sbin/policy-rc.d"
  created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
  apt-get install -y -qq --no-install-recommends ejabberd
  exit 0
fi

echo "bench: ejabberd is missing. Install it as root:  apt-get install -y ejabberd" >&2
exit 1
