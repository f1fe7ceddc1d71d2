// The training report of the small CNN on Fashion-MNIST: docs/images/report.html (one self-contained file).
import * as tt from 'tatami';
const { smallCnn } = tt.models;
import { CLASSES, fashion } from './viz-fashion.ts';

const { viz } = tt;
tt.manualSeed(0);
const model = smallCnn();
const { x, y } = fashion(true);
const te = fashion(false);
const opt = new tt.optim.Adam(model.parameters(), { lr: 2e-3 });
const history: tt.viz.HistoryRecord[] = [];
const gen = new tt.Generator(0);
for (let epoch = 1; epoch <= 4; epoch++) {
  const lr = 2e-3 * 0.6 ** (epoch - 1);
  for (const g of opt.paramGroups) g.lr = lr;
  const t0 = Date.now();
  let lossSum = 0,
    correct = 0,
    seen = 0;
  model.train();
  for (let s = 0; s < 40; s++) {
    const idx = tt.randint(0, x.shape[0], [32], { generator: gen }).to('int32');
    const yb = y.indexSelect(0, idx);
    const logits = model.forward(x.indexSelect(0, idx));
    const loss = tt.F.crossEntropy(logits, yb);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    lossSum += loss.item() * 32;
    correct += logits.argmax(1).eq(yb).sum().item();
    seen += 32;
  }
  model.eval();
  const vl = tt.noGrad(() => model.forward(te.x));
  const seconds = (Date.now() - t0) / 1000;
  history.push({
    epoch,
    lr,
    trainLoss: lossSum / seen,
    trainAccuracy: correct / seen,
    valLoss: tt.F.crossEntropy(vl, te.y).item(),
    valAccuracy: vl.argmax(1).eq(te.y).float().mean().item(),
    seconds,
    imagesPerSecond: seen / seconds,
  });
  console.log(history.at(-1));
}
const loader: [tt.Tensor, tt.Tensor][] = [];
for (let s = 0; s < 1000; s += 250) loader.push([te.x.narrow(0, s, 250), te.y.narrow(0, s, 250)]);
viz.writeReport('docs/images/report.html', {
  history,
  model,
  testLoader: loader,
  classes: CLASSES,
  title: 'Small CNN on Fashion-MNIST (embedded subset)',
});
console.log('wrote docs/images/report.html');
