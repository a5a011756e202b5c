#!/usr/bin/env bash
# Idempotent set-up for `npm test` and `npm run demo` on a fresh Debian machine:
# missing Debian packages (apt-get as root, else the exact command is printed), npm ci when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(grep -v '^\s*#' scripts/debian-packages.txt | sed '/^\s*$/d')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
      apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
  else
    echo "setup: missing Debian packages; run as root:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

# Rebuild the native addons when one is missing or its source changed since the last build.
for src in native/*.cc native/binding.gyp; do
  name=$(basename "$src" .cc)
  out=native/build/Release/$name.node
  if [ "$name" = binding.gyp ]; then out=native/build/Makefile; fi
  if [ ! -e "$out" ] || [ "$src" -nt "$out" ]; then
    echo "setup: building native addons ($src changed)" >&2
    npm run --silent build:native >&2
    break
  fi
done
