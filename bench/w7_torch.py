#!/usr/bin/env python3
"""W7 on PyTorch with the weights Tatami loads: builds the two detectors of the W7 definition
(../shared/bench/README.md) from torch.manual_seed(0), writes their state dicts, the input image and PyTorch's
detections to OUT_DIR (safetensors), times the whole eval-mode call, and prints the timings as one JSON line.

The seeded weights are conditioned as tools/detection_parity.py conditions them (batch-norm statistics of random
images, FPN outputs and predictors rescaled): torchvision's raw initialisation gives SSDlite exactly equal scores
(1/91) for every candidate, so which 300 boxes survive is tie-breaking, and lets Faster R-CNN's activations reach
hundreds, where float32 rounding alone moves boxes by 0.01 px. Conditioned, the scores spread as a trained
detector's and the detections are comparable to 1e-3 px; the work per call (same thresholds, same number of
boxes through NMS and post-processing on both sides) is that of the definition.

    /usr/bin/python3 bench/w7_torch.py OUT_DIR [--threads 2] [--reps 5] [--warm 2]

bench/w7.ts runs it, loads the same weights into Tatami's models and checks that the detections match.
"""
import argparse
import json
import os
import sys
import time

import torch
from torchvision.models import detection

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
from export_torchvision import write_safetensors  # noqa: E402
from detection_parity import SSDLITE_CLS_SCALE, SSDLITE_REG_SCALE, calibrate_batch_norm  # noqa: E402


def condition_fasterrcnn(m, g):
    calibrate_batch_norm(m.backbone, g)
    with torch.no_grad():
        for blk in m.backbone.fpn.layer_blocks:
            blk[0].weight.mul_(0.05)
        m.roi_heads.box_predictor.cls_score.weight.mul_(30)


def condition_ssdlite(m, g):
    calibrate_batch_norm(m.backbone, g, size=320)
    with torch.no_grad():
        for blk in m.head.classification_head.module_list:
            blk[1].weight.mul_(SSDLITE_CLS_SCALE)
        for blk in m.head.regression_head.module_list:
            blk[1].weight.mul_(SSDLITE_REG_SCALE)


def median_seconds(fn, reps, warm):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--warm', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    res = {}
    cases = [
        ('fasterrcnn', lambda: detection.fasterrcnn_resnet50_fpn(
            weights=None, weights_backbone=None, min_size=512, max_size=512), condition_fasterrcnn, 512),
        ('ssdlite', lambda: detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None),
         condition_ssdlite, 320),
    ]
    for key, build, condition, size in cases:
        torch.manual_seed(0)
        m = build()
        condition(m, torch.Generator().manual_seed(5))
        m.eval()
        x = torch.rand(3, size, size)
        write_safetensors(os.path.join(a.out, f'{key}.safetensors'), m.state_dict())
        with torch.no_grad():
            d = m([x])[0]
            res[f'W7_{key}_infer_ms'] = median_seconds(lambda: m([x]), a.reps, a.warm) * 1e3
        write_safetensors(os.path.join(a.out, f'{key}.io.safetensors'), {
            'input': x, 'boxes': d['boxes'], 'scores': d['scores'], 'labels': d['labels'].to(torch.int32)})
    res['engine'] = f'torch {torch.__version__} (same weights as Tatami)'
    print(json.dumps(res))


if __name__ == '__main__':
    main()
