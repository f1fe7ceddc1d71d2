/** Types of scripts/wasm.mjs for the TypeScript tests that import it. */
export const PINNED_CLANG: string;
export const MODULES: string[];
export function sourceHash(base?: string): string;
export function readManifest(): { clang: string; sources: string; modules: Record<string, string> } | null;
export function buildScratch(clang?: string): { dir: string; version: string };
export function check(): string[];
