#!/usr/bin/env python3
"""Parity fixtures for Tatami's segmentation models and feature extractors (test/segmentation-parity.test.ts).

    /usr/bin/python3 tools/export_segmentation.py OUT_DIR

For each case: seeded random torchvision weights with randomised batch-norm statistics → OUT_DIR/NAME.safetensors,
and a fixed input with torchvision's outputs in eval mode → OUT_DIR/NAME.io.safetensors (`input`, then `out`/`aux`
for segmentation models, or one tensor per returned feature map for backbones). Inputs are small and not square so
that the bilinear upsampling and the dilated stages are exercised without minutes of CPU time.

Pretrained segmentation weights for users come from tools/export_torchvision.py, which knows these builders too:

    /usr/bin/python3 tools/export_torchvision.py deeplabv3_resnet50 dlv3.safetensors --weights DEFAULT
"""
import json
import os
import sys

import torch
import torchvision
from torchvision.models._utils import IntermediateLayerGetter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torchvision import randomise_batch_norm, write_safetensors  # noqa: E402

S = torchvision.models.segmentation

# name → (builder, kwargs, input [H, W])
SEGMENTATION = {
    'fcn_resnet50': (S.fcn_resnet50, {'aux_loss': True}, (36, 52)),
    'fcn_resnet101': (S.fcn_resnet101, {'aux_loss': False}, (32, 32)),
    'deeplabv3_resnet50': (S.deeplabv3_resnet50, {'aux_loss': True}, (40, 36)),
    'deeplabv3_resnet101': (S.deeplabv3_resnet101, {'aux_loss': False}, (32, 32)),
    'deeplabv3_mobilenet_v3_large': (S.deeplabv3_mobilenet_v3_large, {'aux_loss': True}, (64, 80)),
    'lraspp_mobilenet_v3_large': (S.lraspp_mobilenet_v3_large, {}, (72, 56)),
}

# name → (builder, kwargs, return_layers, attribute to wrap or None, input [H, W])
BACKBONES = {
    'resnet50_os8': (torchvision.models.resnet50, {'replace_stride_with_dilation': [False, True, True]},
                     {'layer1': 'low', 'layer3': 'mid', 'layer4': 'out'}, None, (64, 48)),
    'resnet50_os16': (torchvision.models.resnet50, {'replace_stride_with_dilation': [False, False, True]},
                      {'layer1': 'low', 'layer4': 'out'}, None, (64, 48)),
    'mobilenet_v3_large_dilated': (torchvision.models.mobilenet_v3_large, {'dilated': True},
                                   {'4': 'low', '16': 'out'}, 'features', (64, 48)),
}


class UNetW6(torch.nn.Module):
    """The W6 U-Net of shared/bench/torch_bench.py (7,763,107 parameters), which Tatami's unet() must equal."""
    def __init__(self, cin=3, classes=3, w=32):
        super().__init__()
        nn = torch.nn

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                                 nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        ch = [w, 2 * w, 4 * w, 8 * w, 16 * w]
        self.down = nn.ModuleList([block(cin if i == 0 else ch[i - 1], ch[i]) for i in range(5)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2) for i in reversed(range(4))])
        self.dec = nn.ModuleList([block(2 * ch[i], ch[i]) for i in reversed(range(4))])
        self.head = nn.Conv2d(w, classes, 1)

    def forward(self, x):
        skips = []
        for i, b in enumerate(self.down):
            x = b(x)
            if i < 4:
                skips.append(x)
                x = torch.nn.functional.max_pool2d(x, 2)
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([skips.pop(), up(x)], 1))
        return {'out': self.head(x)}


SEGMENTATION['unet_w6'] = (lambda weights=None, weights_backbone=None: UNetW6(), {}, (32, 48))


def fixed_input(seed, hw):
    g = torch.Generator().manual_seed(seed + 2)
    return torch.randn(1, 3, hw[0], hw[1], generator=g)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    seed = 0
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name, (builder, kw, hw) in SEGMENTATION.items():
        torch.manual_seed(seed)
        model = builder(weights=None, weights_backbone=None, **kw)
        randomise_batch_norm(model, seed)
        model.eval()
        x = fixed_input(seed, hw)
        with torch.no_grad():
            res = model(x)
        write_safetensors(os.path.join(out_dir, f'{name}.safetensors'), model.state_dict(), {'model': name, 'kwargs': json.dumps(kw)})
        write_safetensors(os.path.join(out_dir, f'{name}.io.safetensors'), {'input': x, **res})
        print(f'{name}: {sum(p.numel() for p in model.parameters())} parameters, outputs {list(res)}', flush=True)
    for name, (builder, kw, layers, attr, hw) in BACKBONES.items():
        torch.manual_seed(seed)
        model = builder(weights=None, **kw)
        randomise_batch_norm(model, seed)
        model.eval()
        body = IntermediateLayerGetter(getattr(model, attr) if attr else model, return_layers=layers)
        x = fixed_input(seed, hw)
        with torch.no_grad():
            feats = body(x)
        write_safetensors(os.path.join(out_dir, f'{name}.safetensors'), model.state_dict(), {'model': name, 'kwargs': json.dumps(kw)})
        write_safetensors(os.path.join(out_dir, f'{name}.io.safetensors'), {'input': x, **feats})
        print(f'{name}: features {[(k, list(v.shape)) for k, v in feats.items()]}', flush=True)


if __name__ == '__main__':
    sys.exit(main())
