#!/usr/bin/env bash
# Executes the AVX-512 kernel build on a machine without AVX-512: tools/isa-crosscheck.c, statically linked against
# the objects node-gyp compiled for the addon, runs as the only program of a Linux guest under Bochs emulating an
# AVX-512 CPU (Skylake-X), and checks native-avx512 against native-generic (every tt_ops entry point, guard zones,
# zeroed/NaN-filled double runs). The AVX-512 object is otherwise run only on AVX-512 hardware, and the machines of
# sessions 37-41 had none. Slow: Bochs interprets ~70 M instructions a second (~200x slower than this host), so
# boot takes ~30 s and 3 cases a family on one thread ~2.7 minutes in all.
#
#   tools/avx512-emu.sh [CASES=3] [SEED=1] [THREADS=1] [BUILD=avx512]   the cross-check (npm ci first)
#   tools/avx512-emu.sh --run STATIC_BINARY [ARGS...]                    any static x86-64 program
#
# Prints the program's output and exits with its status (124: timed out or the guest died; 2: setup). Needs Debian's
# bochs, bochsbios, vgabios, isolinux, syslinux-common, genisoimage and cpio (installed with apt-get when run as
# root), and a kernel: Debian's cloud kernel package is downloaded once into build/emu (or EMU_KERNEL=a bzImage).
# EMU_TIMEOUT (seconds, default 3600), EMU_CPU (corei7_skylake_x; corei7_icelake_u and tigerlake work too),
# EMU_MEGS (512), EMU_KEEP=1 keeps the work folder, EMU_VERBOSE=1 prints the whole serial log.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/build/emu"
say() { echo "avx512-emu: $*" >&2; }
die() {
  say "$*"
  exit 2
}
mkdir -p "$cache"

# ---- what the guest needs ----
packages=(bochs bochsbios vgabios isolinux syslinux-common genisoimage cpio)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  else
    die "missing packages: sudo apt-get install -y ${missing[*]}"
  fi
fi

kernel="${EMU_KERNEL:-$cache/vmlinuz}"
if [ ! -f "$kernel" ]; then
  # the cloud flavour: the generic kernel's drivers take ~100 s of emulated boot against ~25
  pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')"
  [ -n "$pkg" ] || die "no linux-image-cloud-amd64 in apt's lists (apt-get update?), or set EMU_KERNEL"
  say "downloading $pkg"
  (cd "$cache" && rm -rf "deb.$$" && mkdir "deb.$$" && cd "deb.$$" && apt-get download -q "$pkg" >/dev/null 2>&1 &&
    dpkg-deb -x ./*.deb x && cp x/boot/vmlinuz-* "$kernel.$$" && mv "$kernel.$$" "$kernel") ||
    die "could not download and unpack $pkg; set EMU_KERNEL to a bzImage with a serial console built in"
  rm -rf "$cache/deb.$$"
fi

init="$cache/init"
if [ ! -x "$init" ] || [ "$root/tools/avx512-emu-init.c" -nt "$init" ]; then
  gcc -O2 -static "$root/tools/avx512-emu-init.c" -o "$init.$$" && mv "$init.$$" "$init" || die "cannot build /init"
fi

# ---- the program ----
if [ "${1:-}" = --run ]; then
  [ $# -ge 2 ] || die "usage: $0 --run STATIC_BINARY [ARGS...]"
  bin="$2"
  shift 2
  args=("$@")
else
  objects=()
  while IFS= read -r o; do objects+=("$o"); done < <(find "$root/build/Release/obj.target" -name 'isa_*.o' 2>/dev/null | sort)
  ((${#objects[@]})) || die "no kernel objects in build/Release/obj.target: run npm ci (or npm run build:native)"
  bin="$cache/isa-crosscheck"
  gcc -O2 -static -std=gnu11 -ffp-contract=fast -fno-math-errno -Wno-psabi -I"$root/native/src" \
    "$root/tools/isa-crosscheck.c" "$root/native/src/pool.c" "${objects[@]}" -o "$bin.$$" -lm -lpthread &&
    mv "$bin.$$" "$bin" || die "cannot build the cross-check"
  args=("${4:-avx512}" "${1:-3}" "${2:-1}" "${3:-1}")
fi
[ -f "$bin" ] || die "no such file: $bin"

# ---- a bootable CD: isolinux, the kernel, an initramfs of /init, /testbin and /args ----
work="$(mktemp -d "${TMPDIR:-/tmp}/tatami-emu.XXXXXX")"
bochs_pid=""
cleanup() {
  [ -n "$bochs_pid" ] && kill -9 "$bochs_pid" 2>/dev/null
  [ "${EMU_KEEP:-0}" = 1 ] && say "work folder kept: $work" || rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/root" "$work/iso/isolinux"
cp "$init" "$work/root/init"
cp "$bin" "$work/root/testbin"
: >"$work/root/args"
for a in "${args[@]}"; do printf '%s\0' "$a" >>"$work/root/args"; done
(cd "$work/root" && find . | cpio -o -H newc --quiet -R 0:0) >"$work/iso/initrd"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
cp "$kernel" "$work/iso/vmlinuz"
# Bochs 2.7's CPUID misleads Linux in two ways, each worked around by hiding features from the kernel (user space
# still sees the CPU's own CPUID): it reports the standard XSAVE size where XSAVEC's compacted one is asked for, and
# an empty PKRU state, so Linux finds its XSAVE layout inconsistent and turns XSAVE off — and with it AVX and
# AVX-512 (hence pku, ospke, xsaves, xsavec); and the Ice Lake / Tiger Lake models advertise fast short rep movsb,
# with which the kernel's own memmove corrupts memory under Bochs and boot hangs (fsrm). trace_eval_init costs
# ~3 s of emulated boot and nothing here needs it.
cmdline="console=ttyS0,115200 quiet loglevel=3 panic=-1 mitigations=off tsc=reliable"
cmdline+=" clearcpuid=pku,ospke,xsaves,xsavec,fsrm,aperfmperf initcall_blacklist=trace_eval_init"
cat >"$work/iso/isolinux/isolinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd $cmdline
EOF
genisoimage -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
  -boot-load-size 4 -boot-info-table -J -R "$work/iso" || die "genisoimage failed"

# Debian's Bochs has no "nogui" display and stops in its debugger at start: a VNC display that waits for no one,
# and a debugger script that continues (and quits at power-off).
cat >"$work/bochsrc" <<EOF
config_interface: textconfig
display_library: rfb, options="timeout=0"
megs: ${EMU_MEGS:-512}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=${EMU_CPU:-corei7_skylake_x}, count=1, ips=200000000, reset_on_triple_fault=0
ata0-master: type=cdrom, path="$work/boot.iso", status=inserted
boot: cdrom
clock: sync=none, time0=local
com1: enabled=1, mode=file, dev="$work/serial.log"
log: $work/bochs.log
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
mouse: enabled=0
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
EOF
printf 'continue\nquit\n' >"$work/debugger"
: >"$work/serial.log"

# ---- run until the exit marker, the guest's end or the timeout ----
SECONDS=0
bochs -q -f "$work/bochsrc" -rc "$work/debugger" </dev/null >"$work/bochs.out" 2>&1 &
bochs_pid=$!
status=""
started=""
while :; do
  [ -z "$started" ] && grep -aq '^TT-EMU-START' "$work/serial.log" && started=$SECONDS
  if grep -aq '^TT-EMU-EXIT [0-9]' "$work/serial.log"; then
    status="$(grep -a '^TT-EMU-EXIT [0-9]' "$work/serial.log" | head -1 | tr -d '\r' | awk '{ print $2 }')"
    break
  fi
  kill -0 "$bochs_pid" 2>/dev/null || break
  if ((SECONDS >= ${EMU_TIMEOUT:-3600})); then
    say "timed out after ${SECONDS} s"
    break
  fi
  sleep 0.5
done
kill -9 "$bochs_pid" 2>/dev/null || true
wait "$bochs_pid" 2>/dev/null || true
bochs_pid=""
[ "${EMU_VERBOSE:-0}" = 1 ] && cat -v "$work/serial.log" >&2
# the program's lines: between the markers, carriage returns dropped
tr -d '\r' <"$work/serial.log" | awk '/^TT-EMU-EXIT [0-9]+$/ { exit } on { print } /^TT-EMU-START$/ { on = 1 }'
say "booted in ${started:-?} s, ${SECONDS} s in all, exit ${status:-none} (emulated ${EMU_CPU:-corei7_skylake_x})"
if [ -z "$status" ]; then
  say "no exit marker; the serial log ends:"
  tail -20 "$work/serial.log" | cat -v >&2
  exit 124
fi
exit "$status"
