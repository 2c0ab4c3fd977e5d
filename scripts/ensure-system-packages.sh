#!/usr/bin/env bash
# Install the Debian packages given as arguments when they are missing.
# As root (CI, containers) it installs them; otherwise it prints the command to run.
set -euo pipefail
command -v dpkg-query >/dev/null 2>&1 || { echo "not a Debian system: skipping system packages"; exit 0; }
missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]}"
  echo "install them with: sudo apt-get install ${missing[*]}"
fi
