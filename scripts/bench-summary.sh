#!/usr/bin/env bash
# Runs the benchmark suite in benches/ once and writes its summary: the goals as ratios measured
# in this one run, with the machine, CPU model, key size and date, to
# book/src/performance-results.md (and to the terminal).
#
# Each bench binary runs its criterion benchmarks, then an interleaved pass whose medians it
# writes to the results directory; the summary binary reads them. The machine's load is sampled
# during the run and reported, because absolute times on a shared machine move with it.
#
# Usage: bash scripts/bench-summary.sh [results directory (default target/bench-results)]
set -euo pipefail
cd "$(dirname "$0")/.."

results="${1:-target/bench-results}"
benches=(tokens payloads coalescing memory e2e)
bench_args=()
for bench in "${benches[@]}"; do bench_args+=(--bench "$bench"); done

step() { printf '\n==> %s\n' "$*"; }

step "building the benchmarks"
cargo bench --no-run "${bench_args[@]}" --bench summary

rm -rf "$results"
mkdir -p "$results"
results="$(cd "$results" && pwd)"

# The load average every 5 s while the benchmarks run.
( while :; do cut -d' ' -f1 /proc/loadavg >>"$results/load.samples"; sleep 5; done ) &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

step "running the benchmarks (several minutes)"
PUSHPROXY_BENCH_OUT="$results" cargo bench "${bench_args[@]}"

kill "$sampler" 2>/dev/null || true
trap - EXIT

cores="$(nproc)"
load="$(awk -v cores="$cores" '
  { n++; sum += $1; if ($1 > max) max = $1; if (n == 1 || $1 < min) min = $1 }
  END { if (n) printf "%.2f to %.2f, mean %.2f, on %d cores (sampled every 5 s)", min, max, sum / n, cores }
' "$results/load.samples")"
high="$(awk -v cores="$cores" '{ sum += $1; n++ } END { print (n && sum / n > cores) ? 1 : 0 }' "$results/load.samples")"
memory="$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
{
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'machine\t%s\n' "$(uname -srm)"
  printf 'cpu\t%s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  printf 'cores\t%s cores, %s\n' "$cores" "$memory"
  printf 'rustc\t%s\n' "$(rustc --version)"
  printf 'load\t%s\n' "${load:-not sampled}"
  if [ "$high" = 1 ]; then
    printf 'load_note\t%s\n' "**The machine was busy during this run** (other work beside the benchmarks: the mean load average exceeded the number of cores). Absolute times are slower than on a quiet machine; the ratios, whose two sides were measured in turn under the same load, are affected less."
  fi
} >"$results/machine.tsv"

step "summary"
cargo bench --bench summary -- "$results" book/src/performance-results.md
echo "Written to book/src/performance-results.md"
