# PyTorch side of tools/w6-ops.ts: the same W6 ops, one thread, CPU time, median of 3 after a warm-up.
#   /usr/bin/python3 tools/w6_ops.py [filter]
import os, sys, time
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
flt = sys.argv[1] if len(sys.argv) > 1 else ''
reps = int(os.environ.get('W6_OPS_REPS', 3))
torch.manual_seed(0)

def med(f):
    f()
    ts = []
    for _ in range(reps):
        t = time.process_time(); f(); ts.append((time.process_time() - t) * 1e3)
    return sorted(ts)[reps // 2]

def report(name, f, flops=0):
    if flt not in name:
        return
    ms = med(f)
    print(f"{name:<40} {ms:9.2f} ms {flops / ms / 1e6:7.1f}" if flops else f"{name:<40} {ms:9.2f} ms       -")

def conv(name, n, c, h, oc, k, pad=0, dil=1, stride=1, dirs=('fwd', 'bwd-in', 'bwd-w')):
    x = torch.randn(n, c, h, h); w = torch.randn(oc, c, k, k)
    y = F.conv2d(x, w, None, stride, pad, dil)
    gy = torch.randn_like(y)
    flops = 2 * n * oc * y.shape[2] * y.shape[3] * c * k * k
    cb = torch.ops.aten.convolution_backward
    with torch.no_grad():
        if 'fwd' in dirs: report(f"{name} fwd", lambda: F.conv2d(x, w, None, stride, pad, dil), flops)
        if 'bwd-in' in dirs: report(f"{name} bwd-in", lambda: cb(gy, x, w, None, [stride] * 2, [pad] * 2, [dil] * 2, False, [0, 0], 1, [True, False, False]), flops)
        if 'bwd-w' in dirs: report(f"{name} bwd-w", lambda: cb(gy, x, w, None, [stride] * 2, [pad] * 2, [dil] * 2, False, [0, 0], 1, [False, True, False]), flops)

for c, oc, h in [(32, 32, 128), (64, 32, 128), (64, 64, 64), (128, 128, 32), (256, 256, 16), (512, 512, 8)]:
    conv(f"unet conv3x3 {c}->{oc} @{h}", 4, c, h, oc, 3, pad=1)
x = torch.randn(4, 64, 64, 64); w = torch.randn(64, 32, 2, 2); b = torch.randn(32)
y = F.conv_transpose2d(x, w, b, 2); gy = torch.randn_like(y)
flops = 2 * 4 * 64 * 64 * 64 * 32 * 4
cb = torch.ops.aten.convolution_backward
with torch.no_grad():
    report('unet convT2x2/2 64->32 @64 fwd', lambda: F.conv_transpose2d(x, w, b, 2), flops)
    report('unet convT2x2/2 64->32 @64 bwd-in', lambda: cb(gy, x, w, None, [2, 2], [0, 0], [1, 1], True, [0, 0], 1, [True, False, False]), flops)
    report('unet convT2x2/2 64->32 @64 bwd-w', lambda: cb(gy, x, w, None, [2, 2], [0, 0], [1, 1], True, [0, 0], 1, [False, True, False]), flops)
a = torch.randn(4, 32, 128, 128); b2 = torch.randn(4, 32, 128, 128)
report('unet cat 2x[4,32,128,128]', lambda: torch.cat([a, b2], 1))
xr = torch.randn(4, 32, 128, 128, requires_grad=True); bn = torch.nn.BatchNorm2d(32).train(); gy = torch.randn(4, 32, 128, 128)
with torch.no_grad():
    report('unet batchnorm [4,32,128,128] fwd', lambda: bn(xr))
report('unet batchnorm [4,32,128,128] fwd+bwd', lambda: bn(xr).backward(gy))
with torch.no_grad():
    report('unet relu [4,32,128,128] fwd', lambda: F.relu(xr))
report('unet relu [4,32,128,128] fwd+bwd', lambda: F.relu(xr).backward(gy))
logits = torch.randn(4, 3, 128, 128, requires_grad=True); target = torch.randint(0, 3, (4, 128, 128))
report('unet cross-entropy [4,3,128,128] fwd+bwd', lambda: F.cross_entropy(logits, target).backward())
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bench'))
import torch_bench
params = list(torch_bench.UNet().parameters())
for p in params: p.grad = torch.randn_like(p) * 1e-3
opt = torch.optim.Adam(params, lr=1e-3)
report('unet adam 7.76M params', lambda: opt.step())
for d in (12, 24, 36):
    conv(f"deeplab aspp 2048->256 d{d} @32", 1, 2048, 32, 256, 3, pad=d, dil=d, dirs=('fwd',))
conv('deeplab layer4 512->512 d4 @32', 1, 512, 32, 512, 3, pad=4, dil=4, dirs=('fwd',))
conv('deeplab layer4 512->512 d2 @32', 1, 512, 32, 512, 3, pad=2, dil=2, dirs=('fwd',))
conv('deeplab layer3 256->256 d2 @32', 1, 256, 32, 256, 3, pad=2, dil=2, dirs=('fwd',))
conv('deeplab 1x1 1024->2048 @32', 1, 1024, 32, 2048, 1, dirs=('fwd',))
conv('deeplab 1x1 2048->512 @32', 1, 2048, 32, 512, 1, dirs=('fwd',))
xi = torch.randn(1, 21, 32, 32)
report('deeplab bilinear 21x32x32 -> 256x256', lambda: F.interpolate(xi, size=(256, 256), mode='bilinear', align_corners=False))
