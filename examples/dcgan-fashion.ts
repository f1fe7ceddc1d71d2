// A 28×28 DCGAN trained on the embedded Fashion-MNIST subset with models.ganStep, writing a sample grid.
// Usage: npx tsx examples/dcgan-fashion.ts [steps=400] [bce|lsgan|hinge|wgan-gp] [out.png]
import * as tt from '../src/index.ts';

const steps = Number(process.argv[2] ?? 400);
const loss = (process.argv[3] ?? 'bce') as tt.models.GanLossKind;
const out = process.argv[4] ?? 'dcgan-samples.png';
tt.manualSeed(0);
const ds = new tt.data.FashionMNIST({ subset: 'embedded' });
// pixels in [−1, 1], the range of G's tanh
const images = ds.data.to('float32').div(127.5).sub(1).unsqueeze(1);
const { generator: G, discriminator: D, nz } = tt.models.dcgan({ imageSize: 28, ngf: 32, ndf: 32 });
tt.models.dcganInit(G);
tt.models.dcganInit(D);
// WGAN-GP's critic is trained with Adam(1e-4, β = (0.5, 0.9)) and 5 critic steps per generator step (Gulrajani et al.)
const wgan = loss === 'wgan-gp';
const betas: [number, number] = wgan ? [0.5, 0.9] : [0.5, 0.999];
const parts = {
  generator: G,
  discriminator: D,
  optimizerG: new tt.optim.Adam(G.parameters(), { lr: wgan ? 1e-4 : 2e-4, betas }),
  optimizerD: new tt.optim.Adam(D.parameters(), { lr: wgan ? 1e-4 : 2e-4, betas }),
};
const gen = new tt.Generator(1);
const fixedZ = tt.randn([64, nz, 1, 1], { generator: new tt.Generator(2) });
const t0 = performance.now();
for (let s = 1; s <= steps; s++) {
  const idx = tt.randint(0, images.shape[0], [64], { generator: gen });
  const r = tt.models.ganStep(parts, images.indexSelect(0, idx), {
    loss,
    labelSmoothing: wgan ? 0 : 0.1,
    dSteps: wgan ? 5 : 1,
    generator: gen,
  });
  if (s % 50 === 0 || s === steps) {
    console.log(
      `step ${s}/${steps}: loss D ${r.lossD.toFixed(3)}, G ${r.lossG.toFixed(3)}, D(real) ${r.dReal.toFixed(2)}, D(fake) ${r.dFake.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
}
G.eval();
const samples = tt.noGrad(() => G.forward(fixedZ));
tt.saveImageGrid(out, samples, { nrow: 8, normalize: true, valueRange: [-1, 1] });
console.log(`wrote ${out}`);
