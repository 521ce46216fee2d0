#!/usr/bin/env bash
# Installs the Debian packages, then builds Tollgate and its sample corpus into build/.
# Safe to run again: installed packages are skipped and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DTOLLGATE_TESTS=OFF -DTOLLGATE_BENCHMARKS=ON
cmake --build build
