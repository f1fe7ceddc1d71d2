/** Classification metrics: accuracy, top-k, confusion matrix with per-class precision / recall / F1. */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';

function checkLogits(op: string, logits: Tensor, targets: Tensor): { n: number; c: number } {
  if (logits.shape.length !== 2) throw new Error(`${op}: expected logits [N, C], got ${formatShape(logits.shape)}`);
  if (targets.shape.length !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new Error(
      `${op}: expected targets [${logits.shape[0]}] for logits ${formatShape(logits.shape)}, got ${formatShape(targets.shape)}`,
    );
  }
  return { n: logits.shape[0], c: logits.shape[1] };
}

/** Number of rows whose target is among the k largest logits. */
export function topKCorrect(logits: Tensor, targets: Tensor, k = 1): number {
  const { n, c } = checkLogits('topKCorrect', logits, targets);
  const data = logits.dataView();
  const t = targets.dataView();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const target = t[i];
    const v = data[i * c + target];
    // Count classes strictly better than the target (ties resolved in the target's favour of lower index, like argmax).
    let better = 0;
    for (let j = 0; j < c && better < k; j++) {
      const u = data[i * c + j];
      if (u > v || (u === v && j < target)) better++;
    }
    if (better < k) correct++;
  }
  return correct;
}

/** Fraction of rows whose argmax equals the target. */
export function accuracy(logits: Tensor, targets: Tensor): number {
  return topKCorrect(logits, targets, 1) / Math.max(1, logits.shape[0]);
}

/**
 * Fraction of rows whose target is among the k largest logits (top-5 accuracy of the ImageNet papers; torchmetrics'
 * `Accuracy(top_k=k)`). Ties go to the lower class index, as argmax does.
 */
export function topKAccuracy(logits: Tensor, targets: Tensor, k = 5): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`topKAccuracy: k must be a positive integer, got ${k}`);
  return topKCorrect(logits, targets, k) / Math.max(1, logits.shape[0]);
}

/** Accumulates a confusion matrix (rows = true class, columns = predicted class). */
export class ConfusionMatrix {
  readonly counts: Int32Array;

  constructor(readonly numClasses: number) {
    this.counts = new Int32Array(numClasses * numClasses);
  }

  /** Adds a batch of logits [N, C] (or predicted labels [N]) against targets [N]. */
  update(predictions: Tensor, targets: Tensor): this {
    const t = targets.dataView();
    let pred: ArrayLike<number>;
    if (predictions.shape.length === 2) {
      const { n, c } = checkLogits('ConfusionMatrix.update', predictions, targets);
      const d = predictions.dataView();
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let j = 1; j < c; j++) if (d[i * c + j] > d[i * c + best]) best = j;
        p[i] = best;
      }
      pred = p;
    } else pred = predictions.dataView();
    for (let i = 0; i < t.length; i++) {
      if (t[i] < 0 || t[i] >= this.numClasses || pred[i] < 0 || pred[i] >= this.numClasses) {
        throw new Error(
          `ConfusionMatrix.update: label ${t[i]} or prediction ${pred[i]} is outside [0, ${this.numClasses})`,
        );
      }
      this.counts[t[i] * this.numClasses + pred[i]]++;
    }
    return this;
  }

  get total(): number {
    let s = 0;
    for (const v of this.counts) s += v;
    return s;
  }

  accuracy(): number {
    let diag = 0;
    for (let i = 0; i < this.numClasses; i++) diag += this.counts[i * this.numClasses + i];
    return diag / Math.max(1, this.total);
  }

  /** Per-class precision, recall, F1 and support (0 where undefined, as scikit-learn's zero_division=0). */
  perClass(): { precision: number; recall: number; f1: number; support: number }[] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, c) => {
      const tp = this.counts[c * k + c];
      let predicted = 0;
      let actual = 0;
      for (let j = 0; j < k; j++) {
        predicted += this.counts[j * k + c];
        actual += this.counts[c * k + j];
      }
      const precision = predicted ? tp / predicted : 0;
      const recall = actual ? tp / actual : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      return { precision, recall, f1, support: actual };
    });
  }

  /** Unweighted mean of per-class F1. */
  macroF1(): number {
    const pc = this.perClass();
    return pc.reduce((s, c) => s + c.f1, 0) / Math.max(1, pc.length);
  }

  /** Rows of counts as nested arrays. */
  toArray(): number[][] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, i) => Array.from(this.counts.subarray(i * k, (i + 1) * k)));
  }
}
