/** Messages between the page and the training worker. */

export interface StartMessage {
  type: 'start';
  epochs: number;
  batchSize: number;
  lr: number;
  /** Stop after this many optimiser steps (0 = run every epoch). */
  maxSteps: number;
  /** URL of the Fashion-MNIST folder (workers have no document to resolve relative URLs against). */
  dataUrl: string;
  seed: number;
}
export type ToWorker = StartMessage | { type: 'pause' } | { type: 'resume' };

export interface Progress {
  type: 'progress';
  step: number;
  epoch: number;
  /** Mean loss and accuracy over the steps since the last report. */
  loss: number;
  acc: number;
  imagesPerSecond: number;
  stepsPerEpoch: number;
}
export type FromWorker =
  | { type: 'ready'; backend: string; threads: number; isolated: boolean }
  | Progress
  | { type: 'eval'; step: number; epoch: number; testAccuracy: number; testLoss: number }
  | {
      type: 'done';
      steps: number;
      seconds: number;
      testAccuracy: number;
      weights: Record<string, { shape: number[]; data: Float32Array }>;
    }
  | { type: 'error'; message: string };
