#!/usr/bin/env bash
# Prepares the Debian root the boot tests start with systemd as PID 1
# (test/packaging/boot.test.ts, under systemd-nspawn): the minbase root of
# scripts/make-test-root.sh plus systemd, dbus, logrotate and cloud-init, and
# still without libatomic1 (nor node), like a minimal cloud image. Built once
# at a cache path outside the repository, then only read: every boot runs on
# an overlay whose changes stay on a tmpfs. This step and make-test-root.sh
# are the only ones that use the network (the root's own Debian mirror).
#
#   bash scripts/make-boot-root.sh        (as root, after make-test-root.sh; CI runs both)
#
# CFNTOOLS_BOOT_ROOT moves the root (default /var/cache/cfntools-test/boot-bookworm),
# CFNTOOLS_TEST_ROOT the minbase root it starts from; the tests read the same variables.
set -euo pipefail
ROOT=${CFNTOOLS_BOOT_ROOT:-/var/cache/cfntools-test/boot-bookworm}
BASE=${CFNTOOLS_TEST_ROOT:-/var/cache/cfntools-test/minbase-bookworm}
# cloud-init brings python3 and its modules; dbus is what systemctl and logind expect on a real image.
PACKAGES="systemd systemd-sysv dbus logrotate cloud-init"

# Built here, a root appears only when finished (renamed into place); one made by hand is taken as it is.
if [ -x "$ROOT/lib/systemd/systemd" ] && [ -x "$ROOT/usr/bin/cloud-init" ]; then
  echo "boot root: $ROOT (present)"
  exit 0
fi
if [ -e "$ROOT" ] && [ -n "$(ls -A "$ROOT" 2>/dev/null)" ]; then
  echo "make-boot-root: $ROOT exists but is no boot root; remove it or set CFNTOOLS_BOOT_ROOT elsewhere" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "make-boot-root: needs root (chroot, mounts); run it with sudo" >&2
  exit 1
fi
if [ ! -x "$BASE/usr/bin/dpkg" ]; then
  echo "make-boot-root: no minbase root at $BASE; run scripts/make-test-root.sh first" >&2
  exit 1
fi

rmdir "$ROOT" 2>/dev/null || true
mkdir -p "$(dirname "$ROOT")"
# Build beside the final path and rename: a killed run never leaves something that looks finished.
TMP="$ROOT.partial.$$"
trap 'rm -rf "$TMP" "$TMP.log"' EXIT
echo "boot root: $BASE + $PACKAGES -> $ROOT (about 1-2 minutes)"
cp -a "$BASE" "$TMP"
# The minbase root keeps libatomic1's .deb for the minbase tests; this root is the image without it.
rm -rf "$TMP/var/cache/cfntools-test-debs"
[ -s "$TMP/etc/resolv.conf" ] || cp -L /etc/resolv.conf "$TMP/etc/resolv.conf"
# Maintainer scripts want /proc and /dev; a private mount namespace takes both away at the end.
# shellcheck disable=SC2016
if ! unshare -m --propagation private sh -c '
  set -e
  mount -t proc proc "$1/proc"
  mount --rbind /dev "$1/dev"
  chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $2"
' sh "$TMP" "$PACKAGES" >"$TMP.log" 2>&1; then
  tail -n 20 "$TMP.log" >&2
  echo "make-boot-root: installing $PACKAGES failed (log above)" >&2
  exit 1
fi
rm -f "$TMP.log"
# The tests rely on these being absent: the package must bring what it needs.
for p in libatomic1 nodejs; do
  if chroot "$TMP" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    echo "make-boot-root: $p is installed in the boot root; it should not be" >&2
    exit 1
  fi
done
# cloud-init looks only for a NoCloud seed (/var/lib/cloud/seed/nocloud): never for a metadata
# service (169.254.169.254), and it leaves the network alone (the tests give the container only lo).
mkdir -p "$TMP/etc/cloud/cloud.cfg.d"
cat >"$TMP/etc/cloud/cloud.cfg.d/05-cfntools-test.cfg" <<'EOF'
# scripts/make-boot-root.sh: a test image; its user data comes from a NoCloud seed only.
datasource_list: [ NoCloud ]
network: {config: disabled}
# The one locale the image has (C.UTF-8 is built into glibc; en_US.UTF-8, cloud-init's default, was never generated).
locale: C.UTF-8
EOF
# apt's timers would only fail without a network; nothing else of the image is changed.
chroot "$TMP" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer
# No machine id of its own, as image builders leave it: systemd makes one at each boot.
: >"$TMP/etc/machine-id"
rm -f "$TMP/var/lib/dbus/machine-id"
chroot "$TMP" apt-get clean
rm -rf "$TMP"/var/lib/apt/lists/* "$TMP"/var/cache/apt/*.bin
mv "$TMP" "$ROOT"
trap - EXIT
echo "boot root: $ROOT ready ($(du -sh "$ROOT" | cut -f1))"
