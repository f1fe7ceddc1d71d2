// One-shot classification with a Siamese CNN and the contrastive loss: train an embedding on Fashion-MNIST
// classes 0–6 (embedded subset), then recognise the held-out classes 7–9 from ONE example each. The recipe
// (src/recipes/siamese.ts) trains with `fit` and a custom trainingStep over a DataLoader of pairs.
//   npx tsx examples/siamese-one-shot.ts [steps]
import * as tt from 'tatami';

const steps = Number(process.argv[2]) || 300;
await tt.recipes.siameseOneShot({ steps, episodes: 500, log: (l) => console.log(l) });
