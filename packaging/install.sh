#!/bin/sh
# Installs cfntools from the unpacked tarball this script sits in (bin/,
# lib/cfntools/, systemd/, logrotate/). Safe to run again: what is already in
# place is left alone and reported as unchanged. It never enables or starts a
# unit.
set -eu

usage() {
	cat <<'EOF'
usage: ./install.sh [--prefix DIR] [--root DIR] [--aws-links | --no-aws-links]
                    [--unit-dir DIR] [--no-systemd] [--no-logrotate] [--force]

Installs the cfntools executable, one link per tool (cfn-init, cfn-signal,
cfn-hup, cfn-push-stats, cfn-get-metadata, cfn-create-aws-symlinks,
heat-agent), the library it carries, the systemd units, the logrotate file
and /etc/cfn/hooks.d.

  --prefix DIR     install under DIR (default /usr/local): DIR/bin/cfntools
                   and its links, and DIR/lib/cfntools/libatomic.so.1, where
                   the executable looks for it. The units' ExecStart= lines
                   are rewritten to DIR/bin.
  --root DIR       install into the tree at DIR as if it were / (an image
                   being built, a chroot, a test): files go under DIR, links
                   and unit paths name the paths as seen from inside it.
  --aws-links      link the cfn-* tools into /opt/aws/bin, where templates
                   written for Amazon Linux's aws-cfn-bootstrap call them
                   (/opt/aws/bin/cfn-init ...). This is the default: an image
                   that replaces aws-cfn-bootstrap needs those paths.
  --no-aws-links   leave /opt/aws/bin alone (Heat images call the tools by
                   PATH, and Heat's boothook runs cfn-create-aws-symlinks itself).
  --unit-dir DIR   where the units go (default: PREFIX/lib/systemd/system for
                   /usr and /usr/local, which systemd reads; /etc/systemd/system
                   for any other prefix); their preset goes to DIR/../system-preset.
  --no-systemd     install no units.
  --no-logrotate   install no /etc/logrotate.d/cfntools.
  --force          replace files in /opt/aws/bin that are not links to these
                   tools (aws-cfn-bootstrap's own, say); without it they are kept.
  -h, --help       this text.

Units installed, none enabled, with a preset that keeps `systemctl preset`
from enabling them (pick cfn-hup.service or cfn-hup.timer, not both):
  cfn-hup.service        cfn-hup as a daemon (needs /etc/cfn/cfn-hup.conf)
  cfn-hup.timer          one cfn-hup check every 15 minutes instead (cfn-hup-pass.service)
  heat-agent.service     heat-agent (needs /etc/os-collect-config.conf)
  cfn-init-resume.service  finishes a cfn-init run that stopped for a reboot
EOF
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

PREFIX=/usr/local
ROOT=
AWS_LINKS=yes
UNIT_DIR=
SYSTEMD=yes
LOGROTATE=yes
FORCE=no
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
	--prefix=*) PREFIX=${1#*=}; shift ;;
	--root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
	--root=*) ROOT=${1#*=}; shift ;;
	--unit-dir) [ $# -ge 2 ] || die "--unit-dir needs a directory"; UNIT_DIR=$2; shift 2 ;;
	--unit-dir=*) UNIT_DIR=${1#*=}; shift ;;
	--aws-links) AWS_LINKS=yes; shift ;;
	--no-aws-links) AWS_LINKS=no; shift ;;
	--no-systemd) SYSTEMD=no; shift ;;
	--no-logrotate) LOGROTATE=no; shift ;;
	--force) FORCE=yes; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path, got $PREFIX" ;; esac
PREFIX=$(printf '%s' "$PREFIX" | sed 's#/*$##')
[ -n "$PREFIX" ] || die "--prefix / would install into /bin; use --prefix /usr"
if [ -n "$ROOT" ]; then
	[ -d "$ROOT" ] || die "--root $ROOT: not a directory"
	ROOT=$(cd "$ROOT" && pwd)
	[ "$ROOT" = / ] && ROOT=
fi
if [ -z "$UNIT_DIR" ]; then
	case "$PREFIX" in
	/usr | /usr/local) UNIT_DIR=$PREFIX/lib/systemd/system ;;
	*) UNIT_DIR=/etc/systemd/system ;;
	esac
fi
case "$UNIT_DIR" in /*) ;; *) die "--unit-dir must be an absolute path, got $UNIT_DIR" ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$HERE/bin/cfntools" ] || die "$HERE/bin/cfntools is missing: run this from the unpacked tarball"

# The tools are the links beside the executable in the tarball.
TOOLS=
for f in "$HERE"/bin/*; do
	[ -L "$f" ] || continue
	[ "$(readlink "$f")" = cfntools ] || continue
	TOOLS="$TOOLS ${f##*/}"
done
[ -n "$TOOLS" ] || die "no tool links in $HERE/bin"

say() { printf '%s\n' "$*"; }

# install_file SRC DEST MODE: copy unless identical; a new file is renamed into
# place, so a running cfn-hup keeps its old executable (no "text file busy").
install_file() {
	if [ -f "$2" ] && [ ! -L "$2" ] && cmp -s "$1" "$2"; then
		chmod "$3" "$2"
		say "unchanged  ${2#"$ROOT"}"
		return
	fi
	if [ -e "$2" ] || [ -L "$2" ]; then what=updated; else what=installed; fi
	mkdir -p "$(dirname "$2")"
	tmp="$2.cfntools-new.$$"
	cp "$1" "$tmp"
	chmod "$3" "$tmp"
	mv -f "$tmp" "$2"
	say "$what  ${2#"$ROOT"}"
}

# link TARGET NAME: NAME -> TARGET; a link elsewhere is replaced, a file only with REPLACE=yes.
link() {
	if [ -L "$2" ] && [ "$(readlink "$2")" = "$1" ]; then
		say "unchanged  ${2#"$ROOT"} -> $1"
		return
	fi
	if [ -e "$2" ] && [ ! -L "$2" ] && [ "$REPLACE" != yes ]; then
		say "kept  ${2#"$ROOT"} (a file, not a link; --force replaces it)"
		return
	fi
	if [ -e "$2" ] || [ -L "$2" ]; then what=relinked; else what=linked; fi
	mkdir -p "$(dirname "$2")"
	ln -sfn "$1" "$2.cfntools-new.$$"
	mv -f "$2.cfntools-new.$$" "$2"
	say "$what  ${2#"$ROOT"} -> $1"
}

# The library the executable links and minimal images lack, where its RUNPATH
# ($ORIGIN/../lib/cfntools) finds it; before the executable, so that a new one
# never starts without it.
LIB=$ROOT$PREFIX/lib/cfntools
for f in "$HERE"/lib/cfntools/*; do
	[ -f "$f" ] || die "$HERE/lib/cfntools is missing: run this from the unpacked tarball"
	install_file "$f" "$LIB/${f##*/}" 0644
done
chmod 0755 "$LIB"

BIN=$ROOT$PREFIX/bin
install_file "$HERE/bin/cfntools" "$BIN/cfntools" 0755
# In PREFIX/bin the tools are ours to replace (heat-cfntools' scripts when PREFIX is /usr).
REPLACE=yes
for t in $TOOLS; do
	link cfntools "$BIN/$t"
done

if [ "$SYSTEMD" = yes ]; then
	# The units name /usr/bin; point their ExecStart= at PREFIX/bin.
	edited=$(mktemp)
	trap 'rm -f "$edited"' EXIT
	for u in "$HERE"/systemd/*.service "$HERE"/systemd/*.timer; do
		[ -f "$u" ] || continue
		sed -e "/^ExecStart=/s#/usr/bin/#$PREFIX/bin/#" -e "/^ExecReload=/s#/usr/bin/#$PREFIX/bin/#" "$u" >"$edited"
		install_file "$edited" "$ROOT$UNIT_DIR/${u##*/}" 0644
	done
	# Beside the units, where systemd reads presets (UNIT_DIR/../system-preset): systemctl preset enables none.
	for p in "$HERE"/systemd/*.preset; do
		[ -f "$p" ] || continue
		install_file "$p" "$ROOT${UNIT_DIR%/*}/system-preset/${p##*/}" 0644
	done
fi

if [ "$LOGROTATE" = yes ]; then
	install_file "$HERE/logrotate/cfntools" "$ROOT/etc/logrotate.d/cfntools" 0644
fi

if [ -d "$ROOT/etc/cfn/hooks.d" ]; then
	say "unchanged  /etc/cfn/hooks.d/"
else
	mkdir -p "$ROOT/etc/cfn/hooks.d"
	chmod 0755 "$ROOT/etc/cfn" "$ROOT/etc/cfn/hooks.d"
	say "created  /etc/cfn/hooks.d/"
fi

if [ "$AWS_LINKS" = yes ]; then
	REPLACE=$FORCE
	for t in $TOOLS; do
		case "$t" in cfn-*) link "$PREFIX/bin/$t" "$ROOT/opt/aws/bin/$t" ;; esac
	done
fi

# Only on the running system (not into --root), and only when systemd runs it.
if [ "$SYSTEMD" = yes ] && [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload && say "reloaded  systemd units (systemctl daemon-reload)"
fi
# The executable as installed must start here (a glibc older than 2.28 stops it). Into --root this
# machine's libraries answer, not the image's: there a failure is only reported.
if ! version=$("$BIN/cfntools" --version 2>&1); then
	[ -n "$ROOT" ] || die "installed, but $PREFIX/bin/cfntools does not start on this system (it needs glibc 2.28 or later): $version"
	version="(not started on this machine: $version)"
fi
say "cfntools ${version#cfntools } in ${ROOT:+$ROOT}$PREFIX/bin; no unit enabled (systemctl enable --now cfn-hup.service, or cfn-hup.timer)"
