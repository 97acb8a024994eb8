#!/usr/bin/env bash
# Installs what berth's build, tests and quickstart need on a fresh Debian machine
# (run as root): Debian packages, then the npm dependencies. Cheap when all is in place.
# containerd's package is installed for its `ctr` (the real client the engine tests drive) and,
# for the benchmarks, its daemon; the tests never start that daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: command that must exist -> package that provides it.
apt_needed=()
need() { [ -e "$1" ] || apt_needed+=("$2"); }
need /bin/busybox busybox-static   # the test images are built from it
need /usr/bin/zstd zstd             # zstd layers in the diff tests
need /usr/bin/fincore util-linux    # page-cache checks in the sys tests
need /usr/sbin/runc runc            # the OCI runtimes the runtime tests drive
need /usr/bin/crun crun
need /usr/bin/ctr containerd        # containerd's own client drives berthd in the engine tests
need /usr/bin/containerd containerd # `npm run bench` compares against its daemon
need /usr/bin/docker-registry docker-registry # the reference registry the registry tests pull from and push to
need /usr/bin/htpasswd apache2-utils          # bcrypt htpasswd files for its Basic auth tests
need /usr/bin/openssl openssl                 # a CA and a server certificate for its TLS tests

if [ ${#apt_needed[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "berth setup: missing Debian packages (${apt_needed[*]}); run as root or: apt-get install ${apt_needed[*]}" >&2
    exit 1
  fi
  echo "berth setup: installing Debian packages: ${apt_needed[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_needed[@]}" >/dev/null
fi

# npm dependencies: reinstall when package.json files or the lock changed since the last install.
# `npm install`, not `npm ci`: on an empty cache the registry mirror here can lack
# other-platform optional packages that `npm ci` insists on.
stamp=node_modules/.berth-install-stamp
sum=$(cat package.json package-lock.json packages/*/package.json tools/*/package.json examples/*/package.json bench/package.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  echo "berth setup: installing npm dependencies"
  npm install --no-audit --no-fund --loglevel=error
  sum=$(cat package.json package-lock.json packages/*/package.json tools/*/package.json examples/*/package.json bench/package.json 2>/dev/null | sha256sum | cut -d' ' -f1)
  echo "$sum" > "$stamp"
fi
