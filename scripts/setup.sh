#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root):
#   scripts/setup.sh example   install, build, compile and run the example model
#   scripts/setup.sh test      install, build, run all tests
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode="${1:-}"
case "$mode" in
  example|test) ;;
  *) echo "usage: $0 example|test" >&2; exit 2 ;;
esac
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
if [ "$mode" = example ]; then
  exec "$root/scripts/run-example.sh"
fi
exec "$root/scripts/run-tests.sh"
