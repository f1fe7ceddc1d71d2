// Types of the CommonJS entry point: the same namespace as the ES build (cjs/index.cjs re-exports it).
export * from '../dist/index.js';
