#!/usr/bin/env bash
# What the tests need beyond npm, run by `npm test` before the tests:
# - Debian's iproute2 (ip netns for the dead peer, ss as an independent reader),
#   bpftool (the kernel's copy of a BPF program, printed to compare with this module's
#   listing), gcc-multilib (a 32-bit process, which cgroup setsockopt programs never see),
#   wine64 and mingw-w64, PostgreSQL, redis-server and python3 (real servers and
#   a process that knows nothing of this module), Prometheus (its server and promtool),
#   podman with runc (the agent's image), qemu-user-static with arm64's
#   glibc, musl, and Go's and Rust's generated FreeBSD tables, installed when
#   missing (as root, with apt-get);
# - arm64 Deno, Bun and Node and Bun for musl (tests/cross/prepare.sh);
# - for tests/mod_windows_test.ts: Bun's Windows package from npm, the
#   bcryptprimitives.dll stand-in, and a Wine prefix (Wine 8); and Wine 10 in a
#   Debian 13 chroot with Deno's and Bun's Windows builds (tests/wine/trixie.sh,
#   once per machine: about 100 s and 2.4 GB the first time).
# Without root or apt-get it says what is missing; the Windows test is then
# skipped, except in CI, where it fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)/wine
root=$(cd "$here/../.." && pwd)
out="$root/node_modules/.cache/tcp-keepalive-wine"
bun_version=$(node -p 'require(process.argv[1]).devDependencies.bun' "$root/package.json")
mkdir -p "$out"

missing=()
command -v ip >/dev/null && command -v ss >/dev/null || missing+=(iproute2)
command -v wine >/dev/null || missing+=(wine wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64-win32)
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/bin/python3 ] || missing+=(python3) # Debian's, which another user can run too
command -v bpftool >/dev/null || missing+=(bpftool)
dpkg -s gcc-multilib >/dev/null 2>&1 || missing+=(gcc-multilib)
# The node agent's world (tests/agent_test.ts, deploy_test.ts): Prometheus and promtool, podman with runc
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
command -v podman >/dev/null || missing+=(podman)
[ -x /usr/sbin/runc ] || missing+=(runc)
# arm64 under qemu, musl, and FreeBSD's numbers as Go and Rust generated them (tests/cross_test.ts, headers_test.ts)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
for package in libc6-arm64-cross libgcc-s1-arm64-cross libstdc++6-arm64-cross libatomic1-arm64-cross musl \
  golang-golang-x-sys-dev librust-libc-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "prepare: ${missing[*]} missing, and no root apt-get to install them" >&2
    exit 0
  fi
  echo "prepare: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$out/bun-$bun_version/bun.exe" ]; then
  (cd "$out" && npm pack --silent "@oven/bun-windows-x64@$bun_version" >/dev/null)
  mkdir -p "$out/bun-$bun_version"
  tar -xzf "$out/oven-bun-windows-x64-$bun_version.tgz" -C "$out/bun-$bun_version" --strip-components=2 package/bin/bun.exe
  rm "$out/oven-bun-windows-x64-$bun_version.tgz"
fi

export WINEPREFIX="$out/prefix" WINEDEBUG=-all
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$dll" ]; then
  wineboot -i >/dev/null 2>&1
  x86_64-w64-mingw32-gcc -shared -O2 -o "$dll" "$here/bcryptprimitives.c" "$here/bcryptprimitives.def" -lbcrypt
fi
echo "prepare: $(wine "$out/bun-$bun_version/bun.exe" --version 2>/dev/null | tr -d '\r') (Bun for Windows) ready" >&2

bash "$here/../cross/prepare.sh"
# What the tests prove, cell by cell, for the README's matrix (tests/matrix.ts): nothing yet.
rm -rf "$root/node_modules/.cache/tcp-keepalive-evidence"

if [ "$(id -u)" = 0 ]; then
  bash "$here/trixie.sh" prepare
  echo "prepare: Wine 10 with Deno's and Bun's Windows builds ready" >&2
else
  echo "prepare: not root, so no Wine 10 chroot: Deno's Windows tests are skipped" >&2
fi
