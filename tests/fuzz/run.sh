#!/usr/bin/env bash
# run.sh TARGET|all SECONDS: fuzzes a target (pdf ooxml ole2 zip pipeline) for SECONDS each.
#
# Needs the fuzz build (see README.md): BUILD (default: build-fuzz at the repository root) holds the
# targets in fuzz/ and the generated sample corpus in corpus/, whose files of the target's format
# are the seeds. What the fuzzer learns stays in BUILD/fuzz-work/TARGET, so runs add up to a
# campaign. Crashing inputs go to tests/fuzz/crashes/TARGET/ (not committed: they may derive from
# corpus samples that carry EICAR). Prints execs/s and coverage (cov, ft) from libFuzzer's last stats.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build-fuzz}
all_targets=(pdf ooxml ole2 zip pipeline)

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
    pdf | ooxml | ole2 | zip) echo "-dict=$here/dict/$1.dict" ;;
    pipeline)
      cat "$here"/dict/*.dict > "$build/fuzz-work/pipeline.dict"
      echo "-dict=$build/fuzz-work/pipeline.dict" ;;
  esac
}

status=0
for target in "${targets[@]}"; do
  binary=$build/fuzz/${target}_fuzzer
  [[ -x $binary ]] || { echo "$binary missing: build the fuzz targets first (README.md)" >&2; exit 2; }
  work=$build/fuzz-work/$target
  seeds=$work/seeds
  crashes=$here/crashes/$target
  rm -rf "$seeds"
  mkdir -p "$work/corpus" "$seeds" "$crashes"
  read -r -a patterns <<< "$(seed_patterns "$target")"
  for pattern in "${patterns[@]}"; do
    find "$build/corpus" -type f -name "$pattern" -exec cp -t "$seeds" {} +
  done
  log=$work/last-run.log
  echo "== $target: ${2}s, $(ls "$seeds" | wc -l) seeds, $(ls "$work/corpus" | wc -l) inputs kept from earlier runs"
  # The scan deadline is 60 s: an input still running at 90 s ignored it and is reported as a hang.
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-$(asan_options "$target")} \
    LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    nice -n 10 "$binary" "$work/corpus" "$seeds" \
    -max_total_time="$2" -max_len="$(max_len "$target")" -timeout=90 -rss_limit_mb="$(rss_limit_mb "$target")" \
    -artifact_prefix="$crashes/" -print_final_stats=1 $(dictionary "$target") > "$log" 2>&1
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
    echo "$target: libFuzzer exited $rc; see $log and $crashes/:" >&2
    grep -E '^==[0-9]+==ERROR|SUMMARY|^artifact_prefix|Test unit written' "$log" >&2 || true
  fi
done
exit $status
