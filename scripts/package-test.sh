#!/usr/bin/env bash
# Installs the built .deb on this machine, starts the installed app on a new
# store under Xvfb, checks it, and removes the package again (also when a
# check fails), leaving the machine as it was. Needs root (or sudo).
#
# Checks: the package installs with apt (dependencies resolved), puts the app,
# the CLI, a desktop entry and icons in place; the installed app opens its
# window, creates the store with the demo shop, and stays up for 5 s; the
# installed CLI reads that store.
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything below needs a display for the app: re-run under Xvfb.
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s '-screen 0 1280x800x24' "$0" "$@"
fi

target=${CARGO_TARGET_DIR:-$PWD/target}
case $target in /*) ;; *) target=$PWD/$target ;; esac
shopt -s nullglob
debs=("$target"/release/bundle/deb/*.deb)
[ ${#debs[@]} -eq 1 ] || { echo "package-test: expected one .deb in $target/release/bundle/deb, found ${#debs[@]}: run 'make package' first" >&2; exit 1; }
deb=${debs[0]}
pkg=$(dpkg-deb -f "$deb" Package)

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
# Another job may hold the dpkg lock (e.g. setup.sh installing): wait for it.
apt_get() { DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=300 -y -q "$@"; }

if dpkg -s "$pkg" >/dev/null 2>&1; then
  echo "package-test: the package '$pkg' is already installed here; not touching it. Remove it first ('apt remove $pkg')." >&2
  exit 1
fi

work=$(mktemp -d)
app_pid=""
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -TERM "$app_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$app_pid" 2>/dev/null || true
  fi
  if dpkg -s "$pkg" >/dev/null 2>&1; then
    echo "package-test: removing $pkg"
    apt_get remove "$pkg" >/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "package-test: FAILED: $*" >&2; exit 1; }

echo "package-test: installing $deb"
apt_get install --no-install-recommends "$deb" >/dev/null
dpkg -s "$pkg" | grep -E '^(Package|Version|Installed-Size|Depends):' | sed 's/^/  /'

for f in /usr/bin/regulars-app /usr/bin/regulars /usr/bin/regulars-server; do
  [ -x "$f" ] || fail "$f is not installed"
done
desktop=$(dpkg -L "$pkg" | grep -E '^/usr/share/applications/.*\.desktop$' || true)
[ -n "$desktop" ] || fail "no desktop entry installed"
grep -q '^Exec=regulars-app' "$desktop" || fail "$desktop does not start regulars-app"
icon=$(sed -n 's/^Icon=//p' "$desktop")
dpkg -L "$pkg" | grep -q "/usr/share/icons/hicolor/.*/apps/$icon.png" || fail "icon $icon is not installed"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$desktop"; fi
echo "  desktop entry $desktop, icon $icon: ok"

# The installed app, on a new store (it fills it with the demo shop).
db=$work/shop.db
started=$(date +%s%N)
/usr/bin/regulars-app --db "$db" >"$work/app.log" 2>&1 &
app_pid=$!

# Window: look for it by the app's process id where xdotool is present.
window=""
for _ in $(seq 150); do
  kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; fail "the installed app exited at start"; }
  if command -v xdotool >/dev/null; then
    window=$(xdotool search --onlyvisible --pid "$app_pid" --name '^Regulars$' 2>/dev/null | head -1 || true)
    [ -n "$window" ] && break
  else
    window="(not checked: no xdotool)"; break
  fi
  sleep 0.1
done
[ -n "$window" ] || fail "no visible 'Regulars' window within 15 s"
echo "  window: $window after $(( ($(date +%s%N) - started) / 1000000 )) ms"

# The store with the demo shop, read by the installed CLI.
# Only once the app has created the file: the CLI would create it too.
customers=0
for _ in $(seq 300); do
  [ -s "$db" ] || { sleep 0.2; continue; }
  customers=$(/usr/bin/regulars --db "$db" info --json 2>/dev/null | sed -n 's/.*"customers": *\([0-9]*\).*/\1/p' || true)
  [ "${customers:-0}" -gt 0 ] && break
  sleep 0.2
done
[ "${customers:-0}" -gt 0 ] || fail "the store $db has no customers 60 s after start (no demo shop)"
echo "  store: $customers customers (demo shop), read by /usr/bin/regulars"

# Still up 5 s later.
sleep 5
kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; fail "the installed app exited within 5 s"; }
echo "  app still running after 5 s: ok"

echo "package-test: passed ($pkg installed, started, removed)"
