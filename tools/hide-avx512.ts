/**
 * Run a command as on an AVX2 machine: tools/hide-avx512.c, compiled here and loaded with LD_PRELOAD, makes
 * `cpuid` fault and answers it without the AVX-512 feature bits, so Tatami's addon, ONNX Runtime and PyTorch all
 * pick their AVX2 paths by their own detection (what `TATAMI_ISA=avx2` cannot do: it moves Tatami alone). Used by
 * `npm run bench -- --hide-avx512` and by test/hide-avx512.test.ts (the default backend's choice on a CPU without
 * AVX-512). Linux on x86-64 with CPUID faulting only; elsewhere the child exits with `HIDE_UNSUPPORTED`.
 *
 *   npx tsx tools/hide-avx512.ts <command> [args…]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Exit status of a process whose kernel or CPU cannot make `cpuid` fault (the shim's constructor). */
export const HIDE_UNSUPPORTED = 86;

/** Set in the environment of a process started by `withAvx512Hidden` (so that it does not start itself again). */
export const HIDDEN_MARK = 'TATAMI_AVX512_HIDDEN';

/** glibc picks its string functions before any library constructor: its own switch for the same features. */
const GLIBC_HIDE = 'glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD';

/**
 * Compile the shim into a fresh temporary folder and run `fn` with the environment that loads it; the folder is
 * removed afterwards. Throws, naming the compiler's message, when the platform is not Linux x86-64 or gcc fails.
 */
export function withAvx512Hidden<T>(fn: (env: NodeJS.ProcessEnv) => T): T {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`hide-avx512: needs Linux on x86-64 (this is ${process.platform}/${process.arch})`);
  const src = fileURLToPath(new URL('./hide-avx512.c', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'tatami-hide-avx512-'));
  try {
    const so = join(dir, 'hide-avx512.so');
    const cc = spawnSync('gcc', ['-O2', '-shared', '-fPIC', src, '-o', so, '-ldl'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`hide-avx512: gcc failed: ${cc.error?.message ?? cc.stderr}`);
    const preload = [so, process.env.LD_PRELOAD].filter(Boolean).join(':');
    const tunables = [process.env.GLIBC_TUNABLES, GLIBC_HIDE].filter(Boolean).join(':');
    return fn({ ...process.env, LD_PRELOAD: preload, GLIBC_TUNABLES: tunables, [HIDDEN_MARK]: '1' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run `command args` with AVX-512 hidden, output inherited; its exit status (HIDE_UNSUPPORTED: could not hide). */
export function runWithAvx512Hidden(command: string, args: string[]): number {
  return withAvx512Hidden((env) => {
    const r = spawnSync(command, args, { env, stdio: 'inherit' });
    if (r.error) throw r.error;
    return r.status ?? 1;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, ...rest] = process.argv.slice(2);
  if (!command) {
    console.error('usage: npx tsx tools/hide-avx512.ts <command> [args…]');
    process.exit(2);
  }
  process.exit(runWithAvx512Hidden(command, rest));
}
