/** Types of scripts/build-browser.mjs for the TypeScript tests that import it. */
import type { BuildOptions, Plugin } from 'esbuild';

export function browserSeams(): Plugin;
export function browserBuildOptions(opts?: { entry?: string; outfile?: string; minify?: boolean }): BuildOptions & { metafile: true };
export function copyWasm(outdir: string): string[];
export function buildBrowserBundle(opts?: { outdir?: string; minify?: boolean }): Promise<{ bytes: number; wasm: string[] }>;
