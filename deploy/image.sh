#!/usr/bin/env bash
# Builds the node agent's image with no base image from a registry (deploy/Containerfile is FROM scratch): the
# single `keepalive` binary (npm run build:binary, built first if missing) and the C library it links and opens,
# copied from this machine. Needs podman; PODMAN may add its global flags (on a host with a hybrid cgroup layout:
# PODMAN="podman --runtime runc --cgroup-manager=cgroupfs").
#   bash deploy/image.sh [TAG]        # default localhost/tcp-keepalive:VERSION
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
tag=${1:-localhost/tcp-keepalive:$version}
binary="$root/build/keepalive"
[ -x "$binary" ] || (cd "$root" && npm run --silent build:binary)
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/rootfs/usr/local/bin" "$context/rootfs/tmp"
cp "$binary" "$context/rootfs/usr/local/bin/keepalive"
# Every library the binary links (its loader and libc among them), where it links them; libc.so.6 is also what the
# module opens through FFI.
for library in $(ldd "$binary" | grep -o '/[^ ]*'); do
  mkdir -p "$context/rootfs$(dirname "$library")"
  cp -L "$library" "$context/rootfs$library"
done
cp "$root/deploy/Containerfile" "$context/Containerfile"
${PODMAN:-podman} build --quiet --tag "$tag" "$context" >/dev/null
echo "$tag"
