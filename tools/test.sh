#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-test/, and runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DTOLLGATE_SANITIZE=ON -DTOLLGATE_TESTS=ON
cmake --build build-test
cd build-test
ctest --output-on-failure --timeout 1800 -j "$(nproc)"
