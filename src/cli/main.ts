/**
 * The `tatami` command line. One file per subcommand, each exporting `register<Name>(program)`; this file adds
 * them in order, handles the global options (--backend, --version) and prints errors as one line,
 * `tatami <command>: <message>`, with exit code 1.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { setBackend } from '../backend/index.js';
import { registerTrain } from './train.js';
import { registerEval } from './eval.js';
import { registerPredict } from './predict.js';
import { registerSummary } from './summary.js';
import { registerModels } from './models.js';
import { registerInfo } from './info.js';
import { registerVizCommands } from './viz.js';
import { formatError } from './common.js';
import { registerSegmentCommands } from './segment.js';
import { registerGanCommands } from './gan.js';
import { registerGenerate } from './generate.js';
import { registerRestore } from './restore.js';
import { registerTranslate } from './translate.js';

/** The version in package.json (two folders up from both src/cli and dist/cli). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Subcommand registrations, in --help order. */
const COMMANDS: ((program: Command) => unknown)[] = [
  registerTrain,
  registerSummary,
  registerModels,
  registerPredict,
  registerEval,
  registerSegmentCommands,
  registerGanCommands,
  registerGenerate,
  registerRestore,
  registerTranslate,
  registerVizCommands,
  registerInfo,
];

/** The subcommand being run, for error messages. */
let running = '';

/** Builds the command tree (exported so tests can drive it without spawning a process). */
export function buildProgram(): Command {
  const program = new Command('tatami')
    .description('Tatami 畳み込み — convolutional neural networks in TypeScript')
    .version(packageVersion(), '-V, --version', 'print the Tatami version')
    .option('--backend <name>', 'kernel backend: native, wasm or reference (default: best available)')
    .hook('preAction', (cmd, action) => {
      running = action.name();
      const name = cmd.opts<{ backend?: string }>().backend;
      if (name) setBackend(name);
    })
    .showHelpAfterError('(add --help for usage)');
  for (const register of COMMANDS) register(program);
  return program;
}

/** Where runCli writes; defaults to the process's streams. */
export interface CliIO {
  out?: (s: string) => void;
  err?: (s: string) => void;
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/**
 * Runs the CLI and returns its exit code instead of calling process.exit (tests drive it in-process). Usage errors
 * (a bad option value, a missing argument) and errors thrown by a command print as `tatami <command>: <message>`.
 */
export async function runCli(argv: string[], io: CliIO = {}): Promise<number> {
  running = '';
  const program = buildProgram();
  const err = io.err ?? ((s: string) => process.stderr.write(s));
  for (const c of allCommands(program)) {
    c.exitOverride().configureOutput({
      writeOut: io.out ?? ((s) => process.stdout.write(s)),
      writeErr: err,
      outputError: (s, write) => write(formatError(c === program ? '' : c.name(), s.replace(/^error: /, ''))),
    });
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // already printed (or --help / --version: exit code 0)
    err(formatError(running, e) + '\n');
    return 1;
  }
}

/** Entry point used by bin/tatami.js. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const code = await runCli(argv);
  if (code !== 0) process.exitCode = code;
}
