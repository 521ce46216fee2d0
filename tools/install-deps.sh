#!/usr/bin/env bash
# Installs every Debian 12 package Tollgate builds, tests and benchmarks with, and the npm clients
# the clamd drop-in is tested with (tests/clamd_clients, pinned by its package-lock.json).
# Idempotent: only missing packages are installed, so repeated runs cost a dpkg query.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config ccache file zip unzip p7zip-full
  libclamav-dev libyara-dev libmagic-dev libpoppler-cpp-dev libpoppler-private-dev
  libzip-dev libhyperscan-dev libtbb-dev libgrpc++-dev libprotobuf-dev protobuf-compiler
  protobuf-compiler-grpc libgtest-dev libgmock-dev libbenchmark-dev libseccomp-dev libssl-dev
  libcurl4-openssl-dev libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev libtomlplusplus-dev python3
  clamav clamav-daemon clamdscan yara clamav-testfiles
  libgsf-1-dev libxml2-dev zlib1g-dev
  # The fuzz targets (tests/fuzz): clang, the runtimes of libFuzzer and clang's sanitizers (which
  # clang-14 only recommends) and llvm-symbolizer-14, which they look for to name stack frames.
  clang libclang-rt-14-dev llvm-14
  libcpp-httplib-dev python3-grpcio python3-protobuf python3-cryptography python3-matplotlib openssl
  libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui libtasn1-doc shared-mime-info
)

# Node.js and npm run the npm `clamscan` client; a machine that has them already keeps its own.
command -v npm > /dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm `clamscan` package, as upload services install it, for tests/clamd_clients_test.py.
clients=tests/clamd_clients
if ! grep -qs '"version": "2.4.0"' "$clients/node_modules/clamscan/package.json"; then
  npm ci --prefix "$clients" --no-audit --no-fund --loglevel=error
fi
