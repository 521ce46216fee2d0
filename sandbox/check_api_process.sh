#!/usr/bin/env bash
# Shows that the process holding the gRPC socket runs no parser on request data: starts
# `tollgate serve`, attaches gdb to it with a breakpoint on the entry point of every library that
# reads upload bytes (libclamav, YARA, Hyperscan, libmagic, Poppler, libzip, libgsf, libxml2), scans
# FOLDER through it, and fails if any breakpoint was hit in the server process. Workers are other
# processes, so their calls do not count. Also lists the parser libraries the server maps (linked,
# used at start-up to compile rules).
# Usage: sandbox/check_api_process.sh TOLLGATE FOLDER [SERVE FLAGS...]   (needs gdb; 127.0.0.1 only)
# With --no-sandbox among the flags the check fails, as it should.
set -euo pipefail
tollgate=$1
folder=$2
shift 2
work=$(mktemp -d)
serve_pid=
cleanup() {
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$tollgate" serve --listen 127.0.0.1:0 "$@" 2> "$work/serve.log" &
serve_pid=$!
for _ in $(seq 600); do
  grep -q '"event":"serving"' "$work/serve.log" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$work/serve.log" | head -1)
[[ -n $port ]] || { cat "$work/serve.log" >&2; echo "the server did not start" >&2; exit 2; }

echo "parser libraries mapped by the server (pid $serve_pid):"
grep -oE '/[^ ]*lib(clamav|yara|hs|magic|poppler|zip|gsf|xml2)[^ /]*\.so[^ ]*' "/proc/$serve_pid/maps" | sort -u | sed 's/^/  /'

entry_points=(cl_scanmap_callback cl_scandesc_callback cl_scanfile_callback cl_fmap_open_memory
              yr_rules_scan_mem yr_scanner_scan_mem hs_scan hs_scan_stream hs_open_stream magic_buffer
              PDFDoc::PDFDoc zip_open_from_source gsf_infile_msole_new xmlReadMemory xmlCtxtReadMemory)
gdb_args=(-batch -p "$serve_pid" -ex 'set pagination off' -ex 'set breakpoint pending on'
          -ex 'handle all nostop noprint pass')
for function in "${entry_points[@]}"; do gdb_args+=(-ex "break $function"); done
gdb_args+=(-ex continue -ex 'info breakpoints' -ex 'detach')
gdb "${gdb_args[@]}" > "$work/gdb.log" 2>&1 &
gdb_pid=$!
for _ in $(seq 600); do
  grep -q '^Continuing\.' "$work/gdb.log" && break
  sleep 0.1
done

"$tollgate" scan --remote "127.0.0.1:$port" --json "$folder" > "$work/scan.jsonl" || true
scanned=$(wc -l < "$work/scan.jsonl")
kill -TERM "$serve_pid"
wait "$gdb_pid" || true
wait "$serve_pid" || true
serve_pid=

hits=$(grep -E '^(Thread .* hit )?Breakpoint [0-9]+, ' "$work/gdb.log" || true)
echo "files scanned through the server: $scanned"
echo "breakpoints set: $(grep -cE '^Breakpoint [0-9]+ at|^Breakpoint [0-9]+ \(' "$work/gdb.log") of ${#entry_points[@]}"
if [[ -n $hits ]]; then
  echo "the server process itself called a parser:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "no parser entry point ran in the server process"
