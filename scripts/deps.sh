#!/usr/bin/env bash
# Installs the Debian 12 packages nnaccel needs to build and test, if any are missing.
# Assumes only bash and apt-get (a fresh Debian 12 has no compiler, make or cmake). Quiet when
# everything is already installed; runs `apt-get update` only when something is missing.
#
#   scripts/deps.sh           build, test and demo dependencies
#   scripts/deps.sh --peers   also what bench/peers/ and bench/quant/ need (PyTorch, torchvision,
#                             node, npm; PIL and fonts to render OCR images)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler
  libdnnl-dev ocl-icd-opencl-dev libhwy-dev
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  dataset-fashion-mnist libonnx-testdata python3-onnx python3-numpy
)

peers=0
for arg in "$@"; do
  case "$arg" in
    --peers) peers=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
if [[ $peers == 1 ]]; then
  packages+=(python3-torch python3-torchvision python3-pil fonts-dejavu-core fonts-dejavu-extra
             fonts-noto-cjk)
  # node and npm may come from elsewhere (e.g. NodeSource's nodejs, which bundles npm and
  # conflicts with Debian's npm package): ask for Debian's only when the command is absent.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done
[[ ${#missing[@]} == 0 ]] && exit 0

echo "deps.sh: installing ${missing[*]}"
sudo=()
if [[ $(id -u) != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "deps.sh: missing packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
