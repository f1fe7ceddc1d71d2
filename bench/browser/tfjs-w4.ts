/**
 * W4 in TensorFlow.js, for bench/browser.ts: the same small CNN (conv 3×3·32 same → ReLU → max pool 2 → conv
 * 3×3·64 same → ReLU → max pool 2 → dense 128 → ReLU → dense 10), 64×28×28×1 random inputs, softmax cross
 * entropy, Adam lr 1e-3, one optimiser step; images per second as the median over timed steps.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export interface TfjsResult {
  backend: string;
  imagesPerSecond?: number;
  error?: string;
}

async function w4(backend: string, steps: number, warm: number): Promise<TfjsResult> {
  try {
    if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`);
    await tf.ready();
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 128, activation: 'relu' }),
        tf.layers.dense({ units: 10 }),
      ],
    });
    const opt = tf.train.adam(1e-3);
    const x = tf.randomNormal([64, 28, 28, 1]);
    const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32') as tf.Tensor1D, 10);
    const step = async () => {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true);
      await loss!.data(); // wait for the GPU (webgl) so the time is the step's, not its queueing
      loss!.dispose();
    };
    for (let i = 0; i < warm; i++) await step();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { backend, imagesPerSecond: 64 / (times[times.length >> 1] / 1000) };
  } catch (err) {
    return { backend, error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

(globalThis as { tfjsW4?: unknown }).tfjsW4 = async (backend: string, steps = 10, warm = 2, wasmPath?: string) => {
  if (wasmPath) setWasmPaths(wasmPath);
  return w4(backend, steps, warm);
};
