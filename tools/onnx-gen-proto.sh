#!/bin/sh
# Regenerates src/onnx/gen/onnx_pb.ts (the @bufbuild/protobuf message types of the ONNX IR) from the vendored
# src/onnx/proto/onnx.proto. onnx.proto is ONNX 1.12's (Apache-2.0), as Debian's python3-onnx ships it at
# /usr/lib/python3/dist-packages/onnx/onnx.proto; buf and protoc-gen-es are devDependencies, so this runs offline.
set -eu
cd "$(dirname "$0")/../src/onnx/proto"
PATH="$(cd ../../../node_modules/.bin && pwd):$PATH" buf generate --template buf.gen.yaml .
echo "wrote src/onnx/gen/onnx_pb.ts"
