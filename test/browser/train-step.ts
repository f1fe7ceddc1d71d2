/**
 * A few training steps run through `fit`, written once and run twice: in Chromium by test/browser/snippet.ts (on
 * the wasm kernels, through each bundler) and in Node by test/browser-bundlers.test.ts (float64 reference backend,
 * the ground truth). Same weights in, same batches in order: the losses and the trained state must agree.
 */
import type * as Tatami from 'tatami/browser';

/** What the page and Node are given: initial weights and two or more batches of real images. */
export interface TrainStepInput {
  /** The model's initial state (stateDict() values, flattened), by name. */
  state: Record<string, number[]>;
  /** Images [n, 1, 28, 28] as bytes 0–255 (compact to send to the page; scaled to [0, 1] here), and labels. */
  pixels: number[];
  labels: number[];
  n: number;
  batchSize: number;
}

/** Losses per step and the state after training, flattened, by name. */
export interface TrainStepOutput {
  losses: number[];
  state: Record<string, number[]>;
  /** fit's record of the epoch. */
  history: Tatami.EpochRecord[];
  backend: string;
}

/** The namespaces and functions the step needs (the Node entry and the browser entry both have them). */
type Tt = Pick<
  typeof Tatami,
  'nn' | 'optim' | 'data' | 'fit' | 'tensor' | 'getBackendName' | 'Tensor' | 'noGrad' | 'manualSeed'
>;

/** conv → batch norm → ReLU → max pool → strided conv → ReLU → linear: convolution, pooling and norm gradients. */
export function stepModel(tt: Tt): Tatami.nn.Sequential {
  return new tt.nn.Sequential(
    new tt.nn.Conv2d(1, 4, 3, { padding: 1 }),
    new tt.nn.BatchNorm2d(4),
    new tt.nn.ReLU(),
    new tt.nn.MaxPool2d(2),
    new tt.nn.Conv2d(4, 8, 3, { padding: 1, stride: 2 }),
    new tt.nn.ReLU(),
    new tt.nn.Flatten(),
    new tt.nn.Linear(8 * 7 * 7, 10),
  );
}

/** The step model with `state` loaded. */
export function loadedModel(tt: Tt, state: Record<string, number[]>): Tatami.nn.Sequential {
  const model = stepModel(tt);
  const like = model.stateDict();
  model.loadStateDict(
    Object.fromEntries(
      Object.entries(state).map(([k, v]) => [k, tt.tensor(v, { dtype: like[k].dtype }).reshape([...like[k].shape])]),
    ),
  );
  return model;
}

/** The images and labels as batches, in order. */
export function stepLoader(tt: Tt, input: TrainStepInput) {
  const images = tt.tensor(input.pixels).div(255).reshape([input.n, 1, 28, 28]);
  const labels = tt.tensor(input.labels, { dtype: 'int32' });
  return new tt.data.DataLoader(new tt.data.TensorDataset(images, labels), {
    batchSize: input.batchSize,
    shuffle: false,
  });
}

/** Loads `input.state`, trains one epoch over the batches in order (SGD with momentum and weight decay). */
export async function trainSteps(tt: Tt, input: TrainStepInput): Promise<TrainStepOutput> {
  const model = loadedModel(tt, input.state);
  const optimizer = new tt.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
  const losses: number[] = [];
  const history = await tt.fit(model, stepLoader(tt, input), {
    epochs: 1,
    optimizer,
    progress: false,
    log: () => {},
    callbacks: [{ onBatchEnd: (_step, loss) => void losses.push(loss) }],
  });
  const state = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.flatten().tolist()]));
  return { losses, state, history, backend: tt.getBackendName() };
}
