/**
 * The page test/browser.test.ts bundles (from the sources) and test/browser-bundlers.test.ts bundles with esbuild,
 * Vite and webpack (against the packed library, as `tatami`). It imports Tatami as a browser user may
 * (`tatami/browser`: the same module `tatami` resolves to under the `browser` export condition) and exposes one
 * function per check on `window`, returning plain arrays for Node to compare.
 */
import * as tt from 'tatami/browser';
import { loadedModel, stepLoader, trainSteps, type TrainStepInput, type TrainStepOutput } from './train-step.ts';

declare global {
  interface Window {
    tatami: typeof tt;
    /** default: from the bundle's folder; bytes: fetched by the page; assets: `tatamiWasmUrls` (bundler assets). */
    loadKernels(how: 'default' | 'bytes' | 'assets'): Promise<tt.BackendInfo>;
    /** The builds' URLs as the bundler's asset handling emitted them (set by the bundler test's entry). */
    tatamiWasmUrls?: tt.WasmUrls;
    trainStep(input: TrainStepInput): Promise<TrainStepOutput>;
    pngDataUrl(input: { pixels: number[]; shape: number[] }): string;
    /** viz.renderReport of the step model on the step's images (PNG data URLs without Node's Buffer). */
    report(input: TrainStepInput, history: tt.EpochRecord[]): string;
    conv(input: ConvInput): ConvOutput;
    train(input: TrainInput): Promise<{ losses: number[]; accuracy: number; backend: string }>;
    io(input: IoInput): Promise<IoOutput>;
  }
}

export interface ConvInput {
  x: number[];
  xShape: number[];
  w: number[];
  wShape: number[];
  b: number[];
  gy: number[];
  stride: number;
  padding: number;
  dilation: number;
}
export interface ConvOutput {
  y: number[];
  yShape: number[];
  gx: number[];
  gw: number[];
  gb: number[];
  backend: string;
}
/** Images as bytes 0–255 (scaled to [0, 1] in the page, as FashionMNIST does). */
export interface TrainInput {
  pixels: number[];
  labels: number[];
  n: number;
  testPixels: number[];
  testLabels: number[];
  testN: number;
}

export interface IoInput {
  pixels: number[];
  shape: [number, number, number];
  safetensors: number[];
  safetensorsUrl: string;
}
export interface IoOutput {
  imageData: number[];
  canvas: number[];
  gray: number[];
  decoded: number[];
  decodedShape: number[];
  png: number[];
  fromBytes: Record<string, number[]>;
  fromUrl: Record<string, number[]>;
  fromBlob: string[];
  jpegError: string;
}

window.tatami = tt;

window.io = async (input) => {
  const img = tt.tensor(input.pixels, { dtype: 'uint8' }).reshape(input.shape);
  const imageData = tt.fromImageData(tt.toImageData(img), { mode: 'rgb' }).tolist();
  const canvas = tt.fromCanvas(tt.toCanvas(img) as OffscreenCanvas).tolist();
  const gray = tt.fromImageData(tt.toImageData(img), { mode: 'gray' }).tolist();
  const png = tt.encodeImage(img, 'png');
  const decodedTensor = await tt.readImageFile(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  const values = (m: Record<string, tt.Tensor>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.tolist()]));
  const fromBytes = values(await tt.loadSafetensors(new Uint8Array(input.safetensors).buffer));
  const fromUrl = values(await tt.loadSafetensors(input.safetensorsUrl));
  const fromBlob = Object.keys(await tt.loadSafetensors(tt.safetensorsBlob({ a: tt.ones([2]) })));
  let jpegError = '';
  try {
    tt.encodeImage(img, 'jpeg');
  } catch (err) {
    jpegError = (err as Error).message;
  }
  return {
    imageData,
    canvas,
    gray,
    decoded: decodedTensor.tolist(),
    decodedShape: [...decodedTensor.shape],
    png: [...png],
    fromBytes,
    fromUrl,
    fromBlob,
    jpegError,
  };
};

window.loadKernels = async (how) => {
  if (how === 'default') return tt.loadWasm(); // from the folder of this bundle
  if (how === 'assets') {
    if (!window.tatamiWasmUrls) throw new Error('no tatamiWasmUrls on window');
    return tt.loadWasm({ url: window.tatamiWasmUrls });
  }
  // The caller's own bytes (a single-threaded relaxed-SIMD build): threads and SIMD flavour come from the options.
  const bytes = await (await fetch('tatami-relaxed.wasm')).arrayBuffer();
  return tt.loadWasm({ bytes, relaxed: true });
};

window.conv = (input) => {
  const xl = tt.tensor(input.x).reshape(input.xShape).requiresGrad_();
  const wl = tt.tensor(input.w).reshape(input.wShape).requiresGrad_();
  const b = tt.tensor(input.b).requiresGrad_();
  const y = tt.F.conv2d(xl, wl, b, { stride: input.stride, padding: input.padding, dilation: input.dilation });
  tt.sum(tt.mul(y, tt.tensor(input.gy).reshape(y.shape))).backward();
  return {
    y: y.tolist(),
    yShape: [...y.shape],
    gx: xl.grad!.tolist(),
    gw: wl.grad!.tolist(),
    gb: b.grad!.tolist(),
    backend: tt.getBackendName(),
  };
};

window.train = async (input) => {
  tt.manualSeed(0);
  const images = tt.tensor(input.pixels).div(255).reshape([input.n, 1, 28, 28]);
  const labels = tt.tensor(input.labels, { dtype: 'int32' });
  const loader = new tt.data.DataLoader(new tt.data.TensorDataset(images, labels), {
    batchSize: 32,
    shuffle: true,
    generator: new tt.Generator(1),
  });
  const model = new tt.nn.Sequential(
    new tt.nn.Conv2d(1, 8, 3, { padding: 1 }),
    new tt.nn.ReLU(),
    new tt.nn.MaxPool2d(2),
    new tt.nn.Conv2d(8, 16, 3, { padding: 1 }),
    new tt.nn.ReLU(),
    new tt.nn.MaxPool2d(2),
    new tt.nn.Flatten(),
    new tt.nn.Linear(16 * 7 * 7, 10),
  );
  const optimizer = new tt.optim.Adam(model.parameters(), { lr: 3e-3 });
  const losses: number[] = [];
  await tt.fit(model, loader, {
    epochs: 2,
    optimizer,
    progress: false,
    log: () => {},
    callbacks: [
      {
        onBatchEnd: (_step, loss) => {
          losses.push(loss);
        },
      },
    ],
  });
  model.eval();
  const test = tt.tensor(input.testPixels).div(255).reshape([input.testN, 1, 28, 28]);
  const pred = tt.noGrad(() => tt.argmax(model.forward(test) as tt.Tensor, 1)).tolist();
  const accuracy = pred.filter((p, i) => p === input.testLabels[i]).length / input.testN;
  return { losses, accuracy, backend: tt.getBackendName() };
};

window.trainStep = (input) => trainSteps(tt, input);

window.pngDataUrl = (input) => tt.viz.pngDataUrl(tt.tensor(input.pixels, { dtype: 'uint8' }).reshape(input.shape));

window.report = (input, history) =>
  tt.viz.renderReport({
    history,
    model: loadedModel(tt, input.state),
    testLoader: stepLoader(tt, input) as Iterable<[tt.Tensor, tt.Tensor]>,
    classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    maxMisclassified: 8,
    gradcamImages: 2,
  });
