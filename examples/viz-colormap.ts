// Colormaps and heat-map overlays on a shipped photo → docs/images/colormaps.png: the viridis/jet/inferno bars and
// the cat photo overlaid with its own image-gradient magnitude (a Sobel edge map) in each colormap.
import * as tt from 'tatami';

const { viz } = tt;
const cat = viz.toRgbFloat(tt.readImage('assets/images/chelsea.png', { mode: 'rgb' }));
const [, H, W] = cat.shape;
const gray = tt.F.conv2d(cat.reshape([1, 3, H, W]), tt.full([1, 3, 1, 1], 1 / 3), null);
const sobel = tt.tensor([
  [-1, 0, 1],
  [-2, 0, 2],
  [-1, 0, 1],
]);
const gx = tt.F.conv2d(gray, sobel.reshape([1, 1, 3, 3]), null, { padding: 1, paddingMode: 'replicate' });
const gy = tt.F.conv2d(gray, sobel.t().contiguous().reshape([1, 1, 3, 3]), null, {
  padding: 1,
  paddingMode: 'replicate',
});
// Blur the edge magnitude so the heat map reads as regions, as Grad-CAM maps do.
const edges = tt.F.avgPool2d(gx.square().add(gy.square()).sqrt(), 15, {
  stride: 1,
  padding: 7,
  countIncludePad: false,
}).reshape([H, W]);
const cmaps: tt.viz.ColormapName[] = ['viridis', 'jet', 'inferno'];
const tiles = [cat, ...cmaps.map((c) => viz.overlayHeatmap(cat, edges, { cmap: c, alpha: 0.5 }))];
const bars = cmaps.map((c) =>
  viz.applyColormap(tt.linspace(0, 1, W).reshape([1, W]).expand([24, W]).contiguous(), { cmap: c }),
);
const photos = tt.makeGrid(tiles, {
  nrow: 4,
  padValue: 1,
  labelScale: 2,
  labels: ['photo', 'viridis', 'jet', 'inferno'],
});
const barRow = tt.makeGrid([tt.ones([3, 24, W]), ...bars], { nrow: 4, padValue: 1 });
tt.writeImage('docs/images/colormaps.png', tt.cat([photos, barRow], 1));
console.log('wrote docs/images/colormaps.png');
