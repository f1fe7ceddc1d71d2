// Anomaly detection on Fashion-MNIST ("Sneaker" normal): autoencoder reconstruction error and PANDA-style kNN on
// CNN features, AUROC for both; docs/images/anomaly-fashion.png shows test images, AE error maps and kNN feature maps.
import * as tt from 'tatami';
const { runAnomalyDemo } = tt.recipes;

const r = await runAnomalyDemo({
  normalClass: 7,
  trainSteps: 300,
  numTest: 400,
  out: 'docs/images/anomaly-fashion.png',
  log: (s) => console.error(s),
});
for (const [k, v] of Object.entries(r.auroc)) console.log(`AUROC ${k}: ${v.toFixed(4)}`);
