/**
 * The visualisation subcommands — features, filters, maximize, gradcam, saliency, attack, anomaly and graph — one
 * file each (src/cli/<name>.ts, shared helpers in viz-common.ts). Every one that reads a model takes `--run <dir>`
 * (a `tatami train` output folder) or `--model`/`--weights`; without weights, `small_cnn` is trained for
 * `--train-steps` on the embedded Fashion-MNIST subset, and ImageNet models (torchvision names) explain the shipped
 * photos.
 */
import type { Command } from 'commander';
import { registerFeatures } from './features.js';
import { registerFilters } from './filters.js';
import { registerMaximize } from './maximize.js';
import { registerGradcam } from './gradcam.js';
import { registerSaliency } from './saliency.js';
import { registerAttack } from './attack.js';
import { registerAnomaly } from './anomaly.js';
import { registerGraph } from './graph.js';

/** Adds the viz subcommands to the `tatami` commander program. */
export function registerVizCommands(program: Command): Command {
  for (const register of [
    registerFeatures,
    registerFilters,
    registerMaximize,
    registerGradcam,
    registerSaliency,
    registerAttack,
    registerAnomaly,
    registerGraph,
  ])
    register(program);
  return program;
}
