#!/bin/sh
# `make install-test`: an installed vsbx works without the checkout it was built in.
#
# 1. `make install DESTDIR=<scratch> PREFIX=/usr` (twice: a reinstall over an install).
# 2. In a private mount namespace with the checkout over-mounted by an empty tmpfs, a cwd
#    outside it and a clean environment (no VSBX_RUNNERS): every runner `vsbx runner list`
#    shows runs a sample with `vsbx run FILE --policy compute`, which must print what the
#    sample prints and exit 0. The installed tree, moved elsewhere, still finds its runners;
#    a lone binary with no share/vsbx/runners beside it fails in one line naming the places
#    it looked (also when _VSBX_ORIGINAL_EXE points at the installed one).
# 3. `make uninstall DESTDIR=<scratch> PREFIX=/usr` leaves nothing but what was there before.
# Needs root (unshare -m), the release build (make build) and the runners (make runners).
set -eu
cd "$(dirname "$0")/.."
src=$(pwd -P)
MAKE=${MAKE:-make}
stage=$(mktemp -d /tmp/vsbx-install-test.XXXXXX)
trap 'rm -rf "$stage"' EXIT
fail() {
    echo "install-test: FAIL: $*" >&2
    exit 1
}
dest=$stage/dest
# Something that exists before the install and must survive the uninstall.
mkdir -p "$dest/usr/share"
echo keep >"$dest/usr/share/keep.txt"

"$MAKE" --no-print-directory -s install DESTDIR="$dest" PREFIX=/usr
"$MAKE" --no-print-directory -s install DESTDIR="$dest" PREFIX=/usr
for f in bin/vsbx bin/vsbx-runtime bin/vsbx-bundle-gen share/vsbx/runners/shell/runner.toml \
    share/vsbx/runners/shell/rootfs/bin/busybox; do
    [ -e "$dest/usr/$f" ] || fail "make install did not install $dest/usr/$f"
done

# Samples, one per runner name; a runner without one fails the test.
work=$stage/work
mkdir "$work"
printf 'echo "hello from $(echo shell)"\n' >"$work/hello.sh"
printf 'print("hello from " + "python")\n' >"$work/hello.py"
printf 'console.log("hello from " + "node");\n' >"$work/hello.js"
printf 'fn main() {\n    println!("hello from {}", "rust");\n}\n' >"$work/hello.rs"
printf 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello from", "go")\n}\n' >"$work/hello.go"

cat >"$stage/inner.sh" <<'EOF'
# Runs in the private mount namespace: $1 checkout, $2 DESTDIR, $3 samples, $4 scratch.
set -eu
src=$1 dest=$2 work=$3 stage=$4
fail() {
    echo "install-test: FAIL: $*" >&2
    exit 1
}
mount -t tmpfs -o ro,size=64k,mode=0755 vsbx-install-test "$src"
[ -z "$(ls -A "$src")" ] || fail "the checkout $src is still visible"
cd "$work"
clean() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
vsbx=$dest/usr/bin/vsbx
list=$(clean "$vsbx" runner list) || fail "vsbx runner list failed"
names=$(printf '%s\n' "$list" | awk 'NR > 1 { print $1 }')
[ -n "$names" ] || fail "vsbx runner list shows no runner"
for name in $names; do
    case $name in
    shell) file=hello.sh ;;
    python) file=hello.py ;;
    node) file=hello.js ;;
    rust) file=hello.rs ;;
    go) file=hello.go ;;
    *) fail "no sample for the installed runner $name" ;;
    esac
    start=$(date +%s.%N)
    out=$(clean "$vsbx" run "$file" --policy compute --quiet 2>"$stage/err") ||
        fail "vsbx run $file (runner $name) exited $?: $(cat "$stage/err")"
    [ "$out" = "hello from $name" ] || fail "vsbx run $file (runner $name) printed '$out'"
    echo "install-test: $name ok ($(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }") s)"
done

# Relocated: the whole tree under another prefix still finds its own runners.
mv "$dest/usr" "$stage/moved"
out=$(clean "$stage/moved/bin/vsbx" run hello.sh --policy compute --quiet 2>"$stage/err") ||
    fail "the moved vsbx failed: $(cat "$stage/err")"
[ "$out" = "hello from shell" ] || fail "the moved vsbx printed '$out'"
mv "$stage/moved" "$dest/usr"
echo "install-test: relocated tree ok"

# A lone binary: one line naming where it looked, exit 2; the variable that carries the
# executable's path across the re-exec cannot point it elsewhere.
mkdir -p "$stage/lone/bin"
cp "$vsbx" "$stage/lone/bin/vsbx"
for extra in "" "_VSBX_ORIGINAL_EXE=$vsbx" "_VSBX_SEALED_EXE=1 _VSBX_ORIGINAL_EXE=$vsbx"; do
    status=0
    # shellcheck disable=SC2086 # $extra is a list of words
    clean $extra "$stage/lone/bin/vsbx" run hello.sh --policy compute >"$stage/out" 2>"$stage/err" || status=$?
    [ "$status" -ne 0 ] || fail "a lone vsbx ($extra) ran: $(cat "$stage/out")"
    [ "$(wc -l <"$stage/err")" -eq 1 ] || fail "a lone vsbx ($extra) said more than one line: $(cat "$stage/err")"
    case $extra in
    *SEALED*) ;;
    *)
        [ "$status" -eq 2 ] || fail "a lone vsbx exited $status, not 2"
        grep -q "no runner directory" "$stage/err" && grep -q "$stage/lone/share/vsbx/runners" "$stage/err" ||
            fail "a lone vsbx ($extra) said: $(cat "$stage/err")"
        [ -n "$extra" ] || cp "$stage/err" "$stage/lone-err"
        ;;
    esac
done
echo "install-test: lone binary refused: $(cat "$stage/lone-err")"
EOF
start=$(date +%s)
unshare -m --propagation private sh "$stage/inner.sh" "$src" "$dest" "$work" "$stage"

"$MAKE" --no-print-directory -s uninstall DESTDIR="$dest" PREFIX=/usr
left=$(cd "$dest" && find . | sort | tr '\n' ' ')
[ "$left" = ". ./usr ./usr/share ./usr/share/keep.txt " ] ||
    fail "make uninstall left: $left"
echo "install-test: ok (runs $(($(date +%s) - start)) s; make uninstall left only what was there before)"
