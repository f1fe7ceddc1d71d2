#!/usr/bin/env bash
# Builds the native addon with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/tatami.node) and runs the
# kernel test suites against it, on every instruction-set build this CPU has (the tests iterate them all), plus the
# portable 8- and 16-wide builds. Scratch memory is allocated to the exact size each kernel asks for
# (TT_SANITIZE), so a write past it is reported. Any report aborts the run with a non-zero exit.
#   npm run sanitize                      # kernel suites
#   npm run sanitize -- test/fuzz.test.ts # other test files instead
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-asan
mkdir -p "$out"
nodeinc="$(dirname "$(command -v node)")/../include/node"
[ -f "$nodeinc/node_api.h" ] || nodeinc=/usr/include/node
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
common=(-fPIC -std=gnu11 -ffp-contract=fast -fno-math-errno -Wall -Wno-missing-field-initializers -Wno-psabi -DTT_SANITIZE -I"$nodeinc")
objs=()
build() { # file extra-flags...
  local src=$1; shift
  local obj="$out/$(basename "$src" .c).o"
  gcc "${san[@]}" "${common[@]}" "$@" -c "native/src/$src" -o "$obj"
  objs+=("$obj")
}
build addon.c
build pool.c
build isa_generic.c
build isa_generic8.c
build isa_generic16.c
if [ "$(uname -m)" = x86_64 ]; then
  build isa_avx2.c -mavx2 -mfma
  build isa_avx512.c -mavx512f -mavx2 -mfma
fi
gcc "${san[@]}" -shared -o "$out/tatami.node" "${objs[@]}" -lpthread
echo "sanitize: built $out/tatami.node"

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test/kernels-random.test.ts test/backend.test.ts test/conv.test.ts test/pool.test.ts test/norm.test.ts)
# Node itself is not instrumented: preload the runtimes; leaks are V8's business, not reported.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TATAMI_NATIVE_ADDON="$PWD/$out/tatami.node"
# ASan's shadow memory and quarantine: the fuzz suite's RSS bound measures the readers, not the sanitizer
export TATAMI_FUZZ_RSS_MB="${TATAMI_FUZZ_RSS_MB:-2048}"
node --import tsx --test --test-concurrency=1 "${tests[@]}"
