#!/usr/bin/env bash
# Prepares the Debian root the packaging tests install the .deb into: a
# `debootstrap --variant=minbase bookworm` tree (no node, no python3), built
# once at a cache path outside the repository and reused. This is the only
# step that needs the network (deb.debian.org); the tests themselves never
# leave loopback and skip, visibly, when the root is absent.
#
#   bash scripts/make-test-root.sh                (as root; CI runs it before the tests)
#   bash scripts/make-test-root.sh --arch arm64   the arm64 root: the arm64 build
#                                                 runs its node on its libraries (qemu-user),
#                                                 and the arm64 packages are tested in it
#
# CFNTOOLS_TEST_ROOT moves the root (default /var/cache/cfntools-test/minbase-bookworm),
# CFNTOOLS_TEST_ROOT_ARM64 the arm64 one (default .../minbase-bookworm-arm64); the
# tests and scripts/arches.js read the same variables. The arm64 root is made on this
# x86_64 host in two stages: debootstrap --foreign unpacks it, then its second stage
# runs in it under qemu-user, in namespaces of its own (scripts/with-qemu-binfmt.sh:
# the host's binfmt_misc is left as it is).
set -euo pipefail
SUITE=bookworm
# This x86_64 host's own architecture, or arm64 (run under qemu-user).
case "$*" in
"" | "--arch amd64") ARCH=host ;;
"--arch arm64") ARCH=arm64 ;;
*) echo "usage: make-test-root.sh [--arch amd64|arm64]" >&2; exit 2 ;;
esac
# A command in a root: chroot ROOT COMMAND...
if [ "$ARCH" = host ]; then
  ROOT=${CFNTOOLS_TEST_ROOT:-/var/cache/cfntools-test/minbase-bookworm}
  in_root() { chroot "$@"; }
else
  ROOT=${CFNTOOLS_TEST_ROOT_ARM64:-/var/cache/cfntools-test/minbase-bookworm-arm64}
  in_root() { "$(dirname "$0")/with-qemu-binfmt.sh" --pid --fork --kill-child --mount-proc -- chroot "$@"; }
fi

# Packages minbase lacks that the tests install on purpose, with no network:
# libatomic1, which the .deb does not need (the executable carries its own
# libatomic.so.1), to show that the executable keeps to its own copy when the
# system has one too. Their .debs are kept, not installed, in the root at DEBS.
EXTRA_DEBS="libatomic1"
DEBS=var/cache/cfntools-test-debs

# The .debs, by the root's own apt from the root's own mirror (so they fit the root).
fetch_debs() {
  local root=$1 missing="" p
  for p in $EXTRA_DEBS; do
    ls "$root/$DEBS/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"
  done
  [ -n "$missing" ] || return 0
  echo "test root: fetching$missing into /$DEBS"
  mkdir -p "$root/$DEBS" "$root/etc"
  [ -s "$root/etc/resolv.conf" ] || cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  in_root "$root" apt-get update -qq
  # shellcheck disable=SC2086
  in_root "$root" sh -c "cd /$DEBS && apt-get download -qq -o APT::Sandbox::User=root$missing"
  in_root "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/*
}

# Built here, a root appears only when finished (renamed into place); one made by hand is taken as it is.
if [ -x "$ROOT/usr/bin/dpkg" ] && [ -x "$ROOT/bin/sh" ]; then
  [ "$(id -u)" -ne 0 ] || fetch_debs "$ROOT"
  echo "test root: $ROOT (present)"
  exit 0
fi
if [ -e "$ROOT" ] && [ -n "$(ls -A "$ROOT" 2>/dev/null)" ]; then
  echo "make-test-root: $ROOT exists but is no Debian root; remove it or set CFNTOOLS_TEST_ROOT elsewhere" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "make-test-root: needs root (debootstrap, chroot); run it with sudo" >&2
  exit 1
fi

# The mirror the machine itself uses (deb822 first, then a one-line list), else Debian's.
MIRROR=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
  MIRROR=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$MIRROR" ] && [ -r /etc/apt/sources.list ]; then
  MIRROR=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if [ "$ARCH" != host ] && ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  echo "make-test-root: the $ARCH root is made under qemu-user: install qemu-user-static (scripts/install-test-deps.sh does)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

rmdir "$ROOT" 2>/dev/null || true
mkdir -p "$(dirname "$ROOT")"
# Build beside the final path and rename: a killed run never leaves something that looks finished.
TMP="$ROOT.partial.$$"
trap 'rm -rf "$TMP"' EXIT
debootstrap_failed() {
  tail -n 20 "$TMP.log" >&2
  rm -f "$TMP.log"
  echo "make-test-root: debootstrap failed (log above)" >&2
  exit 1
}
if [ "$ARCH" = host ]; then
  echo "test root: debootstrap --variant=minbase $SUITE $ROOT $MIRROR (about 1-2 minutes)"
  debootstrap --variant=minbase "$SUITE" "$TMP" "$MIRROR" >"$TMP.log" 2>&1 || debootstrap_failed
else
  echo "test root: debootstrap --arch=$ARCH --variant=minbase $SUITE $ROOT $MIRROR, its second stage under qemu (about 3-4 minutes)"
  debootstrap --arch="$ARCH" --foreign --variant=minbase "$SUITE" "$TMP" "$MIRROR" >"$TMP.log" 2>&1 || debootstrap_failed
  # container=lxc: debootstrap then takes the root's device nodes as they are (a user namespace may not mknod).
  in_root "$TMP" /usr/bin/env container=lxc /debootstrap/debootstrap --second-stage >>"$TMP.log" 2>&1 || debootstrap_failed
fi
rm -f "$TMP.log"
# The tests rely on these being absent: the binary must need neither.
for p in node nodejs python3; do
  if in_root "$TMP" sh -c "command -v $p" >/dev/null 2>&1; then
    echo "make-test-root: $p is present in the minbase root; it should not be" >&2
    exit 1
  fi
done
# Keep the cache small: package downloads are not needed once installed.
rm -rf "$TMP"/var/cache/apt/archives/*.deb
fetch_debs "$TMP"
mv "$TMP" "$ROOT"
trap - EXIT
echo "test root: $ROOT ready ($(du -sh "$ROOT" | cut -f1))"
