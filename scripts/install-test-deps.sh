#!/usr/bin/env bash
# Installs the Debian packages the tests compare against or drive:
# python3-botocore (SigV4 differential, emulator checks), heat-cfntools (the
# peer we compare with), openssl (throw-away CAs), archivers, iproute2, and
# the package tools cfn-init is tested on: dpkg-dev, rpm, ruby (gem), venv/pip;
# strace (the order of fsync and rename in durable writes); haproxy (the
# stats socket cfn-push-stats --haproxy reads); for the packages: cpio (the
# rpm's payload), logrotate (its file checked), systemd (systemd-analyze
# verify), patchelf (the executable's RUNPATH, set by scripts/package.js),
# busybox (install.sh under busybox sh, as minimal images run it),
# debootstrap and the minimal Debian root the .deb is installed into
# (scripts/make-test-root.sh); systemd-container (systemd-nspawn) and the root
# the boot tests start with systemd as PID 1 (scripts/make-boot-root.sh);
# for the arm64 build and its tests, qemu-user-static (arm64 programs run under
# qemu-user, invoked by name or registered in a private binfmt_misc:
# scripts/with-qemu-binfmt.sh), binutils-aarch64-linux-gnu (the strip that
# reads arm64 ELF) and the arm64 minimal root; gcc and libc6-dev, with
# gcc-aarch64-linux-gnu and libc6-dev-arm64-cross, build the program
# launcher (scripts/launcher.js) statically for each architecture. The roots are the only steps
# besides apt that use the network.
# Real Heat's own packages are installed by the rig when its tests start.
set -euo pipefail
PKGS=(python3 python3-botocore python3-venv python3-pip heat-cfntools openssl tar gzip bzip2 xz-utils zip unzip curl iproute2 util-linux dpkg-dev apt-utils rpm ruby strace haproxy cpio logrotate systemd debootstrap binutils patchelf busybox qemu-user-static binutils-aarch64-linux-gnu gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies: all present"
elif [ "$(id -u)" -ne 0 ]; then
  echo "test dependencies missing (${missing[*]}); run this script as root (sudo) to install them" >&2
  exit 1
else
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# systemd-nspawn from the same source version as the host's systemd: any other
# version of systemd-container would pull in (upgrade) the host's own systemd.
if ! dpkg-query -W -f='${Status}' systemd-container 2>/dev/null | grep -q 'install ok installed'; then
  want=$(dpkg-query -W -f='${Version}' systemd)
  if [ "$(id -u)" -ne 0 ]; then
    echo "systemd-container missing; run this script as root (sudo) to install systemd-container=$want" >&2
    exit 1
  fi
  echo "installing: systemd-container=$want (the host's systemd version)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "systemd-container=$want" >/dev/null || {
    echo "systemd-container $want (the installed systemd's version) cannot be installed; the boot tests need it (apt-cache policy systemd-container)" >&2
    exit 1
  }
fi
if [ "$(id -u)" -eq 0 ]; then
  bash "$(dirname "$0")/make-test-root.sh"
  bash "$(dirname "$0")/make-boot-root.sh"
  bash "$(dirname "$0")/make-test-root.sh" --arch arm64
else
  echo "not root: no minimal Debian roots made; the arm64 build cannot run, and the packaging tests that install the packages into them will skip"
fi
