#!/usr/bin/env bash
# Configures and builds nnaccel: Release, Ninja, warnings as errors.
#
#   scripts/build.sh [BUILD_DIR] [extra cmake arguments...]     (BUILD_DIR defaults to build)
#
# Jobs: NNACCEL_JOBS (default: the number of CPUs). ccache is used when installed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dir=${1:-build}
shift || true
jobs=${NNACCEL_JOBS:-$(nproc)}
# Paths under the checkout are hashed relative to it, so clones in other places share the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNNACCEL_WERROR=ON "$@" >/dev/null
ninja -C "$dir" -j "$jobs" --quiet
