#!/usr/bin/env bash
# Installs everything Kiln needs on Debian 12, as root. Idempotent: a second
# run installs nothing and takes seconds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
llvm=$(head -n1 "$root/cmake/llvm-version.txt")

packages=(
  git cmake ninja-build pkg-config
  "clang-$llvm" "lld-$llvm" "llvm-$llvm-dev" "llvm-$llvm-tools" "libmlir-$llvm-dev"
  "mlir-$llvm-tools" "liblld-$llvm-dev" "libclang-rt-$llvm-dev"
  zlib1g-dev libzstd-dev libffi-dev libxml2-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libgtest-dev libgmock-dev binutils
  python3 python3-venv python3-pip
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "kiln: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python test tools live in a virtual environment inside the checkout, so
# the system Python stays untouched (Debian marks it externally managed).
venv="$root/.venv"
if [ ! -x "$venv/bin/python3" ]; then
  echo "kiln: creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python3" -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  echo "kiln: installing Python test tools into $venv"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check \
    -r "$root/scripts/requirements-test.txt"
fi
echo "kiln: dependencies are installed (LLVM/MLIR $llvm)"
