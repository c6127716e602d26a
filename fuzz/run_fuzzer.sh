#!/bin/bash
# Runs load_model_fuzzer as ONE process (the build machine's cores are shared) for SECONDS,
# with a seed corpus from the conformance data and a working corpus in fuzz/corpus (not
# committed). Crash reproducers land in fuzz/crashes/.
# Usage: fuzz/run_fuzzer.sh path/to/load_model_fuzzer [SECONDS]
set -eu
fuzzer=${1:?usage: run_fuzzer.sh path/to/load_model_fuzzer [SECONDS]}
seconds=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/corpus" "$here/seeds" "$here/crashes"
"$here/make_seed_corpus.sh" "$here/seeds" >/dev/null
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# FUZZ_KEEP_GOING=1: one worker in fork mode that carries on past crashes (collecting each in
# crashes/), for when known crashes in other code would otherwise stop every run early.
extra=()
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1); fi
exec "$fuzzer" "$here/corpus" "$here/seeds" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -timeout=30 -max_len=65536 -dict="$here/onnx.dict" -artifact_prefix="$here/crashes/" \
  -print_final_stats=1 "${extra[@]}"
