#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for FUZZ_SECONDS with libFuzzer, on the stable
# toolchain: libfuzzer-sys links libFuzzer, and rustc's sancov pass (stable -C flags) adds
# the coverage feedback that cargo-fuzz would add. No sanitizer: the code is safe Rust,
# so a bug shows as a panic (abort) or a hang, which libFuzzer reports.
#
# The seed corpus lives in the repo (fuzz/corpus/<target>: small, hand-made, read only
# here). What a run finds goes to the working corpus fuzz/work/<target> (not committed),
# which the next run starts from: minutes add up across runs. A crash leaves
# fuzz/artifacts/<target>/crash-* and the script exits non-zero; replay one with
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/crash-...
#
#   FUZZ_SECONDS=60 (per target)   FUZZ_TARGETS="config_json seccomp policy_toml cli"
#   FUZZ_BUILD_ONLY=1 (just build)  FUZZ_JOBS=1
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"config_json seccomp policy_toml cli"}
TRIPLE=x86_64-unknown-linux-gnu
# --target keeps these flags off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks -Cdebuginfo=1"
bins=()
for t in $TARGETS; do bins+=(--bin "$t"); done
cargo build --release --target "$TRIPLE" "${bins[@]}"
[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0

status=0
for t in $TARGETS; do
    seeds=corpus/$t
    work=work/$t
    artifacts=artifacts/$t
    mkdir -p "$seeds" "$work" "$artifacts"
    dict=()
    [ -f "dict/$t.dict" ] && dict=(-dict="dict/$t.dict")
    echo "== $t: ${SECONDS_PER_TARGET}s, $(ls "$seeds" | wc -l) seeds, $(ls "$work" | wc -l) inputs in $work"
    if ! "target/$TRIPLE/release/$t" "$work" "$seeds" "${dict[@]}" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        >"$artifacts/last-run.log" 2>&1; then
        echo "!! $t: crash; see $artifacts/ and $artifacts/last-run.log"
        tail -n 30 "$artifacts/last-run.log"
        status=1
    fi
    grep -E "^#[0-9]+.*DONE" "$artifacts/last-run.log" | tail -n 1 || true
done
exit $status
