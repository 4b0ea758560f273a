#!/bin/sh
# Installs cfntools from the unpacked tarball this script sits in (bin/,
# lib/cfntools/, systemd/, logrotate/). Safe to run again: what is already in
# place is left alone and reported as unchanged. It never enables or starts a
# unit. Every argument and the whole plan (where each file goes, the units as
# they will be written) is checked before the first change, so a refusal
# leaves the system as it was. POSIX sh: it runs under dash and busybox.
set -eu
# `cd DIR` must enter DIR, not a namesake found through CDPATH.
unset CDPATH

usage() {
	cat <<'EOF'
usage: ./install.sh [--prefix DIR] [--root DIR] [--aws-links | --no-aws-links]
                    [--unit-dir DIR] [--no-systemd] [--no-logrotate] [--force]

Installs the cfntools executable, one link per tool (cfn-init, cfn-signal,
cfn-hup, cfn-push-stats, cfn-get-metadata, cfn-create-aws-symlinks,
heat-agent), the library and program launcher it carries, the systemd
units, the logrotate file and /etc/cfn/hooks.d.

  --prefix DIR     install under DIR (default /usr/local): DIR/bin/cfntools
                   and its links, and lib/cfntools/ (libatomic.so.1 and
                   cfntools-launcher) beside the directory DIR/bin really is,
                   where the executable looks for them. The units' ExecStart= lines are rewritten to DIR/bin.
                   DIR is written into the units as systemd reads them: it may
                   hold spaces, & # % and other printable ASCII, not a quote,
                   a backslash or a $ (systemd refuses or expands those in a
                   program's path), nor // . or .. components.
  --root DIR       install into the tree at DIR as if it were / (an image
                   being built, a chroot, a test): files go under DIR, links
                   and unit paths name the paths as seen from inside it. Links
                   in the tree are followed as inside it: an absolute one from
                   DIR, .. never above DIR; nothing is written outside DIR.
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
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

say() { printf '%s\n' "$*"; }

NL='
'

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

# absolute_dir FLAG VALUE: VALUE without its trailing slashes, in DIR; refused unless absolute,
# without control characters (a unit or this script's report would be cut at a newline) and
# normalized (systemd refuses // . and .. in a program's path; with links they are ambiguous).
absolute_dir() {
	case "$2" in /*) ;; *) die "$1 must be an absolute path, got $2" ;; esac
	case "$2" in *"$NL"* | *[[:cntrl:]]*) die "$1: a control character in the path" ;; esac
	DIR=$2
	while case "$DIR" in */) true ;; *) false ;; esac; do DIR=${DIR%/}; done
	case "$DIR/" in *//* | */./* | */../*) die "$1 $2: write it without //, . or .. components" ;; esac
}

absolute_dir --prefix "$PREFIX"
PREFIX=$DIR
[ -n "$PREFIX" ] || die "--prefix / would install into /bin; use --prefix /usr"
# The units name PREFIX/bin/TOOL as their program; systemd refuses a quote or a backslash there
# and expands $, and it reads only UTF-8 (checked here as printable ASCII, which sh can check).
case "$PREFIX" in *[\"\'\\\$]*) die "--prefix $PREFIX: systemd cannot run a program whose path holds a quote, a backslash or a \$" ;; esac
if printf '%s\n' "$PREFIX" | LC_ALL=C grep -q '[^ -~]'; then
	die "--prefix: only printable ASCII characters (systemd units name the path)"
fi

if [ -z "$UNIT_DIR" ]; then
	case "$PREFIX" in
	/usr | /usr/local) UNIT_DIR=$PREFIX/lib/systemd/system ;;
	*) UNIT_DIR=/etc/systemd/system ;;
	esac
fi
absolute_dir --unit-dir "$UNIT_DIR"
UNIT_DIR=$DIR
[ -n "$UNIT_DIR" ] || die "--unit-dir / is no place for units"

# physical DIR: DIR's physical absolute path, in DIR (a name ending in a newline survives: $(...) drops trailing newlines).
physical() {
	case "$1" in -*) set -- "./$1" ;; esac
	DIR=$(cd "$1" && pwd -P && echo x) || die "cannot enter $1"
	DIR=${DIR%?x}
}

if [ -n "$ROOT" ]; then
	[ -d "$ROOT" ] || die "--root $ROOT: not a directory"
	physical "$ROOT"
	ROOT=$DIR
	if [ "$ROOT" = / ]; then ROOT=; fi
fi

case "$0" in */*) physical "${0%/*}" ;; *) physical . ;; esac
HERE=$DIR
[ -f "$HERE/bin/cfntools" ] || die "$HERE/bin/cfntools is missing: run this from the unpacked tarball"

# The tools are the links beside the executable in the tarball.
TOOLS=
for f in "$HERE"/bin/*; do
	[ -L "$f" ] || continue
	[ "$(readlink "$f")" = cfntools ] || continue
	TOOLS="$TOOLS ${f##*/}"
done
[ -n "$TOOLS" ] || die "no tool links in $HERE/bin"
LIBS=
for f in "$HERE"/lib/cfntools/*; do
	[ -f "$f" ] || die "$HERE/lib/cfntools is missing: run this from the unpacked tarball"
	LIBS="$LIBS ${f##*/}"
done
if [ "$LOGROTATE" = yes ]; then
	[ -f "$HERE/logrotate/cfntools" ] || die "$HERE/logrotate/cfntools is missing: run this from the unpacked tarball"
fi

# inside DIR: DIR (absolute, as seen from inside the root) resolved as the kernel resolves it with
# the root as /, in DIR: each link in it followed, an absolute one from the root, .. never above
# the root, at most 40 links. What exists of the result is real directories, not links: writing to
# $ROOT$DIR cannot leave the root, whatever links the tree holds. What does not exist yet is
# created there. Without --root it is the path the kernel would use.
inside() {
	todo=$1
	at=
	links=0
	while :; do
		while case "$todo" in /*) true ;; *) false ;; esac; do todo=${todo#/}; done
		[ -n "$todo" ] || break
		comp=${todo%%/*}
		todo=${todo#"$comp"}
		case "$comp" in
		.) continue ;;
		..) at=${at%/*}; continue ;;
		esac
		[ "${#comp}" -le 255 ] || die "$1: a name in it is longer than 255 bytes"
		if [ -L "$ROOT$at/$comp" ]; then
			links=$((links + 1))
			[ "$links" -le 40 ] || die "${ROOT:+--root $ROOT: }$1: more than 40 links to follow (a loop?)"
			target=$(readlink "$ROOT$at/$comp" && echo x) || die "cannot read the link $at/$comp"
			target=${target%?x}
			[ -n "$target" ] || die "$at/$comp is an empty link"
			case "$target" in /*) at= ;; esac
			todo=$target$todo
		elif [ -e "$ROOT$at/$comp" ] && [ ! -d "$ROOT$at/$comp" ]; then
			die "cannot install into $1: $at/$comp is not a directory${ROOT:+ (in --root $ROOT)}"
		else
			at=$at/$comp
		fi
	done
	DIR=$at
}

# writable DIR: refused unless the deepest existing directory of $ROOT$DIR can be written to
# (a read-only tree, another owner's), before anything is installed elsewhere.
writable() {
	w=$ROOT$1
	while [ -n "$w" ] && [ ! -e "$w" ]; do w=${w%/*}; done
	[ -w "${w:-/}" ] || die "cannot write in ${w#"$ROOT"}/${ROOT:+ (in --root $ROOT)}"
}

# check_place DIR NAME: refused when $ROOT$DIR/NAME is a directory (mv would put the file inside it) or
# its path too long for the system (with room for the temporary name beside it).
check_place() {
	t=$ROOT$1/$2
	[ "${#t}" -le 4000 ] || die "$1/$2: the path is too long"
	if [ -d "$t" ] && [ ! -L "$t" ]; then die "cannot install $1/$2: a directory is in its place${ROOT:+ (in --root $ROOT)}"; fi
}

# The plan: every destination directory resolved inside the root and writable, every file's
# place checked.
inside "$PREFIX/bin"
BIN=$DIR
writable "$BIN"
# The library where the executable's RUNPATH ($ORIGIN/../lib/cfntools) finds it: $ORIGIN is the
# directory the executable really is in, so beside the resolved bin.
inside "${BIN%/*}/lib/cfntools"
LIB=$DIR
writable "$LIB"
for f in $LIBS; do check_place "$LIB" "$f"; done
check_place "$BIN" cfntools
for t in $TOOLS; do check_place "$BIN" "$t"; done
UNITS=
if [ "$SYSTEMD" = yes ]; then
	inside "$UNIT_DIR"
	UNITS_AT=$DIR
	writable "$UNITS_AT"
	# Beside the units, where systemd reads presets (UNIT_DIR/../system-preset): systemctl preset enables none.
	inside "${UNIT_DIR%/*}/system-preset"
	PRESETS_AT=$DIR
	writable "$PRESETS_AT"
	for u in "$HERE"/systemd/*.service "$HERE"/systemd/*.timer; do
		[ -f "$u" ] || continue
		UNITS="$UNITS ${u##*/}"
		check_place "$UNITS_AT" "${u##*/}"
	done
	[ -n "$UNITS" ] || die "no units in $HERE/systemd: run this from the unpacked tarball"
	for p in "$HERE"/systemd/*.preset; do
		if [ -f "$p" ]; then check_place "$PRESETS_AT" "${p##*/}"; fi
	done
fi
if [ "$LOGROTATE" = yes ]; then
	inside /etc/logrotate.d
	LOGROTATE_AT=$DIR
	writable "$LOGROTATE_AT"
	check_place "$LOGROTATE_AT" cfntools
fi
inside /etc/cfn
CFN_AT=$DIR
inside "$CFN_AT/hooks.d"
HOOKS_AT=$DIR
writable "$HOOKS_AT"
if [ "$AWS_LINKS" = yes ]; then
	inside /opt/aws/bin
	AWS_AT=$DIR
	writable "$AWS_AT"
	for t in $TOOLS; do
		case "$t" in cfn-*) check_place "$AWS_AT" "$t" ;; esac
	done
fi

# The units name /usr/bin; their ExecStart= and ExecReload= name PREFIX/bin/TOOL instead, written
# as systemd reads it: % doubled (a specifier otherwise), the path quoted when it holds a space
# (it would be split there otherwise). Written now, so that installing cannot fail half-way on them.
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' HUP INT TERM
EXEC_DIR=$(printf '%s\n' "$PREFIX/bin" | sed 's/%/%%/g')
case "$PREFIX" in *[[:space:]]*) Q='"' ;; *) Q= ;; esac
render_unit() {
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in
		ExecStart=/usr/bin/* | ExecReload=/usr/bin/*)
			rest=${line#*=/usr/bin/}
			tool=${rest%%[[:space:]]*}
			printf '%s=%s%s/%s%s%s\n' "${line%%=*}" "$Q" "$EXEC_DIR" "$tool" "$Q" "${rest#"$tool"}"
			;;
		*) printf '%s\n' "$line" ;;
		esac
	done <"$1" >"$2"
}
for u in $UNITS; do render_unit "$HERE/systemd/$u" "$STAGE/$u"; done

# From here on, changes.

# replace NEW DEST: NEW renamed to DEST. mv moves NEW into DEST when DEST is a link to a directory
# (anywhere, outside the root too), so such a link goes first.
replace() {
	if [ -L "$2" ] && [ -d "$2" ]; then rm -f "$2"; fi
	mv -f "$1" "$2"
}

# install_file SRC DIR NAME MODE: copy to $ROOT$DIR/NAME unless identical; a new file is renamed
# into place, so a running cfn-hup keeps its old executable (no "text file busy").
install_file() {
	dest=$ROOT$2/$3
	if [ -f "$dest" ] && [ ! -L "$dest" ] && cmp -s "$1" "$dest"; then
		chmod "$4" "$dest"
		say "unchanged  $2/$3"
		return
	fi
	if [ -e "$dest" ] || [ -L "$dest" ]; then what=updated; else what=installed; fi
	mkdir -p "$ROOT$2"
	tmp=$dest.cfntools-new.$$
	rm -f "$tmp"
	cp "$1" "$tmp"
	chmod "$4" "$tmp"
	replace "$tmp" "$dest"
	say "$what  $2/$3"
}

# link TARGET DIR NAME: $ROOT$DIR/NAME -> TARGET; a link elsewhere is replaced, a file only with REPLACE=yes.
link() {
	dest=$ROOT$2/$3
	if [ -L "$dest" ] && [ "$(readlink "$dest")" = "$1" ]; then
		say "unchanged  $2/$3 -> $1"
		return
	fi
	if [ -e "$dest" ] && [ ! -L "$dest" ] && [ "$REPLACE" != yes ]; then
		say "kept  $2/$3 (a file, not a link; --force replaces it)"
		return
	fi
	if [ -e "$dest" ] || [ -L "$dest" ]; then what=relinked; else what=linked; fi
	mkdir -p "$ROOT$2"
	tmp=$dest.cfntools-new.$$
	rm -f "$tmp"
	ln -s "$1" "$tmp"
	replace "$tmp" "$dest"
	say "$what  $2/$3 -> $1"
}

# The library the executable links and minimal images lack, where its RUNPATH
# ($ORIGIN/../lib/cfntools) finds it, and the program launcher the tools look
# for there; before the executable, so that a new one never starts without them.
for f in $LIBS; do
	case $f in
	cfntools-launcher) mode=0755 ;;
	*) mode=0644 ;;
	esac
	install_file "$HERE/lib/cfntools/$f" "$LIB" "$f" $mode
done
chmod 0755 "$ROOT$LIB"

install_file "$HERE/bin/cfntools" "$BIN" cfntools 0755
# In PREFIX/bin the tools are ours to replace (heat-cfntools' scripts when PREFIX is /usr).
REPLACE=yes
for t in $TOOLS; do
	link cfntools "$BIN" "$t"
done

if [ "$SYSTEMD" = yes ]; then
	for u in $UNITS; do
		install_file "$STAGE/$u" "$UNITS_AT" "$u" 0644
	done
	for p in "$HERE"/systemd/*.preset; do
		[ -f "$p" ] || continue
		install_file "$p" "$PRESETS_AT" "${p##*/}" 0644
	done
fi

if [ "$LOGROTATE" = yes ]; then
	install_file "$HERE/logrotate/cfntools" "$LOGROTATE_AT" cfntools 0644
fi

if [ -d "$ROOT$HOOKS_AT" ]; then
	say "unchanged  $HOOKS_AT/"
else
	mkdir -p "$ROOT$HOOKS_AT"
	chmod 0755 "$ROOT$CFN_AT" "$ROOT$HOOKS_AT"
	say "created  $HOOKS_AT/"
fi

if [ "$AWS_LINKS" = yes ]; then
	REPLACE=$FORCE
	for t in $TOOLS; do
		case "$t" in cfn-*) link "$PREFIX/bin/$t" "$AWS_AT" "$t" ;; esac
	done
fi

# Only on the running system (not into --root), and only when systemd runs it.
if [ "$SYSTEMD" = yes ] && [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload && say "reloaded  systemd units (systemctl daemon-reload)"
fi
# The executable as installed must start here (a glibc older than 2.28 stops it). Into --root this
# machine's libraries answer, not the image's: there a failure is only reported.
if ! version=$("$ROOT$BIN/cfntools" --version 2>&1); then
	[ -n "$ROOT" ] || die "installed, but $PREFIX/bin/cfntools does not start on this system (it needs glibc 2.28 or later): $version"
	version="(not started on this machine: $version)"
fi
say "cfntools ${version#cfntools } in ${ROOT:+$ROOT}$PREFIX/bin; no unit enabled (systemctl enable --now cfn-hup.service, or cfn-hup.timer)"
