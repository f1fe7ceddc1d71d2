/**
 * The second stage of Faster R-CNN (torchvision.models.detection.roi_heads / faster_rcnn): features of every
 * proposal pooled by MultiScaleRoIAlign, a two-layer MLP, and per-class scores and box refinements, then
 * per-class NMS. Inference path (eval mode); the training losses are not implemented yet.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { Linear } from '../../nn/linear.js';
import { relu } from '../../ops/activation.js';
import { Module } from '../../nn/module.js';
import type { MultiScaleRoIAlign } from '../../nn/roi.js';
import { batchedNms, clipBoxesToImage, removeSmallBoxes } from '../../ops/boxes.js';
import { softmax } from '../../ops/softmax.js';
import { flatten, indexSelect, reshape } from '../../ops/shape.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BoxCoder } from './box-coder.js';

/** torchvision's TwoMLPHead: flatten → fc6 → ReLU → fc7 → ReLU. */
export class TwoMLPHead extends Module {
  readonly fc6: Linear;
  readonly fc7: Linear;

  constructor(inChannels: number, representationSize: number) {
    super();
    this.fc6 = new Linear(inChannels, representationSize);
    this.fc7 = new Linear(representationSize, representationSize);
  }

  forward(x: Tensor): Tensor {
    return relu(this.fc7.forward(relu(this.fc6.forward(flatten(x, 1)))));
  }
}

/** torchvision's FastRCNNPredictor: class logits (with background, class 0) and per-class box deltas. */
export class FastRCNNPredictor extends Module<[Tensor], [Tensor, Tensor]> {
  readonly cls_score: Linear;
  readonly bbox_pred: Linear;

  constructor(inChannels: number, numClasses: number) {
    super();
    this.cls_score = new Linear(inChannels, numClasses);
    this.bbox_pred = new Linear(inChannels, numClasses * 4);
  }

  forward(x: Tensor): [Tensor, Tensor] {
    const f = x.shape.length > 2 ? reshape(x, x.shape[0], -1) : x;
    return [this.cls_score.forward(f), this.bbox_pred.forward(f)];
  }
}

/** Options of RoIHeads (torchvision's Faster R-CNN defaults). */
export interface RoIHeadsOptions {
  scoreThresh?: number;
  nmsThresh?: number;
  detectionsPerImg?: number;
  /** Weights of the box coder (default 10, 10, 5, 5). */
  bboxRegWeights?: readonly [number, number, number, number];
}

/** One image's detections. */
export interface Detections {
  boxes: Tensor;
  scores: Tensor;
  /** int32 class indices (1…numClasses − 1; 0 is background). */
  labels: Tensor;
}

/**
 * torchvision's RoIHeads (box branch) at inference: pool → box head → predictor → decode per class, softmax,
 * clip, drop background, score > scoreThresh, boxes ≥ 0.01 px, per-class NMS, best detectionsPerImg.
 */
export class RoIHeads extends Module<[Record<string, Tensor>, readonly Tensor[], readonly (readonly [number, number])[]], Detections[]> {
  readonly box_roi_pool: MultiScaleRoIAlign;
  readonly box_head: Module;
  readonly box_predictor: FastRCNNPredictor;
  readonly boxCoder: BoxCoder;
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;

  constructor(boxRoiPool: MultiScaleRoIAlign, boxHead: Module, boxPredictor: FastRCNNPredictor, opts: RoIHeadsOptions = {}) {
    super();
    this.box_roi_pool = boxRoiPool;
    this.box_head = boxHead;
    this.box_predictor = boxPredictor;
    this.boxCoder = new BoxCoder(opts.bboxRegWeights ?? [10, 10, 5, 5]);
    this.scoreThresh = opts.scoreThresh ?? 0.05;
    this.nmsThresh = opts.nmsThresh ?? 0.5;
    this.detectionsPerImg = opts.detectionsPerImg ?? 100;
  }

  forward(features: Record<string, Tensor>, proposals: readonly Tensor[], imageShapes: readonly (readonly [number, number])[]): Detections[] {
    if (this.training) throw new Error('RoIHeads: training (proposal sampling and losses) is not implemented yet; call .eval()');
    const pooled = this.box_roi_pool.forward(features, proposals, imageShapes);
    const [logits, regression] = this.box_predictor.forward(this.box_head.forward(pooled));
    return noGrad(() => this.postprocessDetections(logits, regression, proposals, imageShapes));
  }

  /** torchvision's postprocess_detections. */
  postprocessDetections(logits: Tensor, regression: Tensor, proposals: readonly Tensor[], imageShapes: readonly (readonly [number, number])[]): Detections[] {
    const numClasses = logits.shape[1];
    const predBoxes = this.boxCoder.decode(regression, proposals);
    const predScores = softmax(logits, -1);
    const out: Detections[] = [];
    // Scores are float32: PyTorch compares them with the threshold cast to float32.
    const thresh = Math.fround(this.scoreThresh);
    let start = 0;
    proposals.forEach((p, i) => {
      const n = p.shape[0];
      const boxes = clipBoxesToImage(predBoxes.narrow(0, start, n), [imageShapes[i][0], imageShapes[i][1]]).dataView();
      const scores = predScores.narrow(0, start, n).dataView();
      start += n;
      // Drop the background column; flatten (proposal, class) pairs in that order.
      const b: number[] = [];
      const s: number[] = [];
      const l: number[] = [];
      for (let r = 0; r < n; r++) {
        for (let c = 1; c < numClasses; c++) {
          const v = scores[r * numClasses + c];
          if (!(v > thresh)) continue;
          const o = (r * numClasses + c) * 4;
          b.push(boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]);
          s.push(v);
          l.push(c);
        }
      }
      let bt = tensor(Float32Array.from(b), [s.length, 4]);
      let st = tensor(Float32Array.from(s), [s.length]);
      let lt = tensor(Int32Array.from(l), [l.length], { dtype: 'int32' });
      const pick = (keep: Tensor) => {
        bt = indexSelect(bt, 0, keep);
        st = indexSelect(st, 0, keep);
        lt = indexSelect(lt, 0, keep);
      };
      pick(removeSmallBoxes(bt, 1e-2));
      const keep = batchedNms(bt, st, lt, this.nmsThresh);
      pick(keep.narrow(0, 0, Math.min(keep.shape[0], this.detectionsPerImg)));
      out.push({ boxes: bt, scores: st, labels: lt });
    });
    return out;
  }
}

