#!/usr/bin/env bash
# Wine 10 from Debian 13 (trixie), in a chroot of its own, for Deno's Windows
# build: V8 reserves address space with VirtualAlloc2 placeholders, which
# Debian 12's Wine 8 refuses. Installing trixie's Wine on the host would
# upgrade libc6 and about 95 packages, so it lives apart.
#
#   tests/wine/trixie.sh prepare        build the chroot, its Wine prefix and the
#                                       pinned deno.exe and bun.exe (once per machine)
#   tests/wine/trixie.sh run EXE ARGS   run EXE (deno or bun) under Wine 10, with the
#                                       repository at Z:\repo; stdout is the program's
#
# The chroot shares the host's network namespace, so the host's ss sees Wine's
# sockets. Each run mounts /proc, /dev, /sys and the repository in a mount
# namespace of its own, so nothing stays mounted when it ends, however it ends.
set -euo pipefail
root_dir=${TCP_KEEPALIVE_TRIXIE:-/var/cache/tcp-keepalive/trixie}
repo=$(cd "$(dirname "$0")/../.." && pwd)
version() { node -p 'require(process.argv[1]).devDependencies[process.argv[2]]' "$repo/package.json" "$1"; }
deno_version=$(version deno)
bun_version=$(version bun)
export WINEPREFIX=/opt/prefix WINEDEBUG=-all

# Mounts what Wine needs and runs "$@" in the chroot, all in a private mount namespace.
in_chroot() {
  unshare --mount --propagation private -- bash -c '
    set -e
    r=$1; shift
    mount --bind /proc "$r/proc"; mount --bind /dev "$r/dev"; mount --bind /dev/pts "$r/dev/pts"
    mount --bind /sys "$r/sys"; mkdir -p "$r/repo"; mount --bind -o ro "$REPO" "$r/repo"
    exec chroot "$r" "$@"' in_chroot "$root_dir" "$@"
}
export REPO=$repo

# The Windows build of a runtime, from its npm package, at the version package.json pins: opt/NAME-VERSION/NAME.exe.
fetch_exe() { # name version npm-package
  local dir="$root_dir/opt/$1-$2"
  [ -x "$dir/$1.exe" ] && return
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$3@$2" >/dev/null && tar -xzf ./*.tgz && rm ./*.tgz)
  mv "$(find "$dir/package" -name "$1.exe")" "$dir/$1.exe"
  rm -rf "$dir/package"
}

case ${1:-} in
prepare)
  if [ ! -x "$root_dir/usr/bin/wine" ]; then
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    # The Debian mirror this machine's apt uses (not -security, not a third party's repository).
    mirror=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true) |
      grep -oE '^(URIs:|deb) +https?://[^ ]+/debian/?$' | awk '{print $2}' | head -1)
    rm -rf "$root_dir.partial"
    mkdir -p "$(dirname "$root_dir")"
    debootstrap --variant=minbase trixie "$root_dir.partial" "${mirror:-http://deb.debian.org/debian}" >/dev/null
    cp /etc/resolv.conf "$root_dir.partial/etc/resolv.conf"
    root_dir="$root_dir.partial" in_chroot bash -c \
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine wine64 >/dev/null'
    mv "$root_dir.partial" "$root_dir"
  fi
  fetch_exe deno "$deno_version" @deno/win32-x64
  fetch_exe bun "$bun_version" @oven/bun-windows-x64
  if [ ! -f "$root_dir/opt/prefix/system.reg" ]; then
    in_chroot bash -c 'wineboot -i >/dev/null 2>&1; wineserver -w'
  fi
  ;;
run)
  exe=$2-$(version "$2")/$2.exe
  shift 2
  # Deno keeps its cache in the prefix; wineserver is stopped before the namespace goes.
  in_chroot bash -c 'DENO_DIR=/opt/prefix/deno wine "/opt/$0" "$@"; status=$?; wineserver -k 2>/dev/null; exit $status' \
    "$exe" "$@"
  ;;
*)
  echo "usage: $0 prepare | run deno|bun ARGS..." >&2
  exit 2
  ;;
esac
