// Grad-CAM, Grad-CAM++ and saliency of the small CNN trained by Tatami on Fashion-MNIST → docs/images/gradcam-fashion.png
import * as tt from 'tatami';
import { CLASSES, fashion, trainedSmallCnn } from './viz-fashion.ts';

const { viz } = tt;
const model = await trainedSmallCnn();
const { x, y } = fashion(false, 8);
const cam = viz.gradCam(model, x, { layer: '3' });
const campp = viz.gradCam(model, x, { layer: '3', method: 'gradcam++' });
const sal = viz.saliencyMap(model, x, { samples: 8 });
const tiles: tt.Tensor[] = [],
  labels: string[] = [];
const up = (t: tt.Tensor): tt.Tensor => viz.upscaleNearest(t, 4);
for (let i = 0; i < 8; i++) {
  const img = up(viz.toRgbFloat(x.select(0, i).contiguous()));
  const c = (r: tt.viz.GradCamResult): tt.Tensor =>
    viz.overlayHeatmap(img, r.cams.select(0, i).contiguous(), { alpha: 0.5, cmap: 'jet', vmin: 0, vmax: 1 });
  tiles.push(img, c(cam), c(campp), up(viz.applyColormap(sal.maps.select(0, i).contiguous(), { cmap: 'inferno' })));
  labels.push(
    `${CLASSES[y.dataView()[i]].slice(0, 8)}`,
    `CAM:${CLASSES[cam.predictions[i]].slice(0, 6)}`,
    'CAM++',
    'saliency',
  );
}
tt.writeImage('docs/images/gradcam-fashion.png', tt.makeGrid(tiles, { nrow: 8, padValue: 1, labels }));
console.log(
  'wrote docs/images/gradcam-fashion.png (image, Grad-CAM, Grad-CAM++, SmoothGrad saliency; layer features "3" = 2nd conv)',
);
