#!/usr/bin/env bash
# Installs what building, running and testing Regulars needs on Debian 12.
# Idempotent: every step is skipped when its result is already present, so
# `make run` and `make test` can call it every time at almost no cost.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libsoup-3.0-dev
      libayatana-appindicator3-dev build-essential pkg-config xvfb xauth
      webkit2gtk-driver libssl-dev imagemagick xdotool
      postgresql)  # the sync server's PostgreSQL backend is tested against a throwaway cluster
missing=()
for p in "${debs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# tauri-driver bridges WebDriver to WebKitWebDriver for the end-to-end tests.
# Pinned to 2.x: the unpinned latest is a 3.0 alpha.
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver 2.x"
  cargo install tauri-driver --version '^2' --locked
fi

if [ -f ui/package.json ]; then
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages for ui/"
    (cd ui && npm ci --no-audit --no-fund)
  fi
fi
