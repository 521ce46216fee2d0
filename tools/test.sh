#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-test/, and runs every test with CTest. Then builds the
# libFuzzer targets with clang into build-fuzz-test/ and runs each briefly (tests/fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DTOLLGATE_SANITIZE=ON -DTOLLGATE_TESTS=ON
cmake --build build-test
ctest --test-dir build-test --output-on-failure --timeout 1800 -j "$(nproc)"

# libFuzzer needs clang, and its instrumentation every library, hence a build of its own with only
# the targets and the corpus they are seeded from. Not build-fuzz: that holds a campaign's corpus.
cmake -S . -B build-fuzz-test -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DTOLLGATE_FUZZ=ON -DTOLLGATE_TESTS=OFF
cmake --build build-fuzz-test --target fuzzers
ctest --test-dir build-fuzz-test -L fuzz --output-on-failure -j "$(nproc)"
