#!/bin/sh
# Per-file cost of the sandbox: scans a folder one file at a time (--jobs 1, one worker) with and
# without the sandbox, REPEAT times each, and prints the median wall time of each and the mean
# overhead per file. Usage: sandbox/measure_overhead.sh TOLLGATE FOLDER [REPEAT]
set -eu
tollgate=$1
folder=$2
repeat=${3:-5}
files=$(find "$folder" -type f | wc -l)
run() {
  for _ in $(seq "$repeat"); do
    start=$(date +%s%N)
    "$tollgate" scan --jobs 1 "$@" "$folder" >/dev/null 2>&1 || true
    echo $(( ($(date +%s%N) - start) / 1000 ))
  done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
sandboxed=$(run --workers 1)
in_process=$(run --no-sandbox)
echo "files: $files"
echo "median wall time, sandboxed:  $sandboxed us"
echo "median wall time, in process: $in_process us"
echo "overhead per file: $(( (sandboxed - in_process) / files )) us (includes one worker's start-up)"
