# PyTorch side of tools/wgrad-bench.ts: a line-protocol server that times the convolution weight gradient
# (aten.convolution_backward with output_mask [False, True, False], what autograd runs for conv2d's weight) on one
# thread, in CPU time. Reads `n c h oc k stride pad reps` per line, answers the median ms of `reps` calls after
# one warm-up. Started by the TypeScript script so both sides run interleaved on the same machine state.
import sys, time
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
cb = torch.ops.aten.convolution_backward


def med(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = time.process_time()
        f()
        ts.append((time.process_time() - t) * 1e3)
    return sorted(ts)[reps // 2]


print('ready', flush=True)
for line in sys.stdin:
    n, c, h, oc, k, s, p, reps = map(int, line.split())
    x = torch.randn(n, c, h, h)
    w = torch.randn(oc, c, k, k)
    oh = (h + 2 * p - k) // s + 1
    gy = torch.randn(n, oc, oh, oh)
    with torch.no_grad():
        ms = med(lambda: cb(gy, x, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [False, True, False]), reps)
    print(f'{ms:.4f}', flush=True)
