#!/usr/bin/env node
// The `tatami` command. Runs the compiled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
import { main } from '../dist/cli/main.js';

await main(process.argv);
