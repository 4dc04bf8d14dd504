#!/usr/bin/env bash
# Idempotent setup: installs what is missing and says what it did.
#   Bun  -> .tools/bun  (npm package `bun`, version pinned in .bun-version)
#   Zig  -> .tools/zig  (PyPI package `ziglang`, version pinned in .zig-version)
#   JS dependencies -> node_modules (bun install, from bun.lock)
# Nothing is installed outside the project folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bun_version="$(tr -d '[:space:]' < .bun-version)"
zig_version="$(tr -d '[:space:]' < .zig-version)"
tools="$root/.tools"
mkdir -p "$tools"

say() { printf 'setup: %s\n' "$*" >&2; }

bun_bin="$tools/bun/node_modules/bun/bin/bun.exe"
[ -x "$bun_bin" ] || bun_bin="$tools/bun/node_modules/.bin/bun"
if [ -x "$bun_bin" ] && [ "$("$bun_bin" --version 2>/dev/null)" = "$bun_version" ]; then
  say "bun $bun_version already installed"
else
  command -v npm >/dev/null || { say "npm is needed to install bun: install Node.js (apt-get install nodejs npm)"; exit 1; }
  say "installing bun $bun_version from the npm registry into .tools/bun"
  rm -rf "$tools/bun"
  npm install --silent --no-save --no-package-lock --prefix "$tools/bun" "bun@$bun_version" >&2
fi
ln -sfn "$tools/bun/node_modules/.bin/bun" "$tools/bun-bin"
# package.json scripts call `bun`: .tools/bin goes first on PATH in scripts/bun.
mkdir -p "$tools/bin"
ln -sfn "$tools/bun/node_modules/.bin/bun" "$tools/bin/bun"

zig_bin="$tools/zig/ziglang/zig"
if [ -x "$zig_bin" ] && [ "$("$zig_bin" version 2>/dev/null)" = "$zig_version" ]; then
  say "zig $zig_version already installed"
else
  command -v python3 >/dev/null || { say "python3 is needed to install zig (PyPI package ziglang)"; exit 1; }
  say "installing zig $zig_version from PyPI (ziglang) into .tools/zig"
  rm -rf "$tools/zig"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/zig" "ziglang==$zig_version" >&2
fi
ln -sfn "$zig_bin" "$tools/zig-bin"
ln -sfn "$zig_bin" "$tools/bin/zig"

if [ -d node_modules ] && [ node_modules -nt package.json ] && { [ ! -f bun.lock ] || [ node_modules -nt bun.lock ]; }; then
  say "node_modules up to date"
else
  say "bun install"
  "$tools/bun-bin" install --frozen-lockfile >&2 || "$tools/bun-bin" install >&2
  touch node_modules
fi
say "ready: bun $("$tools/bun-bin" --version), zig $("$tools/zig-bin" version)"
