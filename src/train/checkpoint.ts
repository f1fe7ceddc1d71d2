/**
 * Training checkpoints: model weights, optimizer and scheduler state, epoch, random-generator state and history in
 * one safetensors file (tensors + a JSON metadata entry), written atomically.
 */
import { defaultGenerator } from '../tensor/random.js';
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
  parts: { epoch: number; model: StatefulModel; optimizer?: Stateful; scheduler?: Stateful; extra?: Record<string, unknown> },
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

/** Reads a checkpoint written by saveCheckpoint. */
export async function readCheckpoint(path: string): Promise<CheckpointContent> {
  const { tensors, metadata } = await readSafetensors(path);
  const raw = metadata[META_KEY];
  if (!raw) throw new Error(`checkpoint: ${path} is a safetensors file but not a Tatami checkpoint (no ${META_KEY} metadata)`);
  const meta = JSON.parse(raw) as { epoch: number; optimizer: Packed; scheduler: Packed; rngState: (number | null)[]; extra: Packed };
  const model: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model.')) model[k.slice(6)] = t;
  return {
    epoch: meta.epoch,
    model,
    optimizer: meta.optimizer === null ? undefined : unpackState(meta.optimizer, tensors),
    scheduler: meta.scheduler === null ? undefined : unpackState(meta.scheduler, tensors),
    rngState: meta.rngState.map((v) => (v === null ? Number.NaN : v)),
    extra: (unpackState(meta.extra, tensors) ?? {}) as Record<string, unknown>,
  };
}

/** Loads a checkpoint into live objects and restores the default generator; returns the epoch it was saved after. */
export async function loadCheckpoint(
  path: string,
  parts: { model: StatefulModel; optimizer?: Stateful; scheduler?: Stateful },
): Promise<CheckpointContent> {
  const ck = await readCheckpoint(path);
  parts.model.loadStateDict(ck.model, true);
  if (parts.optimizer && ck.optimizer !== undefined) parts.optimizer.loadStateDict(ck.optimizer as never);
  if (parts.scheduler && ck.scheduler !== undefined) parts.scheduler.loadStateDict(ck.scheduler as never);
  defaultGenerator.setState(ck.rngState);
  return ck;
}
