/**
 * Storage bookkeeping of one backward pass, kept out of the engine so the engine reads like the chain rule.
 *
 * Intermediate gradients die as soon as the node they flow into has run, and JavaScript cannot see that: their
 * buffers would wait for the garbage collector. This component counts, per storage, the pending gradients that use
 * it (an op may return views of one buffer, or one tensor for two inputs) and hands a storage back to the pool
 * (`recycleStorage`, tensor/storage.ts) when its last user is gone — but only storage allocated during this pass
 * (no forward tensor, saved tensor or user gradient can share it) that nothing else may keep: a leaf's `.grad`,
 * a gradient shown to a hook, a gradient returned by `autograd.grad`. With `createGraph` nothing is handed back:
 * the new graph saves gradients.
 *
 * It also decides whether a leaf's gradient can become its `.grad` as is (`claim`) or needs a copy.
 */
import type { TypedArray } from '../tensor/dtype.js';
import {
  allocate,
  allocatedSince,
  closeAllocationStamps,
  openAllocationStamps,
  recycleStorage,
} from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';

/** A contiguous copy that owns its storage, so in-place edits of `.grad` (clipping) cannot alias graph tensors. */
export function ownedCopy(t: Tensor): Tensor {
  const data = allocate(t.dtype, t.numel());
  data.set(t.dataView());
  return new Tensor(data, t.shape, t.dtype);
}

/** Per-storage use counts of one backward pass: what may go back to the pool, and what may become `.grad` as is. */
export class GradientStorage {
  /** Allocations after this mark happened during the pass (stamped until `close`). */
  private readonly mark = openAllocationStamps();
  /** Pending gradients per storage. */
  private readonly users = new Map<TypedArray, number>();
  /** Storage that escapes the pass (leaf gradients, hook arguments, returned gradients): never handed back. */
  private readonly kept = new Set<TypedArray>();
  /** Storage already given to a `.grad` by `claim`. */
  private readonly claimed = new Set<TypedArray>();

  /** @param recycle hand dead storage back to the pool (false under createGraph) */
  constructor(private readonly recycle: boolean) {}

  /** `g` is now pending (waiting for its node to run). */
  hold(g: Tensor): void {
    this.users.set(g.storage, (this.users.get(g.storage) ?? 0) + 1);
  }

  /**
   * One pending use of `g` is over (its node ran, or it was summed into another gradient). When it was the last,
   * the storage goes back to the pool if it was born in this pass and nothing keeps it.
   */
  release(g: Tensor): void {
    const left = (this.users.get(g.storage) ?? 1) - 1;
    if (left > 0) {
      this.users.set(g.storage, left);
      return;
    }
    this.users.delete(g.storage);
    if (this.recycle && !this.kept.has(g.storage) && this.bornHere(g.storage)) recycleStorage(g.storage);
  }

  /** `g`'s storage outlives the pass (or may): it is never handed back. */
  keep(g: Tensor): void {
    this.kept.add(g.storage);
  }

  /**
   * `g` itself when it can become a `.grad` as is: its storage was allocated during this pass (so no forward
   * tensor, user gradient or saved tensor shares it), it spans the whole storage, and no other `.grad` received it
   * (an op may return one tensor for two inputs). Otherwise an owned copy.
   */
  claim(g: Tensor): Tensor {
    const whole = g.offset === 0 && g.storage.length === g.numel() && g.isContiguous();
    if (whole && this.bornHere(g.storage) && !this.claimed.has(g.storage)) {
      this.claimed.add(g.storage);
      return g;
    }
    return ownedCopy(g);
  }

  /** The pass is over: allocations stop being stamped for it. */
  close(): void {
    closeAllocationStamps();
  }

  private bornHere(storage: TypedArray): boolean {
    return allocatedSince(storage, this.mark);
  }
}
