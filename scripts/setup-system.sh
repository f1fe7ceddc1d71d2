#!/usr/bin/env bash
# System packages the build and the tests use, installed from Debian's archive when missing.
# clang + lld compile the WebAssembly kernels; version 16 or later, whose relaxed-SIMD opcodes (fused
# multiply-add) are the ones Node and browsers accept. Everything else comes from npm.
set -euo pipefail
need=()
have_clang=""
for v in 19 18 17 16; do
  if command -v "clang-$v" >/dev/null 2>&1 && [ -x "/usr/lib/llvm-$v/bin/wasm-ld" ]; then have_clang="clang-$v"; break; fi
done
[ -n "$have_clang" ] || need+=(clang-16 lld-16)
# Chromium renders the training report headless in test/viz-report.test.ts.
[ -x /usr/bin/chromium ] || need+=(chromium)
# espeak-ng synthesises the spoken-digit clips of test/audio.test.ts.
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup-system: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# PyTorch + torchvision for /usr/bin/python3: the golden fixtures and the torchvision parity suite
# (test/models-parity.test.ts) run against them.
if ! /usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup-system: installing python3-torch python3-torchvision"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch python3-torchvision >/dev/null
fi
# Debian's PyTorch takes its GEMMs from whichever libblas.so.3 is installed, and python3-torch pulls in only the
# reference BLAS (~7 GFLOP/s on a 2000² matmul against ~120 with OpenBLAS). PyTorch's own wheels ship MKL, so the
# benchmark's PyTorch side (and the fixture scripts) get OpenBLAS, Debian's optimised one, as a user's would.
if ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup-system: installing libopenblas0-pthread"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas0-pthread >/dev/null
fi
# ONNX: the checker (python3-onnx) validates exported files in test/onnx-export.test.ts, and ONNX's own backend
# test cases (libonnx-testdata → /usr/share/libonnx-testdata/data) drive test/onnx-conformance.test.ts and the
# NonMaxSuppression / RoiAlign cases of test/detection-onnx.test.ts.
onnx_need=()
/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || onnx_need+=(python3-onnx)
[ -d /usr/share/libonnx-testdata/data ] || onnx_need+=(libonnx-testdata)
if [ ${#onnx_need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup-system: installing ${onnx_need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${onnx_need[@]}" >/dev/null
fi
