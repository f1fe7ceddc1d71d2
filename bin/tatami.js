#!/usr/bin/env node
// The `tatami` command. Runs the compiled CLI in dist/ (shipped in the package, built by `prepack`; in a checkout,
// `npm ci` builds it through `prepare`).
import { main } from '../dist/cli/main.js';

await main(process.argv);
