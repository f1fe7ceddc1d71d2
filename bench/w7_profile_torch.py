#!/usr/bin/env python3
"""W7 broken into stages on PyTorch, one thread, CPU time: builds and conditions the two W7 detectors exactly as
bench/w7_torch.py does (same seed, so bench/w7_profile.ts loads the same weights from OUT_DIR), wraps each stage
of the eval-mode call (transform steps, backbone body, FPN, heads, anchors, box decoding, proposal filtering,
RoI pooling, box head, post-processing, NMS) with a CPU-time counter that excludes nested stages, and prints the
mean CPU milliseconds per call of each stage as one JSON line.

    /usr/bin/python3 bench/w7_profile_torch.py OUT_DIR [--reps 5] [--warm 1] [--threads 1]

With --threads N > 1 the stages are timed by the wall clock (perf_counter) instead: CPU time would add the threads up.
"""
import argparse
import json
import os
import sys
import time

import torch
from torchvision.models import detection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
from export_torchvision import write_safetensors  # noqa: E402
from w7_torch import condition_fasterrcnn, condition_ssdlite  # noqa: E402


class Stages:
    """Exclusive time per named stage (CPU time, or wall time with clock=time.perf_counter): a stage's time excludes
    the stages called inside it."""

    def __init__(self, clock=time.process_time):
        self.ms = {}
        self.stack = []
        self.clock = clock

    def wrap(self, obj, attr, name):
        fn = getattr(obj, attr)

        def timed(*a, **k):
            self.stack.append(0.0)
            t = self.clock()
            try:
                return fn(*a, **k)
            finally:
                dt = self.clock() - t
                inner = self.stack.pop()
                self.ms[name] = self.ms.get(name, 0.0) + (dt - inner) * 1e3
                if self.stack:
                    self.stack[-1] += dt

        setattr(obj, attr, timed)


def fasterrcnn_stages(m, s):
    s.wrap(m.transform, 'normalize', 'transform: normalise')
    s.wrap(m.transform, 'resize', 'transform: resize')
    s.wrap(m.transform, 'batch_images', 'transform: batch')
    s.wrap(m.backbone.body, 'forward', 'backbone body (ResNet-50 convs)')
    s.wrap(m.backbone.fpn, 'forward', 'FPN')
    s.wrap(m.rpn.head, 'forward', 'RPN head')
    s.wrap(m.rpn.anchor_generator, 'forward', 'anchor generation')
    s.wrap(m.rpn.box_coder, 'decode', 'box decode (RPN + box head)')
    s.wrap(m.rpn, 'filter_proposals', 'proposal filtering (top-k, clip, NMS)')
    s.wrap(m.roi_heads.box_roi_pool, 'forward', 'MultiScaleRoIAlign')
    s.wrap(m.roi_heads.box_head, 'forward', 'box head (TwoMLPHead)')
    s.wrap(m.roi_heads.box_predictor, 'forward', 'box predictor')
    s.wrap(m.roi_heads.box_coder, 'decode', 'box decode (RPN + box head)')
    s.wrap(m.roi_heads, 'postprocess_detections', 'detection postprocess (softmax, clip, NMS)')
    s.wrap(m.transform, 'postprocess', 'transform: boxes to original size')


def ssdlite_stages(m, s):
    s.wrap(m.transform, 'normalize', 'transform: normalise')
    s.wrap(m.transform, 'resize', 'transform: resize')
    s.wrap(m.transform, 'batch_images', 'transform: batch')
    s.wrap(m.backbone, 'forward', 'backbone (MobileNetV3 + extras)')
    s.wrap(m.head, 'forward', 'head')
    s.wrap(m.anchor_generator, 'forward', 'anchor generation')
    s.wrap(m.box_coder, 'decode_single', 'box decode')
    s.wrap(m, 'postprocess_detections', 'detection postprocess (softmax, top-k, clip, NMS)')
    s.wrap(m.transform, 'postprocess', 'transform: boxes to original size')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--warm', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    clock = time.process_time if a.threads == 1 else time.perf_counter
    os.makedirs(a.out, exist_ok=True)
    res = {}
    cases = [
        ('fasterrcnn', lambda: detection.fasterrcnn_resnet50_fpn(
            weights=None, weights_backbone=None, min_size=512, max_size=512), condition_fasterrcnn, 512,
         fasterrcnn_stages),
        ('ssdlite', lambda: detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None),
         condition_ssdlite, 320, ssdlite_stages),
    ]
    for key, build, condition, size, stages in cases:
        torch.manual_seed(0)
        m = build()
        condition(m, torch.Generator().manual_seed(5))
        m.eval()
        x = torch.rand(3, size, size)
        write_safetensors(os.path.join(a.out, f'{key}.safetensors'), m.state_dict())
        write_safetensors(os.path.join(a.out, f'{key}.io.safetensors'), {'input': x})
        s = Stages(clock)
        stages(m, s)
        with torch.no_grad():
            for _ in range(a.warm):
                m([x])
            s.ms.clear()
            t = clock()
            for _ in range(a.reps):
                m([x])
            total = (clock() - t) * 1e3 / a.reps
        r = {k: v / a.reps for k, v in s.ms.items()}
        r['total'] = total
        res[key] = r
    res['engine'] = f'torch {torch.__version__}, {a.threads} thread(s)'
    print(json.dumps(res))


if __name__ == '__main__':
    main()
