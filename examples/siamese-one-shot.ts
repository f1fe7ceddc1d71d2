// One-shot classification with a Siamese CNN and the contrastive loss: train an embedding on Fashion-MNIST
// classes 0–6 (embedded subset), then recognise the held-out classes 7–9 from ONE example each.
//   npx tsx examples/siamese-one-shot.ts [steps]
import * as tt from 'tatami';

const steps = Number(process.argv[2]) || 300;
tt.models.siameseOneShotExperiment({ steps, episodes: 500, log: (l) => console.log(l) });
