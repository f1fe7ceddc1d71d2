// Feature maps, first-layer filters and activation maximisation.
//  - docs/images/features-vgg16-block5.png: VGG-16 block5 (features.30, the last max-pool: 7×7×512 at 224 px; random weights unless
//    VGG16_WEIGHTS points to torchvision weights as .safetensors) on the cat photo — the seed's block5 figure.
//  - docs/images/features-fashion.png, filters-fashion.png, maximize-fashion.png: the small CNN trained by Tatami.
import * as tt from 'tatami';
const { getModel } = tt.models;
const { loadSafetensors } = tt;
import { CLASSES, fashion, trainedSmallCnn } from './viz-fashion.ts';

const { viz } = tt;
tt.manualSeed(0);
const vgg = getModel('vgg16');
if (process.env.VGG16_WEIGHTS) vgg.loadStateDict(await loadSafetensors(process.env.VGG16_WEIGHTS));
vgg.eval();
const cat = tt.readImage('assets/images/chelsea.png', { mode: 'rgb' });
const x = tt.F.interpolate(viz.toRgbFloat(cat).reshape([1, 3, 300, 451]), { size: [224, 224], mode: 'bilinear' });
const mean = tt.tensor([0.485, 0.456, 0.406]).reshape([1, 3, 1, 1]),
  std = tt.tensor([0.229, 0.224, 0.225]).reshape([1, 3, 1, 1]);
const acts = viz.captureActivations(vgg, x.sub(mean).div(std), ['features.30']);
tt.writeImage(
  'docs/images/features-vgg16-block5.png',
  viz.featureMapGrid(acts.get('features.30')!, { maxMaps: 64, order: 'activation' }),
);
console.log(`VGG-16 features.30: ${acts.get('features.30')!.shape.join('×')}`);

const model = await trainedSmallCnn();
const { x: fx } = fashion(false, 1);
viz.saveFeatureMaps('docs/images/features-fashion.png', model, fx, '1', { maxMaps: 32 });
viz.saveFilters('docs/images/filters-fashion.png', model, '0', { scale: 12 });
const imgs: tt.Tensor[] = [];
for (let c = 0; c < 10; c++)
  imgs.push(
    viz.upscaleNearest(
      viz.toRgbFloat(viz.maximizeActivation(model, { channel: c, inputShape: [1, 28, 28], steps: 96 }).image),
      3,
    ),
  );
tt.writeImage(
  'docs/images/maximize-fashion.png',
  tt.makeGrid(imgs, { nrow: 5, padValue: 1, labels: CLASSES.map((c) => c.slice(0, 12)) }),
);
console.log(
  'wrote docs/images/features-vgg16-block5.png, features-fashion.png, filters-fashion.png, maximize-fashion.png',
);
