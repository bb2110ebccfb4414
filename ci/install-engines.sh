#!/usr/bin/env bash
# Installs the real engines the target tests run against (Debian packages): PostgreSQL and MariaDB.
# Idempotent and quiet: does nothing when both are present. The packages' own services are not
# started (the harness starts its own servers on loopback ports in temporary directories).
set -euo pipefail
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
have_maria() { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; }
if have_pg && have_maria; then
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
$SUDO apt-get install -y -qq --no-install-recommends postgresql mariadb-server >/dev/null
have_pg && have_maria
echo "installed: $(ls -d /usr/lib/postgresql/*/ | head -1) and $(mariadbd --version 2>/dev/null | head -1)"
