// Transfer learning on Fashion-MNIST (embedded subset): pretrain the small CNN on classes 0–7, then learn classes
// 8–9 (bag, ankle boot) from 50 images each — frozen backbone + new classifier head, then everything at a 10× lower
// learning rate — and compare with the same CNN trained from scratch on the same 100 images, with the same optimiser,
// learning rate, minibatches and number of steps, at several step budgets and seeds. The recipe
// (src/recipes/transfer.ts) trains with `fit`/`evaluate` over DataLoaders.
//   npx tsx examples/transfer-learning.ts [pretrainEpochs=6] [budgets=3,5,10,15,30,60] [seeds=3] [classifier|lastLayer]
import * as tt from 'tatami';

const [epochsArg, budgetsArg, seedsArg, newHeadArg] = process.argv.slice(2);
const newHead = newHeadArg === 'lastLayer' ? 'lastLayer' : 'classifier';
const budgets = (budgetsArg ?? '3,5,10,15,30,60').split(',').map(Number);
const seeds = Array.from({ length: Number(seedsArg ?? 3) }, (_, i) => i);
const started = Date.now();
const r = await tt.recipes.transferLearningExperiment({
  pretrain: { epochs: Number(epochsArg ?? 6) },
  budgets,
  seeds,
  newHead,
  log: (line) => console.log(line),
});

const pct = (xs: number[]) => `${(100 * tt.recipes.meanAccuracy(xs)).toFixed(1)}%`;
console.log(
  `\nclasses 8-9 from 50 images each, new head = ${newHead}; mean of ${seeds.length} seeds; test = ${r.testImages} test images, ` +
    `held-out = ${r.heldOutImages} unused training images`,
);
console.log('| steps (head only) | transfer, test | scratch, test | transfer, held-out | scratch, held-out |');
console.log('|---|---|---|---|---|');
for (const row of r.rows) {
  console.log(
    `| ${row.steps} (${row.headSteps}) | ${pct(row.transfer.test)} | ${pct(row.scratch.test)} | ${pct(row.transfer.heldOut)} | ${pct(row.scratch.heldOut)} |`,
  );
}
console.log(
  `\npretrained on classes 0-7: ${(100 * r.pretrainAccuracy).toFixed(1)}% test accuracy; ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
);
