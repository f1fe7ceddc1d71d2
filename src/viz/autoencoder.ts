/**
 * A small convolutional autoencoder for reconstruction-based anomaly detection (28×28 inputs by default: two
 * stride-2 convolutions down to a 7×7×`latentChannels` bottleneck, two stride-2 transposed convolutions back up,
 * sigmoid output for [0, 1] images).
 */
import { Tensor } from '../tensor/tensor.js';
import * as nn from '../nn/index.js';
import { Adam } from '../optim/adam.js';
import { mseLoss } from '../ops/loss.js';
import { Generator } from '../tensor/random.js';

/** Options of ConvAutoencoder. */
export interface ConvAutoencoderOptions {
  /** Image channels (default 1). */
  inChannels?: number;
  /** Width of the first conv (default 16; the second has twice as many). */
  width?: number;
  /** Channels of the 7×7 bottleneck (default 4): small enough that it cannot learn the identity. */
  latentChannels?: number;
}

/** Conv encoder → bottleneck → transposed-conv decoder. Input H and W must be divisible by 4. */
export class ConvAutoencoder extends nn.Module {
  declare encoder: nn.Sequential;
  declare decoder: nn.Sequential;

  constructor(opts: ConvAutoencoderOptions = {}) {
    super();
    const c = opts.inChannels ?? 1, w = opts.width ?? 16, z = opts.latentChannels ?? 4;
    this.encoder = new nn.Sequential(
      new nn.Conv2d(c, w, 3, { stride: 2, padding: 1 }), new nn.ReLU(),
      new nn.Conv2d(w, 2 * w, 3, { stride: 2, padding: 1 }), new nn.ReLU(),
      new nn.Conv2d(2 * w, z, 3, { padding: 1 }),
    );
    this.decoder = new nn.Sequential(
      new nn.Conv2d(z, 2 * w, 3, { padding: 1 }), new nn.ReLU(),
      new nn.ConvTranspose2d(2 * w, w, 3, { stride: 2, padding: 1, outputPadding: 1 }), new nn.ReLU(),
      new nn.ConvTranspose2d(w, c, 3, { stride: 2, padding: 1, outputPadding: 1 }), new nn.Sigmoid(),
    );
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[2] % 4 !== 0 || x.shape[3] % 4 !== 0) {
      throw new Error(`ConvAutoencoder: expected images [N, C, H, W] with H and W divisible by 4, got [${x.shape.join(', ')}]`);
    }
    return this.decoder.forward(this.encoder.forward(x));
  }
}

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
