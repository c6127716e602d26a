#!/usr/bin/env bash
# Installs a built nnaccel into a temporary prefix, builds examples/hello_session against the
# installed package (find_package(nnaccel)), and runs it and the installed CLI on the shipped model.
#
#   scripts/install_test.sh [BUILD_DIR]      (default build; it must be built already)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nnaccel-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

echo "install to $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/nnaccel include/nnaccel/nnaccel.hpp lib/cmake/nnaccel/nnaccelConfig.cmake \
         lib/cmake/nnaccel/nnaccelConfigVersion.cmake lib/cmake/nnaccel/nnaccelTargets.cmake; do
  [[ -e $prefix/$f ]] || { echo "install_test: $f was not installed" >&2; exit 1; }
done
"$prefix/bin/nnaccel" inspect models/tiny_cnn.onnx >/dev/null

echo "build examples/hello_session against the installed package"
# Only the install prefix: the example must not see the source tree or the build tree.
cmake -S examples/hello_session -B "$tmp/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON >/dev/null
ninja -C "$tmp/example" --quiet

echo "run hello_session on models/tiny_cnn.onnx"
"$tmp/example/hello_session" models/tiny_cnn.onnx models/tiny_cnn_input.npy
