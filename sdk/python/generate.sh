#!/bin/sh
# Generates the Python protobuf and gRPC stubs of the Volly protocol into sdk/python/gen (or $1), with Debian's
# protoc and grpc_python_plugin:
#   apt-get install -y protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf
# Debian's python3-grpc-tools bundles a much older protoc (3.5), so it is not used here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-"$here/gen"}
plugin=$(command -v grpc_python_plugin || true)
if [ -z "$plugin" ]; then
  echo "grpc_python_plugin not found: apt-get install -y protobuf-compiler-grpc" >&2
  exit 1
fi
mkdir -p "$out"
# Only our package: generated modules import each other as volly.signaling.v1.*_pb2.
protoc -I "$root/proto" \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$plugin" \
  "$root"/proto/volly/signaling/v1/*.proto
echo "generated Python stubs in $out"
