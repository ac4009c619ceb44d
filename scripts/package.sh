#!/usr/bin/env bash
# Builds the Debian package of Regulars: the desktop app (/usr/bin/regulars-app,
# icon, desktop entry), the `regulars` command line (/usr/bin/regulars) and
# the central sync server (/usr/bin/regulars-server, a separate binary a shop
# runs on one machine; it needs nothing else installed) in one .deb named
# `regulars`.
#
# Expects ui/dist to be built (`make ui`); `make package` does both.
# Prints the .deb path, binary sizes and installed size.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-$PWD/target}
case $target in /*) ;; *) target=$PWD/$target ;; esac
export CARGO_TARGET_DIR=$target

test -f ui/dist/index.html || { echo "package: ui/dist is missing: run 'make ui' first" >&2; exit 1; }

# Both binaries in one cargo run, exactly as `make bench-e2e` builds them:
# building them separately (as `tauri build` would for the app) resolves
# different dependency features and recompiles regulars-core each time.
# The app's default features embed ui/dist (tauri/custom-protocol), which is
# what `tauri build` adds, so `tauri bundle` below packages this very build.
cargo build --release -p regulars-app -p regulars-cli -p regulars-server

# The CLI's path depends on CARGO_TARGET_DIR, so it is merged into the
# bundle config here rather than written into tauri.conf.json.
cli_files=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/regulars":"%s","/usr/bin/regulars-server":"%s"}}}}}' \
  "$target/release/regulars" "$target/release/regulars-server")
rm -f "$target"/release/bundle/deb/*.deb
ui/node_modules/.bin/tauri bundle --bundles deb --config "$cli_files"

deb=$(ls "$target"/release/bundle/deb/*.deb)
echo
echo "package: $deb"
stat -c '  %n: %s bytes' "$target/release/regulars-app" "$target/release/regulars" \
  "$target/release/regulars-server" "$deb"
dpkg-deb -f "$deb" Package Version Installed-Size Depends | sed 's/^/  /'
