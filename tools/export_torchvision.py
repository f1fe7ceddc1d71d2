#!/usr/bin/env python3
"""Export torchvision models to .safetensors for Tatami (no `safetensors` package needed).

Pretrained weights (users bring ImageNet weights this way; torchvision downloads them once to ~/.cache/torch):

    /usr/bin/python3 tools/export_torchvision.py resnet50 resnet50.safetensors --weights DEFAULT
    tatami predict --model resnet50 --weights resnet50.safetensors photo.jpg

Random weights (seeded) for any builder keyword (`--kw image_size=32`):

    /usr/bin/python3 tools/export_torchvision.py vit_b_16 vit.safetensors --seed 0 --kw image_size=32

Parity fixtures (what test/models-parity.test.ts uses): for each NAME[:SIZE], seeded random weights with randomised
batch-norm statistics, a fixed input [1, 3, SIZE, SIZE] and torchvision's logits in eval mode:

    /usr/bin/python3 tools/export_torchvision.py --parity OUT_DIR resnet18:64 vgg11:32 ...

writes OUT_DIR/NAME.safetensors (the state_dict) and OUT_DIR/NAME.io.safetensors (`input`, `logits`).
"""
import argparse
import json
import os
import struct
import sys

import torch
import torchvision

DTYPES = {
    torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL',
}


def write_safetensors(path, tensors, metadata=None):
    """8-byte little-endian header length, JSON header (padded with spaces to 8 bytes), raw little-endian data."""
    header = {}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in DTYPES:
            raise SystemExit(f'export_torchvision: {name} has unsupported dtype {t.dtype}')
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def parse_kw(items):
    kw = {}
    for item in items or []:
        k, _, v = item.partition('=')
        try:
            kw[k] = json.loads(v)
        except json.JSONDecodeError:
            kw[k] = v
    return kw


def build(name, seed, weights=None, **kw):
    torch.manual_seed(seed)
    builder = (getattr(torchvision.models, name, None) or getattr(torchvision.models.video, name, None)
               or getattr(torchvision.models.segmentation, name, None))
    if builder is None:
        raise SystemExit(f'export_torchvision: torchvision.models has no model {name!r}')
    # Segmentation builders fetch an ImageNet backbone by default even for random weights; a random export must
    # not need the network (with --weights torchvision itself drops the backbone download).
    if weights is None and builder is getattr(torchvision.models.segmentation, name, None):
        kw.setdefault('weights_backbone', None)
    try:
        return builder(weights=weights, **kw)
    except OSError as e:  # urllib's URLError is an OSError
        raise SystemExit(f'export_torchvision: could not download the {weights or "backbone"} weights of {name} ({e}); '
                         f'put the checkpoint in {torch.hub.get_dir()}/checkpoints/ or run where download.pytorch.org is reachable')


def randomise_batch_norm(model, seed):
    """Fresh BN layers hold mean 0 / var 1, which would hide a mix-up of running_mean and running_var."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


# Builder keywords the parity fixtures need: ViT's position embedding depends on the image size; GoogLeNet
# without aux heads (torchvision builds them with random weights unless aux_logits=False), as Tatami's default.
PARITY_KW = {
    'googlenet': {'aux_logits': False, 'init_weights': True},
    'inception_v3': {'aux_logits': True, 'init_weights': True},
}


# Frames of the parity clip of a video model (its stride-2 stages reduce 4 frames to 1).
VIDEO_FRAMES = 4


def preprocess_fixture(out_dir, seed):
    """A random uint8 image with odd sizes (exercises the crop rounding) and torchvision's eval transform of it."""
    from torchvision import transforms as T
    g = torch.Generator().manual_seed(seed + 3)
    img = torch.randint(0, 256, (3, 257, 301), generator=g, dtype=torch.uint8)
    tf = T.Compose([T.Resize(256, antialias=False), T.CenterCrop(224), T.ConvertImageDtype(torch.float32),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    write_safetensors(os.path.join(out_dir, 'preprocess.io.safetensors'), {'image': img, 'output': tf(img)})


def parity(out_dir, specs, seed):
    os.makedirs(out_dir, exist_ok=True)
    preprocess_fixture(out_dir, seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for spec in specs:
        name, _, size = spec.partition(':')
        size = int(size or 224)
        kw = dict(PARITY_KW.get(name, {}))
        if name.startswith('vit_'):
            kw['image_size'] = size
        model = build(name, seed, **kw)
        randomise_batch_norm(model, seed)
        model.eval()
        g = torch.Generator().manual_seed(seed + 2)
        # video models (torchvision.models.video) take [N, 3, T, H, W] clips: VIDEO_FRAMES frames of size × size
        shape = (1, 3, VIDEO_FRAMES, size, size) if hasattr(torchvision.models.video, name) else (1, 3, size, size)
        x = torch.randn(*shape, generator=g)
        with torch.no_grad():
            logits = model(x)
        write_safetensors(os.path.join(out_dir, f'{name}.safetensors'), model.state_dict(), {'model': name, 'kwargs': json.dumps(kw)})
        write_safetensors(os.path.join(out_dir, f'{name}.io.safetensors'), {'input': x, 'logits': logits})
        print(f'{name}: input {list(x.shape)} params {sum(p.numel() for p in model.parameters())}', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model', nargs='?', help='torchvision builder name, e.g. resnet50')
    ap.add_argument('out', nargs='?', help='output .safetensors path')
    ap.add_argument('--weights', help="torchvision weights enum name, e.g. DEFAULT or IMAGENET1K_V2 (default: random)")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--kw', action='append', help='builder keyword NAME=JSON_VALUE (repeatable)')
    ap.add_argument('--parity', metavar='OUT_DIR', help='write parity fixtures for the NAME[:SIZE] specs that follow')
    ap.add_argument('specs', nargs='*')
    args = ap.parse_args()
    if args.parity:
        specs = [s for s in [args.model, args.out, *args.specs] if s]
        parity(args.parity, specs, args.seed)
        return
    if not args.model or not args.out:
        ap.error('model and out are required')
    model = build(args.model, args.seed, weights=args.weights, **parse_kw(args.kw))
    meta = {'model': args.model, 'weights': args.weights or 'random', 'torchvision': torchvision.__version__}
    if args.weights:
        w = torchvision.models.get_model_weights(args.model)[args.weights] if hasattr(torchvision.models, 'get_model_weights') else None
        if w is not None:
            meta['categories'] = json.dumps(w.meta.get('categories'))
    write_safetensors(args.out, model.state_dict(), meta)
    print(f'wrote {args.out}: {len(model.state_dict())} tensors, {sum(p.numel() for p in model.parameters())} parameters')


if __name__ == '__main__':
    sys.exit(main())
