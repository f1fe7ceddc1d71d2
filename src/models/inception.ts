/**
 * Inception v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision") exactly as
 * torchvision 0.14's `inception_v3`: the factorised 7×7 → 1×7 + 7×1 modules, grid reductions with parallel
 * stride-2 branches, the auxiliary classifier on the 17×17 grid and the 2048-d pool features that FID and KID are
 * computed on (`forwardFeatures`). 27,161,264 parameters with the aux head (torchvision's default), 23,834,568
 * without. Made for 299×299 input; any size ≥ 75×75 runs in eval mode (the aux head needs ≥ 139×139 in training).
 */
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { constant_, truncNormal_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { add, mul } from '../ops/elementwise.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../ops/pool.js';
import { cat, flatten, slice } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { BasicConv2d } from './googlenet.js';

/** 3×3 average pool, stride 1, padding 1 (zeros counted, as torchvision), the pool branch of A, C and E. */
const pool3 = (x: Tensor) => avgPool2d(x, 3, { stride: 1, padding: 1 });

/** 35×35 module: 1×1, 1×1→5×5, 1×1→3×3→3×3 and pool→1×1 branches (64 + 64 + 96 + poolFeatures channels). */
export class InceptionA extends Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(inC: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inC, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inC, 48, 1);
    this.branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
    this.branch_pool = new BasicConv2d(inC, poolFeatures, 1);
  }

  forward(x: Tensor): Tensor {
    return cat(
      [
        this.branch1x1.forward(x),
        this.branch5x5_2.forward(this.branch5x5_1.forward(x)),
        this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))),
        this.branch_pool.forward(pool3(x)),
      ],
      1,
    );
  }
}

/** 35×35 → 17×17 grid reduction: stride-2 3×3, 1×1→3×3→stride-2 3×3, and a stride-2 max pool (384 + 96 + inC). */
export class InceptionB extends Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  constructor(inC: number) {
    super();
    this.branch3x3 = new BasicConv2d(inC, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    return cat(
      [
        this.branch3x3.forward(x),
        this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))),
        maxPool2d(x, 3, { stride: 2 }),
      ],
      1,
    );
  }
}

/** 17×17 module with 7×7 convolutions factorised into 1×7 and 7×1 (4 × 192 = 768 channels out). */
export class InceptionC extends Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(inC: number, c7: number) {
    super();
    const row = { padding: [0, 3] as const },
      col = { padding: [3, 0] as const };
    this.branch1x1 = new BasicConv2d(inC, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inC, c7, 1);
    this.branch7x7_2 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7_3 = new BasicConv2d(c7, 192, [7, 1], col);
    this.branch7x7dbl_1 = new BasicConv2d(inC, c7, 1);
    this.branch7x7dbl_2 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_3 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7dbl_4 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_5 = new BasicConv2d(c7, 192, [1, 7], row);
    this.branch_pool = new BasicConv2d(inC, 192, 1);
  }

  forward(x: Tensor): Tensor {
    let d = this.branch7x7dbl_1.forward(x);
    for (const m of [this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5])
      d = m.forward(d);
    return cat(
      [
        this.branch1x1.forward(x),
        this.branch7x7_3.forward(this.branch7x7_2.forward(this.branch7x7_1.forward(x))),
        d,
        this.branch_pool.forward(pool3(x)),
      ],
      1,
    );
  }
}

/** 17×17 → 8×8 grid reduction: 1×1→stride-2 3×3, 1×1→1×7→7×1→stride-2 3×3, max pool (320 + 192 + inC). */
export class InceptionD extends Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2: BasicConv2d;
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2: BasicConv2d;
  branch7x7x3_3: BasicConv2d;
  branch7x7x3_4: BasicConv2d;
  constructor(inC: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inC, 192, 1);
    this.branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
    this.branch7x7x3_1 = new BasicConv2d(inC, 192, 1);
    this.branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] });
    this.branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] });
    this.branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    const b = this.branch7x7x3_4.forward(
      this.branch7x7x3_3.forward(this.branch7x7x3_2.forward(this.branch7x7x3_1.forward(x))),
    );
    return cat([this.branch3x3_2.forward(this.branch3x3_1.forward(x)), b, maxPool2d(x, 3, { stride: 2 })], 1);
  }
}

/** 8×8 module with expanded filter banks: 3×3s split into parallel 1×3 and 3×1 (320 + 768 + 768 + 192 = 2048). */
export class InceptionE extends Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a: BasicConv2d;
  branch3x3_2b: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3a: BasicConv2d;
  branch3x3dbl_3b: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(inC: number) {
    super();
    this.branch1x1 = new BasicConv2d(inC, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inC, 384, 1);
    this.branch3x3_2a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
    this.branch3x3_2b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 448, 1);
    this.branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
    this.branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
    this.branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
    this.branch_pool = new BasicConv2d(inC, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const a = this.branch3x3_1.forward(x);
    const d = this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x));
    return cat(
      [
        this.branch1x1.forward(x),
        cat([this.branch3x3_2a.forward(a), this.branch3x3_2b.forward(a)], 1),
        cat([this.branch3x3dbl_3a.forward(d), this.branch3x3dbl_3b.forward(d)], 1),
        this.branch_pool.forward(pool3(x)),
      ],
      1,
    );
  }
}

/** Auxiliary classifier on the 17×17 grid: 5×5/3 average pool, 1×1 conv to 128, 5×5 conv to 768, pool, linear. */
export class InceptionAuxV3 extends Module {
  conv0: BasicConv2d;
  conv1: BasicConv2d;
  fc: Linear;
  constructor(inC: number, numClasses: number) {
    super();
    this.conv0 = new BasicConv2d(inC, 128, 1);
    this.conv1 = new BasicConv2d(128, 768, 5);
    this.fc = new Linear(768, numClasses);
  }

  forward(x: Tensor): Tensor {
    const y = this.conv1.forward(this.conv0.forward(avgPool2d(x, 5, { stride: 3 })));
    return this.fc.forward(flatten(adaptiveAvgPool2d(y, [1, 1]), 1));
  }
}

/** Options of `inception_v3`. */
export interface InceptionV3Options {
  numClasses?: number;
  /** Build the auxiliary classifier `AuxLogits` (default true, torchvision's; its pretrained weights include it). */
  auxLogits?: boolean;
  /** Map ImageNet-normalised input to the (x − 0.5)/0.5 normalisation of the original Google weights (torchvision sets it with pretrained weights). */
  transformInput?: boolean;
  /** torchvision's truncated-normal init, std 0.1 (0.01 for AuxLogits.conv1, 0.001 for AuxLogits.fc) (default true). */
  initWeights?: boolean;
  /** Dropout before the classifier (default 0.5). */
  dropout?: number;
}

/** Inception v3: `forward` returns the logits; `forwardWithAux` also the aux logits (training mode); `forwardFeatures` the 2048-d pool features. */
export class Inception3 extends Module {
  Conv2d_1a_3x3: BasicConv2d;
  Conv2d_2a_3x3: BasicConv2d;
  Conv2d_2b_3x3: BasicConv2d;
  maxpool1: MaxPool2d;
  Conv2d_3b_1x1: BasicConv2d;
  Conv2d_4a_3x3: BasicConv2d;
  maxpool2: MaxPool2d;
  Mixed_5b: InceptionA;
  Mixed_5c: InceptionA;
  Mixed_5d: InceptionA;
  Mixed_6a: InceptionB;
  Mixed_6b: InceptionC;
  Mixed_6c: InceptionC;
  Mixed_6d: InceptionC;
  Mixed_6e: InceptionC;
  AuxLogits: InceptionAuxV3 | null;
  Mixed_7a: InceptionD;
  Mixed_7b: InceptionE;
  Mixed_7c: InceptionE;
  avgpool: AdaptiveAvgPool2d;
  dropout: Dropout;
  fc: Linear;
  readonly transformInput: boolean;

  constructor(opts: InceptionV3Options = {}) {
    super();
    const nc = opts.numClasses ?? 1000;
    this.transformInput = opts.transformInput ?? false;
    this.Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, { stride: 2 });
    this.Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
    this.Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
    this.maxpool1 = new MaxPool2d(3, { stride: 2 });
    this.Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
    this.Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
    this.maxpool2 = new MaxPool2d(3, { stride: 2 });
    this.Mixed_5b = new InceptionA(192, 32);
    this.Mixed_5c = new InceptionA(256, 64);
    this.Mixed_5d = new InceptionA(288, 64);
    this.Mixed_6a = new InceptionB(288);
    this.Mixed_6b = new InceptionC(768, 128);
    this.Mixed_6c = new InceptionC(768, 160);
    this.Mixed_6d = new InceptionC(768, 160);
    this.Mixed_6e = new InceptionC(768, 192);
    this.AuxLogits = (opts.auxLogits ?? true) ? new InceptionAuxV3(768, nc) : null;
    this.Mixed_7a = new InceptionD(768);
    this.Mixed_7b = new InceptionE(1280);
    this.Mixed_7c = new InceptionE(2048);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.dropout = new Dropout(opts.dropout ?? 0.5);
    this.fc = new Linear(2048, nc);
    if (opts.initWeights ?? true) {
      for (const [name, m] of this.namedModules()) {
        if (m instanceof Conv2d || m instanceof Linear) {
          const std = name === 'AuxLogits.conv1.conv' ? 0.01 : name === 'AuxLogits.fc' ? 0.001 : 0.1;
          truncNormal_(m.weight, 0, std, -2, 2);
        } else if (m instanceof BatchNorm2d) {
          constant_(m.weight!, 1);
          constant_(m.bias!, 0);
        }
      }
    }
  }

  private transform(x: Tensor): Tensor {
    if (!this.transformInput) return x;
    const ch = (c: number, std: number, mean: number) => add(mul(slice(x, 1, c, c + 1), std / 0.5), (mean - 0.5) / 0.5);
    return cat([ch(0, 0.229, 0.485), ch(1, 0.224, 0.456), ch(2, 0.225, 0.406)], 1);
  }

  /** The stem and Mixed_5b … Mixed_6e: the 768-channel 17×17 grid (at 299×299) that the aux head reads. */
  private trunk(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== 3 || x.shape[2] < 75 || x.shape[3] < 75) {
      throw new Error(
        `Inception3: expected RGB images [N, 3, H, W] with H, W ≥ 75 (299 is the design size), got ${formatShape(x.shape)}`,
      );
    }
    x = this.transform(x);
    x = this.maxpool1.forward(this.Conv2d_2b_3x3.forward(this.Conv2d_2a_3x3.forward(this.Conv2d_1a_3x3.forward(x))));
    x = this.maxpool2.forward(this.Conv2d_4a_3x3.forward(this.Conv2d_3b_1x1.forward(x)));
    for (const m of [
      this.Mixed_5b,
      this.Mixed_5c,
      this.Mixed_5d,
      this.Mixed_6a,
      this.Mixed_6b,
      this.Mixed_6c,
      this.Mixed_6d,
      this.Mixed_6e,
    ])
      x = m.forward(x);
    return x;
  }

  private head(x: Tensor): Tensor {
    x = this.Mixed_7c.forward(this.Mixed_7b.forward(this.Mixed_7a.forward(x)));
    return flatten(this.avgpool.forward(x), 1);
  }

  /** The 2048-d global-average-pooled features before dropout and fc ("pool3", what FID and KID compare). */
  forwardFeatures(x: Tensor): Tensor {
    return this.head(this.trunk(x));
  }

  /** Logits and, in training mode with the aux head, the aux logits (null otherwise), as torchvision's InceptionOutputs. */
  forwardWithAux(x: Tensor): { logits: Tensor; aux: Tensor | null } {
    const t = this.trunk(x);
    const aux = this.AuxLogits && this.training ? this.AuxLogits.forward(t) : null;
    return { logits: this.fc.forward(this.dropout.forward(this.head(t))), aux };
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithAux(x).logits;
  }
}

/** Inception v3 (torchvision's builder; see InceptionV3Options). */
export function inception_v3(opts: InceptionV3Options = {}): Inception3 {
  return new Inception3(opts);
}
