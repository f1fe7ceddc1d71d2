// What the segment-* examples share: reading a run directory of examples/segment-scenes.ts back.
import { readFileSync } from 'node:fs';
import * as tt from '../src/index.ts';
import type { SegmentationModule } from '../src/models/segmentation/utils.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';

/** recipe.json of a run: the model and the scenes it was trained on. */
export interface SceneRecipe {
  model: string;
  base: number;
  depth: number;
  modelOptions: Record<string, unknown>;
  scene: { size: number; radius: [number, number]; objects: [number, number] };
}

/** A run's recipe. */
export function readRecipe(run: string): SceneRecipe {
  return JSON.parse(readFileSync(`${run}/recipe.json`, 'utf8')) as SceneRecipe;
}

/** The run's model rebuilt from its recipe with the weights of `checkpoint` ('best' or 'last'), in eval mode. */
export async function loadRunModel(
  run: string,
  recipe: SceneRecipe,
  numClasses: number,
  checkpoint: 'best' | 'last' = 'best',
): Promise<SegmentationModule> {
  const model: SegmentationModule =
    recipe.model === 'unet'
      ? tt.models.segmentation.unet({ numClasses, baseChannels: recipe.base, depth: recipe.depth })
      : tt.models.segmentation.getSegmentationModel(recipe.model, { numClasses, ...recipe.modelOptions });
  model.loadStateDict((await readCheckpoint(`${run}/${checkpoint}.safetensors`)).model);
  model.eval();
  return model;
}
