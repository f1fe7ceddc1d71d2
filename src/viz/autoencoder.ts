/** Training helper of the reconstruction-based anomaly detection demo (the ConvAutoencoder is in models/). */
import { Tensor } from '../tensor/tensor.js';
import * as nn from '../nn/index.js';
import { Adam } from '../optim/adam.js';
import { mseLoss } from '../ops/loss.js';
import { Generator } from '../tensor/random.js';

// The model lives in models/ (a public architecture); re-exported here, where the anomaly demo first defined it.
export { ConvAutoencoder, type ConvAutoencoderOptions } from '../models/autoencoder.js';

/** Trains an autoencoder on `images` [N, C, H, W] with Adam and MSE; returns the loss per step. */
export function trainAutoencoder(ae: nn.Module, images: Tensor, opts: { steps?: number; batchSize?: number; lr?: number; seed?: number; log?: (s: string) => void } = {}): number[] {
  const steps = opts.steps ?? 300, B = Math.min(opts.batchSize ?? 32, images.shape[0]);
  const opt = new Adam(ae.parameters(), { lr: opts.lr ?? 3e-3 });
  const gen = new Generator(opts.seed ?? 0);
  const losses: number[] = [];
  ae.train();
  for (let s = 0; s < steps; s++) {
    const idx = new Int32Array(B);
    for (let i = 0; i < B; i++) idx[i] = Math.floor(gen.random() * images.shape[0]);
    const xb = images.indexSelect(0, new Tensor(idx, [B], 'int32'));
    const loss = mseLoss(ae.forward(xb) as Tensor, xb);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.item());
    if (opts.log && ((s + 1) % 50 === 0 || s === steps - 1)) opts.log(`autoencoder step ${s + 1}/${steps}: mse ${loss.item().toFixed(5)}`);
  }
  ae.eval();
  return losses;
}
