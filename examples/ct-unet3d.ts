// 3-D U-Net (Çiçek et al. 2016) segmenting the lesion-like blobs of procedural CT-like volumes (tt.data.CTVolumes),
// tested on held-out volumes (seeds never used in training).
//   npx tsx examples/ct-unet3d.ts [epochs=6] [train=96] [size=32] [batch=4] [blobWeight=1]
// 3 classes (body 0, shell 1, blob 2), cross entropy, Adam, random 3-D flips. Prints the Dice of the blob class on
// the test volumes after every epoch (Dice = 2|P∩G| / (|P| + |G|) over all test voxels).
import * as tt from '../src/index.ts';

const [epochs, nTrain, size, batch, blobWeight] = [6, 96, 32, 4, 1].map((d, i) => Number(process.argv[2 + i] ?? d));
// class weights of the cross entropy: blobs are ~1–2 % of the voxels
const classWeight = tt.tensor([1, 1, blobWeight]);
tt.manualSeed(0);
const { data } = tt;
const g = new tt.Generator(1);
const shape: [number, number, number] = [size, size, size];
const train = new data.CTVolumes({
  length: nTrain,
  size: shape,
  seed: 1,
  transform: new data.RandomFlip3d<tt.data.VolumeSample>(0.5, { generator: g }),
});
const test = new data.CTVolumes({ length: 16, size: shape, seed: 2 });
const model = tt.models.unet3d({ inChannels: 1, numClasses: 3, features: [8, 16, 32, 64] });
const opt = new tt.optim.Adam(model.parameters(), { lr: 3e-3 });
const sched = new tt.optim.OneCycleLR(opt, 3e-3, { totalSteps: epochs * Math.ceil(nTrain / batch) });

function dice(): number {
  model.eval();
  let inter = 0,
    p = 0,
    t = 0;
  tt.noGrad(() => {
    for (let i = 0; i < test.length; i++) {
      const { image, mask } = test.get(i);
      const pred = tt.argmax(model.forward(image.unsqueeze(0)), 1).dataView();
      const m = mask.dataView();
      for (let k = 0; k < m.length; k++) {
        const a = pred[k] === 2,
          b = m[k] === 2;
        if (a && b) inter++;
        if (a) p++;
        if (b) t++;
      }
    }
  });
  model.train();
  return (2 * inter) / Math.max(1, p + t);
}

const t0 = Date.now();
let best = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const perm = tt.randperm(nTrain, { generator: g }).dataView();
  let lossSum = 0;
  for (let i = 0; i < nTrain; i += batch) {
    const samples = Array.from(perm.slice(i, i + batch), (j) => train.get(j));
    const x = tt.stack(samples.map((s) => s.image));
    const y = tt.stack(samples.map((s) => s.mask));
    opt.zeroGrad();
    const loss = tt.F.crossEntropy(model.forward(x), y, { weight: classWeight });
    loss.backward();
    opt.step();
    sched.step();
    lossSum += loss.item() * samples.length;
  }
  const d = dice();
  best = Math.max(best, d);
  console.log(
    `epoch ${epoch}: train loss ${(lossSum / nTrain).toFixed(4)}, test Dice (blobs) ${d.toFixed(4)}, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}
console.log(`best test Dice ${best.toFixed(4)}`);
