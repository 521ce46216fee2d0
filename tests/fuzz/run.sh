#!/usr/bin/env bash
# run.sh TARGET|all SECONDS: fuzzes a target (pdf ooxml ole2 zip pipeline clamd) for SECONDS each.
#
# Needs the fuzz build (see README.md): BUILD (default: build-fuzz at the repository root) holds the
# targets in fuzz/ and the generated sample corpus in corpus/, whose files of the target's format
# are the seeds, with the kept crash inputs of tests/fuzz/regressions/TARGET/ and the hand-written
# seeds of tests/fuzz/seeds/TARGET/ (protocol transcripts, for clamd). Each seed is first
# replayed whole, once; a target whose replay fails is not fuzzed. SECONDS 0 only replays.
# What the fuzzer learns stays in BUILD/fuzz-work/TARGET, so runs add up to a campaign; FRESH=1
# starts from the seeds alone instead (the test suite's runs). Crashing inputs go to
# tests/fuzz/crashes/TARGET/ (not committed: they may derive from corpus samples that carry EICAR).
# Prints execs/s and coverage (cov, ft) from libFuzzer's last stats; exits 1 if a replay or a run
# failed, with the sanitizer's or libFuzzer's report.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build-fuzz}
all_targets=(pdf ooxml ole2 zip pipeline clamd)

usage() { echo "usage: $0 TARGET|all SECONDS   (TARGET: ${all_targets[*]})" >&2; exit 2; }
[[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || usage
if [[ $1 == all ]]; then
  targets=("${all_targets[@]}")
elif [[ " ${all_targets[*]} " == *" $1 "* ]]; then
  targets=("$1")
else
  usage
fi

# Seeds by extension: the generator names every sample after its true format.
seed_patterns() {
  case $1 in
    pdf) echo '*.pdf' ;;
    ooxml) echo '*.docx *.docm *.xlsx *.xlsm *.pptx *.pptm' ;;
    ole2) echo '*.doc *.xls *.ppt *.msg' ;;
    zip) echo '*.zip *.docx *.docm *.xlsx *.xlsm *.pptx *.odt *.ods *.odp' ;;
    pipeline) echo '*' ;;
    clamd) echo '' ;;
    *) usage ;;
  esac
}

# Inputs longer than this are cut: long enough for the corpus' documents, short enough to stay fast.
max_len() {
  case $1 in
    ooxml) echo 32768 ;;
    *) echo 65536 ;;
  esac
}

# The pipeline target keeps every layer of an upload alive, the unpacker targets only one.
rss_limit_mb() {
  case $1 in
    pipeline) echo 4096 ;;
    *) echo 2048 ;;
  esac
}

# libgsf's leaks are suppressed by function name (lsan.supp), which needs the whole allocation stack:
# glib has no frame pointers. Slower, so only for the target that runs libgsf.
# No leak detection for the pipeline: the scanner's per-thread caches (libmagic handles, YARA
# scanners, Hyperscan scratch) live in TBB's scalable allocator and libclamav's engine in its own
# pool, both mmap'd memory LSan does not scan, so everything they point to is reported as leaked.
# The unpacker targets check leaks; the test suite checks the whole scanner's at exit.
asan_options() {
  case $1 in
    ole2) echo detect_leaks=1:fast_unwind_on_malloc=0 ;;
    pipeline) echo detect_leaks=0 ;;
    *) echo detect_leaks=1 ;;
  esac
}

dictionary() {
  case $1 in
    pdf | ooxml | ole2 | zip | clamd) echo "-dict=$here/dict/$1.dict" ;;
    pipeline)
      cat "$here"/dict/*.dict > "$build/fuzz-work/pipeline.dict"
      echo "-dict=$build/fuzz-work/pipeline.dict" ;;
  esac
}

# What a failed libFuzzer run left in its log: the input a replay was running, then the report
# from its first line to where libFuzzer wrote the input.
print_failure() {
  local target=$1 log=$2 rc=$3
  echo "$target: libFuzzer exited $rc; log $log, inputs in $crashes/:" >&2
  awk '/^Running: / { running = $0 }
       /ERROR|runtime error|ALARM:/ && !report { report = 1; if (running) print running }
       report' "$log" | head -n 200 >&2
}

# Runs the target's fuzzer with its sanitizer options and the flags every run shares; the caller's
# ASAN/LSAN/UBSAN_OPTIONS take precedence.
fuzzer() {
  ASAN_OPTIONS=${ASAN_OPTIONS:-$(asan_options "$target")} \
    LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    nice -n 10 "$binary" -timeout=90 -rss_limit_mb="$(rss_limit_mb "$target")" \
    -artifact_prefix="$crashes/" "$@"
}

status=0
for target in "${targets[@]}"; do
  binary=$build/fuzz/${target}_fuzzer
  [[ -x $binary ]] || { echo "$binary missing: build the fuzz targets first (README.md)" >&2; exit 2; }
  work=$build/fuzz-work/$target
  seeds=$work/seeds
  crashes=$here/crashes/$target
  rm -rf "$seeds"
  [[ ${FRESH:-0} == 1 ]] && rm -rf "$work/corpus"
  mkdir -p "$work/corpus" "$seeds/regressions" "$crashes"
  read -r -a patterns <<< "$(seed_patterns "$target")"
  for pattern in "${patterns[@]}"; do
    find "$build/corpus" -type f -name "$pattern" -exec cp -t "$seeds" {} +
  done
  # A subdirectory: a regression input cannot replace a corpus sample of the same name.
  find "$here/regressions/$target" -type f ! -name '.*' -exec cp -t "$seeds/regressions" {} +
  if [[ -d $here/seeds/$target ]]; then find "$here/seeds/$target" -type f -exec cp -t "$seeds" {} +; fi
  mapfile -t inputs < <(find "$seeds" -type f)
  # Without an input, libFuzzer would fuzz without a time limit instead of replaying.
  ((${#inputs[@]})) || { echo "no seeds in $build/corpus: build the fuzzers target (README.md)" >&2; exit 2; }
  echo "== $target: ${2}s, ${#inputs[@]} seeds ($(ls "$seeds/regressions" | wc -l) regressions)," \
    "$(ls "$work/corpus" | wc -l) inputs kept from earlier runs"

  # Whole inputs, unlike the fuzzing run's start, which cuts them to -max_len. The scan deadline is
  # 60 s: an input still running at 90 s ignored it and is reported as a hang.
  log=$work/replay.log
  set +e
  fuzzer "${inputs[@]}" > "$log" 2>&1
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    status=1
    echo "$target: replay failed, not fuzzed" >&2
    print_failure "$target" "$log" "$rc"
    continue
  fi
  [[ $2 -eq 0 ]] && continue  # libFuzzer reads -max_total_time=0 as no limit

  log=$work/last-run.log
  set +e
  fuzzer "$work/corpus" "$seeds" -max_total_time="$2" -max_len="$(max_len "$target")" -print_final_stats=1 \
    "$(dictionary "$target")" > "$log" 2>&1
  rc=$?
  set -e
  stats=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$stats")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$stats")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
  echo "$target: ${execs:-?} execs, ${per_sec:-?} execs/s, cov ${cov:-?}, ft ${ft:-?}, peak RSS ${rss:-?} MB"
  if [[ $rc -ne 0 ]]; then
    status=1
    print_failure "$target" "$log" "$rc"
  fi
done
exit $status
