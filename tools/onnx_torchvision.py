#!/usr/bin/env python3
"""Exports torchvision models with torch.onnx.export for Tatami's ONNX import test (test/onnx-import.test.ts).

usage: /usr/bin/python3 tools/onnx_torchvision.py OUTDIR NAME:SIZE [NAME:SIZE ...]

For each model: seeded random weights and randomised batch-norm statistics (so eval-mode batch norm is not an
identity), eval mode, a seeded [2, 3, SIZE, SIZE] input; writes NAME.onnx (opset 14, dynamic batch), NAME.in.bin
and NAME.out.bin (little-endian float32) and NAME.json with the shapes.
"""
import json
import sys

import torch
import torchvision


def main() -> None:
    out_dir = sys.argv[1]
    for spec in sys.argv[2:]:
        name, size = spec.split(':')
        size = int(size)
        torch.manual_seed(0)
        kwargs = {'image_size': size} if name.startswith('vit_') else {}
        if name == 'googlenet':
            kwargs = {'aux_logits': False, 'init_weights': True}
        model = getattr(torchvision.models, name)(weights=None, **kwargs)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 1.5)
                if isinstance(m, torch.nn.Linear):
                    m.weight.normal_(0, 1 / m.in_features ** 0.5)
        model.eval()
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            y = model(x)
        torch.onnx.export(model, x, f'{out_dir}/{name}.onnx', opset_version=14, input_names=['input'],
                          output_names=['output'], dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
        x.numpy().astype('<f4').tofile(f'{out_dir}/{name}.in.bin')
        y.numpy().astype('<f4').tofile(f'{out_dir}/{name}.out.bin')
        with open(f'{out_dir}/{name}.json', 'w') as f:
            json.dump({'input': list(x.shape), 'output': list(y.shape)}, f)


if __name__ == '__main__':
    main()
