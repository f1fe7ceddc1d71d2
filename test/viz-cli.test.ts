import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerVizCommands } from '../src/cli/viz.ts';

function program(): { p: Command; out: string[] } {
  const out: string[] = [];
  const p = new Command('tatami')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
  registerVizCommands(p);
  for (const c of p.commands)
    c.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
  return { p, out };
}

test('registerVizCommands adds the eight subcommands, each with --help', () => {
  const { p } = program();
  const names = p.commands.map((c) => c.name()).sort();
  assert.deepEqual(names, ['anomaly', 'attack', 'features', 'filters', 'gradcam', 'graph', 'maximize', 'saliency']);
  for (const c of p.commands) {
    assert.ok(c.description().length > 10, `${c.name()} has a description`);
    const help = c.helpInformation();
    assert.match(help, /--out/, `${c.name()} --help lists --out`);
  }
  assert.match(
    p.commands.find((c) => c.name() === 'gradcam')!.helpInformation(),
    /--method <m>\s+gradcam \| gradcam\+\+/,
  );
});

test('bad options give one clear error line and exit code 1', async () => {
  const { p } = program();
  const errors: string[] = [];
  const orig = console.error;
  console.error = (s: string) => errors.push(s);
  try {
    await p.parseAsync(['node', 'tatami', 'features', '--train-steps', '0', '--image', '/nonexistent/cat.png']);
    await p.parseAsync(['node', 'tatami', 'anomaly', '--normal', '12', '--train-steps', '1']);
  } finally {
    console.error = orig;
  }
  assert.equal(process.exitCode, 1);
  process.exitCode = 0;
  assert.match(errors[0], /^tatami features: --image: no such file '\/nonexistent\/cat.png'/);
  // Bad option values (--attack cw …) are refused while parsing: test/cli-options.test.ts.
  assert.match(errors[1], /^tatami anomaly: the normal class must be 0..9/);
});
