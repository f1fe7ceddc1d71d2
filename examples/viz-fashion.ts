// Shared by the viz examples: the small CNN trained by Tatami on the embedded Fashion-MNIST subset.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from 'tatami';
const { smallCnn } = tt.models;
const { loadSafetensors, saveSafetensors } = tt;

export const CLASSES = tt.data.FashionMNIST.classes;

/** Fashion-MNIST embedded split as float [N, 1, 28, 28] in [0, 1] and int32 labels. */
export function fashion(train: boolean, n = Infinity): { x: tt.Tensor; y: tt.Tensor } {
  const ds = new tt.data.FashionMNIST({ subset: 'embedded', train });
  const m = Math.min(n, ds.length);
  const x = ds.data.narrow(0, 0, m).to('float32').div(255).reshape([m, 1, 28, 28]).contiguous();
  return { x, y: ds.targets.narrow(0, 0, m).contiguous() };
}

/**
 * The small CNN trained with Adam for `steps` minibatches of 32. The weights are kept in the OS temp folder so the
 * viz examples train it once between them.
 */
export async function trainedSmallCnn(steps = 200, seed = 0): Promise<tt.nn.Sequential> {
  tt.manualSeed(seed);
  const model = smallCnn();
  const cache = join(tmpdir(), `tatami-viz-small-cnn-${steps}-${seed}.safetensors`);
  if (existsSync(cache)) {
    model.loadStateDict(await loadSafetensors(cache));
    model.eval();
    return model;
  }
  const { x, y } = fashion(true);
  const opt = new tt.optim.Adam(model.parameters(), { lr: 2e-3 });
  const gen = new tt.Generator(seed);
  for (let s = 0; s < steps; s++) {
    const idx = tt.randint(0, x.shape[0], [32], { generator: gen }).to('int32');
    const loss = tt.F.crossEntropy(model.forward(x.indexSelect(0, idx)), y.indexSelect(0, idx));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if ((s + 1) % 50 === 0) console.error(`step ${s + 1}: loss ${loss.item().toFixed(3)}`);
  }
  model.eval();
  const te = fashion(false);
  const acc = tt
    .noGrad(() => model.forward(te.x))
    .argmax(1)
    .eq(te.y)
    .float()
    .mean()
    .item();
  console.log(`small CNN after ${steps} steps: test accuracy ${(acc * 100).toFixed(1)} % on ${te.x.shape[0]} images`);
  await saveSafetensors(cache, model.stateDict());
  return model;
}
