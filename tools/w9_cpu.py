"""W9 in CPU time with PyTorch, one thread: the counterpart of tools/w9-cpu.ts (same sizes, median of 3)."""
import time, torch, torch.nn as nn
torch.set_num_threads(1)
x = torch.randn(2, 64, 16, 56, 56); conv = nn.Conv3d(64, 64, 3, padding=1, bias=False)
flops = 2 * 2 * 64 * 16 * 56 * 56 * 64 * 27
def med(f, r=3, w=1):
    for _ in range(w): f()
    ts = []
    for _ in range(r):
        t = time.process_time(); f(); ts.append(time.process_time() - t)
    return sorted(ts)[len(ts) // 2]
with torch.no_grad():
    print("torch fwd GFLOP/cpu-s %.1f" % (flops / med(lambda: conv(x)) / 1e9))
xr = x.clone().requires_grad_(True)
def fb():
    conv.zero_grad(); xr.grad = None; conv(xr).sum().backward()
print("torch fwd+bwd GFLOP/cpu-s %.1f" % (3 * flops / med(fb) / 1e9))
