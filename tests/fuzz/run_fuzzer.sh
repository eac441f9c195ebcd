#!/bin/sh
# Runs a libFuzzer target briefly over its committed corpus, as part of the
# test suite: every corpus file, then a bounded number of mutations.
#   run_fuzzer.sh FUZZER CORPUS_DIR DICT RUNS [MAX_LEN, 8192] [MORE LIBFUZZER FLAGS...]
set -eu
fuzzer=$1 corpus=$2 dict=$3 runs=$4 max_len=${5:-8192}
shift $(($# < 5 ? $# : 5))
work="${TEST_TMPDIR:-$(mktemp -d)}/corpus"
mkdir -p "$work"
exec "$fuzzer" -dict="$dict" -runs="$runs" -max_len="$max_len" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 "$@" "$work" "$corpus"
