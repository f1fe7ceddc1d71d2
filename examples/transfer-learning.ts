// Transfer learning on Fashion-MNIST (embedded subset): pretrain the small CNN on classes 0–7, then learn classes
// 8–9 (bag, ankle boot) from 50 images each — frozen backbone + new head, then everything at a 10× lower learning
// rate — and compare with the same CNN trained from scratch on the same 100 images for the same number of steps.
//   npx tsx examples/transfer-learning.ts [pretrainSteps] [headSteps] [finetuneSteps]
import * as tt from '../src/index.ts';

const [pre, head, ft] = process.argv.slice(2).map(Number);
const r = tt.models.transferLearningExperiment({
  pretrainSteps: pre || 300, headSteps: head || 20, finetuneSteps: ft || 10, log: (l) => console.log(l),
});
console.log(`\ntransfer ${(100 * r.transferAccuracy).toFixed(1)}% vs scratch ${(100 * r.scratchAccuracy).toFixed(1)}% on ${r.testImages} test images`);
