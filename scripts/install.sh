#!/bin/sh
# `make install` / `make uninstall`: the static release binaries (target/static/) into
# $DESTDIR$PREFIX/bin, the builtin runners' manifests and the root filesystems that are made
# (not bound from the host: the shell runner's busybox tree) into
# $DESTDIR$PREFIX/share/vsbx/runners/.
#
# Usage: PREFIX=/usr/local DESTDIR= install.sh install|uninstall
#
# install records every file it writes and every directory it creates (paths without DESTDIR)
# in $PREFIX/share/vsbx/installed-files; uninstall removes exactly those files, then those
# directories if they are empty, then the record. Directories that existed before, and
# anything else (image runners added later with `vsbx runner add`), stay.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
prog="$mode"
die() {
    echo "$prog: $*" >&2
    exit 1
}
[ $# -eq 1 ] || mode=""
case $mode in
install | uninstall) ;;
*) echo "usage: PREFIX=DIR DESTDIR=DIR $0 install|uninstall (PREFIX and DESTDIR from the environment)" >&2; exit 2 ;;
esac
case $PREFIX in
/*) ;;
*) echo "$prog: PREFIX must be an absolute path (got '$PREFIX')" >&2; exit 2 ;;
esac
case "/$PREFIX/" in
*/../* | *"
"*) echo "$prog: PREFIX must not contain '..' or a newline (got '$PREFIX')" >&2; exit 2 ;;
esac
# /usr/local/ -> /usr/local; / stays /.
PREFIX=$(printf '%s' "$PREFIX" | sed 's#//*#/#g; s#\(.\)/$#\1#')
case $DESTDIR in
'' | /*) ;;
*) DESTDIR=$(pwd -P)/$DESTDIR ;;
esac
share=${PREFIX%/}/share/vsbx
bindir=${PREFIX%/}/bin
record=$share/installed-files
runners_src=examples/bundles/runners
bins="vsbx vsbx-runtime vsbx-bundle-gen"

if [ "$mode" = uninstall ]; then
    [ -f "$DESTDIR$record" ] || die "no $DESTDIR$record: nothing was installed there by make install (PREFIX=$PREFIX DESTDIR=$DESTDIR)"
    # Only paths install can have written: files under bin/ and share/vsbx/, directories at,
    # above or under PREFIX. A record edited to name anything else is refused as a whole.
    while IFS= read -r line; do
        kind=${line%% *}
        path=${line#* }
        case "/$path/" in */../* | */./*) die "refusing the record $DESTDIR$record: '$path' has . or .. in it" ;; esac
        case $kind:$path in
        f:"$bindir"/* | f:"$share"/*) ;;
        d:"$PREFIX" | d:"${PREFIX%/}"/*) ;;
        d:/*) case "${PREFIX%/}/" in "$path"/*) ;; *) die "refusing the record $DESTDIR$record: '$path' is not at or above $PREFIX" ;; esac ;;
        *) die "refusing the record $DESTDIR$record: bad line '$line'" ;;
        esac
    done <"$DESTDIR$record"
    grep '^f ' "$DESTDIR$record" | while IFS= read -r line; do
        path=${line#f }
        [ "$path" = "$record" ] && continue
        if [ -e "$DESTDIR$path" ] || [ -L "$DESTDIR$path" ]; then
            rm -f "$DESTDIR$path" || die "cannot remove $DESTDIR$path"
        fi
    done
    dirs=$(sed -n 's/^d //p' "$DESTDIR$record")
    rm -f "$DESTDIR$record"
    # Deepest first: install records a directory before what it creates inside it. One that
    # is not empty holds something install did not put there, and stays.
    # Said once, for the deepest such directory: its parents stay for the same reason.
    said=""
    printf '%s\n' "$dirs" | tac | while IFS= read -r dir; do
        [ -n "$dir" ] && [ -d "$DESTDIR$dir" ] || continue
        rmdir "$DESTDIR$dir" 2>/dev/null && continue
        [ -n "$said" ] && continue
        said=1
        echo "uninstall: kept $DESTDIR$dir and the directories above it: it holds files make install did not put there (image runners added with vsbx runner add?)" >&2
    done
    echo "uninstall: removed what make install put under $DESTDIR$PREFIX"
    exit 0
fi

for bin in $bins; do
    [ -x "target/static/$bin" ] || die "target/static/$bin is missing: run make build"
done

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# A reinstall keeps what the earlier install recorded: the directories it created, and files
# this one may no longer write (a runner since removed from the project).
if [ -f "$DESTDIR$record" ]; then
    grep -e '^d /' -e '^f /' "$DESTDIR$record" >>"$tmp" || true
fi

# Creates the directory $1 (an install path) and its missing parents, recording each one made.
make_dir() {
    d=$1
    missing=""
    while [ ! -d "$DESTDIR$d" ]; do
        [ -e "$DESTDIR$d" ] || [ -L "$DESTDIR$d" ] && die "$DESTDIR$d exists and is not a directory"
        missing="$d
$missing"
        d=$(dirname "$d")
    done
    [ -n "$missing" ] || return 0
    [ -n "$DESTDIR" ] && mkdir -p "$DESTDIR"
    printf '%s' "$missing" | while IFS= read -r m; do
        [ -n "$m" ] || continue
        mkdir -m 0755 "$DESTDIR$m"
        echo "d $m" >>"$tmp"
    done
}

# Copies the file or symlink $1 to the install path $2 with mode $3 (symlinks as they are).
put() {
    rm -f "$DESTDIR$2"
    if [ -L "$1" ]; then
        cp -P "$1" "$DESTDIR$2"
    else
        cp "$1" "$DESTDIR$2"
        chmod "$3" "$DESTDIR$2"
    fi
    echo "f $2" >>"$tmp"
}

make_dir "$bindir"
for bin in $bins; do
    put "target/static/$bin" "$bindir/$bin" 0755
done

for manifest in "$runners_src"/*/runner.toml; do
    [ -f "$manifest" ] || continue
    # Image runners added to the checkout's catalog are a developer's own, not the project's.
    grep -q '^\[image\]' "$manifest" && continue
    dir=${manifest%/runner.toml}
    name=${dir##*/}
    make_dir "$share/runners/$name"
    put "$manifest" "$share/runners/$name/runner.toml" 0644
    # A rootfs the runner carries (`[rootfs] directory = "..."`): made by `make runners`.
    made=$(sed -n 's/^directory *= *"\([^"/]*\)" *$/\1/p' "$manifest")
    [ -n "$made" ] || continue
    [ -d "$dir/$made" ] || die "$dir/$made is missing: run make runners"
    (cd "$dir/$made" && find . -mindepth 1 | sort) >"$tmp.tree"
    while IFS= read -r entry; do
        entry=${entry#./}
        src=$dir/$made/$entry
        to=$share/runners/$name/$made/$entry
        if [ -d "$src" ] && [ ! -L "$src" ]; then
            make_dir "$to"
            chmod "$(stat -c %a "$src")" "$DESTDIR$to"
        else
            put "$src" "$to" "$(stat -c %a "$src")"
        fi
    done <"$tmp.tree"
    rm -f "$tmp.tree"
    make_dir "$share/runners/$name/$made"
    chmod "$(stat -c %a "$dir/$made")" "$DESTDIR$share/runners/$name/$made"
done

echo "f $record" >>"$tmp"
# One line per path, directories first in the order they were made.
{ grep '^d ' "$tmp" | awk '!seen[$0]++'; grep '^f ' "$tmp" | awk '!seen[$0]++'; } >"$tmp.sorted"
make_dir "$share"
cp "$tmp.sorted" "$DESTDIR$record"
chmod 0644 "$DESTDIR$record"
rm -f "$tmp.sorted"
echo "install: $(grep -c '^f ' "$DESTDIR$record") files under $DESTDIR$PREFIX (record: $DESTDIR$record)"
