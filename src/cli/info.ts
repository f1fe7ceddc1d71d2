/** `tatami info`: the kernel backends, which one is active, and why the others are unavailable. */
import type { Command } from 'commander';
import { availableBackends, getBackendName } from '../backend/index.js';

export function registerInfo(program: Command): Command {
  return program
    .command('info')
    .description('show the kernel backends and which one is active')
    .action(() => {
      console.log(`active backend: ${getBackendName()}`);
      for (const b of availableBackends()) console.log(`  ${b.name.padEnd(10)} ${b.available ? 'available' : `unavailable: ${b.reason}`}`);
    });
}
