#!/usr/bin/env bash
# Runs a command in which arm64 programs start by themselves under qemu-user
# (a chroot into an arm64 root, dpkg and its maintainer scripts there), while
# the host's binfmt_misc stays as it is: the command gets a user namespace of
# its own (every uid and gid mapped to itself, so root stays root and files
# keep their owners) and a mount namespace with a private binfmt_misc
# instance (Linux 6.7 or later), where Debian's own qemu-aarch64 entry is
# registered. Its F flag opens the interpreter now, so a chroot needs no copy
# of it. Everything ends with the namespaces.
#
#   scripts/with-qemu-binfmt.sh [UNSHARE-OPTION...] -- COMMAND [ARG...]
#
# UNSHARE-OPTIONs are added to `unshare --user --mount` (e.g. --net --pid
# --fork --mount-proc). Needs root and qemu-user-static. Exit status: the command's;
# 125 when the namespace or the registration cannot be made (the reason on stderr).
set -euo pipefail
ENTRY=/usr/lib/binfmt.d/qemu-aarch64.conf

if [ "${1:-}" = --inside ]; then
	shift
	# The parent writes our id maps once it sees the new namespace; gid_map is written last.
	i=0
	until [ -n "$(cat /proc/self/gid_map)" ]; do
		i=$((i + 1))
		[ $i -le 1000 ] || { echo "with-qemu-binfmt: no id map after 10 s" >&2; exit 125; }
		sleep 0.01
	done
	if ! mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null; then
		echo "with-qemu-binfmt: cannot mount a private binfmt_misc in a user namespace (needs Linux 6.7 or later; this is $(uname -r))" >&2
		exit 125
	fi
	cat "$ENTRY" >/proc/sys/fs/binfmt_misc/register
	exec "$@"
fi

opts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	opts+=("$1")
	shift
done
if [ $# -lt 2 ]; then
	echo "usage: $0 [UNSHARE-OPTION...] -- COMMAND [ARG...]" >&2
	exit 2
fi
shift
if [ ! -r "$ENTRY" ] || ! command -v qemu-aarch64-static >/dev/null; then
	echo "with-qemu-binfmt: qemu-aarch64-static or $ENTRY is missing (Debian package qemu-user-static)" >&2
	exit 125
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "with-qemu-binfmt: needs root (to map every uid of the new user namespace to itself)" >&2
	exit 125
fi

# Explicit stdin: a background job would otherwise read /dev/null.
unshare --user --mount ${opts[@]+"${opts[@]}"} -- "$0" --inside "$@" <&0 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' TERM INT HUP
me=$(readlink /proc/self/ns/user)
i=0
until [ "$(readlink "/proc/$pid/ns/user" 2>/dev/null || echo "$me")" != "$me" ]; do
	i=$((i + 1))
	if [ $i -gt 1000 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "with-qemu-binfmt: unshare --user did not start a user namespace" >&2
		wait "$pid" || true
		exit 125
	fi
	sleep 0.01
done
echo "0 0 4294967295" >"/proc/$pid/uid_map"
echo "0 0 4294967295" >"/proc/$pid/gid_map"
set +e
wait "$pid"
status=$?
# A signal's trap returns from wait early: wait again for the command's own end.
while kill -0 "$pid" 2>/dev/null; do
	wait "$pid"
	status=$?
done
exit $status
