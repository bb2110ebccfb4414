#!/usr/bin/env bash
# Installs the real engines the target tests run against (Debian packages): PostgreSQL and MariaDB;
# with `--chromium`, also Debian's Chromium for the browser checks, in the same apt transaction.
# Idempotent and quiet: does nothing when everything asked for is present. The packages' own services are not
# started (the harness starts its own servers on loopback ports in temporary directories).
set -euo pipefail
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
have_maria() { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; }
have_chromium() { [ -x /usr/bin/chromium ]; }
want_chromium=0
if [ "${1:-}" = "--chromium" ]; then want_chromium=1; fi
pkgs=()
have_pg || pkgs+=(postgresql)
have_maria || pkgs+=(mariadb-server)
if [ "$want_chromium" = 1 ] && ! have_chromium; then pkgs+=(chromium); fi
if [ ${#pkgs[@]} = 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: PostgreSQL or MariaDB missing and apt-get unavailable; install them by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# policy-rc.d-less containers may try to start the services; that failing is harmless.
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
have_pg && have_maria
if [ "$want_chromium" = 1 ]; then have_chromium; fi
echo "installed ${pkgs[*]}: $(ls -d /usr/lib/postgresql/*/ | head -1) and $(mariadbd --version 2>/dev/null | head -1)"
