/**
 * Training checkpoints: model weights, optimizer and scheduler state, epoch, random-generator state and history in
 * one safetensors file (tensors + a JSON metadata entry), written atomically.
 */
import { defaultGenerator, Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { readSafetensors, saveSafetensors } from '../io/safetensors.js';
import { packState, unpackState, type Packed } from './state.js';

/** What fit() needs from a model to checkpoint it (nn.Module satisfies it). */
export interface StatefulModel {
  stateDict(): Record<string, Tensor>;
  loadStateDict(sd: Record<string, Tensor>, strict?: boolean): unknown;
}

/** Anything with a PyTorch-style state dict (optimizers, schedulers). */
export interface Stateful {
  stateDict(): unknown;
  loadStateDict(state: never): unknown;
}

export interface CheckpointContent {
  epoch: number;
  model: Record<string, Tensor>;
  optimizer?: unknown;
  scheduler?: unknown;
  rngState: number[];
  extra: Record<string, unknown>;
}

const META_KEY = 'tatami.checkpoint';

/** Saves a checkpoint of everything needed to resume training exactly. */
export async function saveCheckpoint(
  path: string,
  parts: {
    epoch: number;
    model: StatefulModel;
    optimizer?: Stateful;
    scheduler?: Stateful;
    extra?: Record<string, unknown>;
  },
): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(parts.model.stateDict())) tensors[`model.${k}`] = t;
  const meta = {
    format: 1,
    epoch: parts.epoch,
    optimizer: parts.optimizer ? packState(parts.optimizer.stateDict(), 'optimizer', tensors) : null,
    scheduler: parts.scheduler ? packState(parts.scheduler.stateDict(), 'scheduler', tensors) : null,
    rngState: defaultGenerator.getState().map((v) => (Number.isNaN(v) ? null : v)),
    extra: packState(parts.extra ?? {}, 'extra', tensors),
  };
  await saveSafetensors(path, tensors, { [META_KEY]: JSON.stringify(meta) });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Reads a checkpoint written by saveCheckpoint. The metadata is validated before anything is used — format,
 * epoch (a non-negative integer), rngState (a valid generator state: an all-zero one would make `randn` spin),
 * the optimizer/scheduler/extra sections (objects, tensor references present) — and every error names the file.
 */
export async function readCheckpoint(path: string): Promise<CheckpointContent> {
  const { tensors, metadata } = await readSafetensors(path);
  const raw = metadata[META_KEY];
  const bad = (why: string): never => {
    throw new Error(`checkpoint: ${path}: ${why}`);
  };
  if (!raw)
    throw new Error(`checkpoint: ${path} is a safetensors file but not a Tatami checkpoint (no ${META_KEY} metadata)`);
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch (e) {
    bad(`the ${META_KEY} metadata is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(meta)) return bad(`the ${META_KEY} metadata must be a JSON object`);
  if (meta.format !== 1) bad(`unknown checkpoint format ${JSON.stringify(meta.format)} (expected 1)`);
  const epoch = meta.epoch;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0)
    bad(`epoch must be a non-negative integer, got ${JSON.stringify(epoch)}`);
  if (!Array.isArray(meta.rngState))
    bad(`rngState must be an array of 6 numbers, got ${JSON.stringify(meta.rngState)}`);
  const rngState = (meta.rngState as unknown[]).map((v) => (v === null ? Number.NaN : v)) as number[];
  try {
    Generator.checkState(rngState);
  } catch (e) {
    bad(`invalid rngState: ${(e as Error).message}`);
  }
  for (const key of ['optimizer', 'scheduler'] as const) {
    if (meta[key] !== null && meta[key] !== undefined && !isObject(meta[key]))
      bad(`${key} state must be an object or null, got ${JSON.stringify(meta[key])}`);
  }
  if (meta.extra !== undefined && meta.extra !== null && !isObject(meta.extra))
    bad(`extra must be an object, got ${JSON.stringify(meta.extra)}`);
  const model: Record<string, Tensor> = {};
  // defineProperty: a tensor named "model.__proto__" is an ordinary key, not the object's prototype.
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.'))
      Object.defineProperty(model, k.slice(6), { value: t, enumerable: true, writable: true, configurable: true });
  }
  try {
    return {
      epoch: epoch as number,
      model,
      optimizer: meta.optimizer == null ? undefined : unpackState(meta.optimizer as Packed, tensors),
      scheduler: meta.scheduler == null ? undefined : unpackState(meta.scheduler as Packed, tensors),
      rngState,
      extra: (unpackState((meta.extra ?? null) as Packed, tensors) ?? {}) as Record<string, unknown>,
    };
  } catch (e) {
    return bad((e as Error).message.replace(/^checkpoint: /, ''));
  }
}

/** Loads a checkpoint into live objects and restores the default generator; returns the epoch it was saved after. */
export async function loadCheckpoint(
  path: string,
  parts: { model: StatefulModel; optimizer?: Stateful; scheduler?: Stateful },
): Promise<CheckpointContent> {
  const ck = await readCheckpoint(path);
  // Errors from the live objects (a missing key, a wrong shape, a corrupt optimizer state) name the file too.
  const named = (what: string, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      throw new Error(`checkpoint: ${path}: cannot load the ${what} state: ${(e as Error).message}`);
    }
  };
  named('model', () => parts.model.loadStateDict(ck.model, true));
  if (parts.optimizer && ck.optimizer !== undefined)
    named('optimizer', () => parts.optimizer!.loadStateDict(ck.optimizer as never));
  if (parts.scheduler && ck.scheduler !== undefined)
    named('scheduler', () => parts.scheduler!.loadStateDict(ck.scheduler as never));
  defaultGenerator.setState(ck.rngState);
  return ck;
}
