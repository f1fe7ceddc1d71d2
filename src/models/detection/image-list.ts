/** ImageList (torchvision.models.detection.image_list): a padded image batch and the size of each image in it. */
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * Images of different sizes padded into one [N, C, H, W] batch, with each image's true [height, width] before
 * padding — what the detection heads need to clip boxes and map them back.
 */
export class ImageList {
  constructor(
    readonly tensors: Tensor,
    readonly imageSizes: readonly (readonly [number, number])[],
  ) {
    if (tensors.shape.length !== 4)
      throw new Error(`ImageList: tensors must be [N, C, H, W], got ${formatShape(tensors.shape)}`);
    if (imageSizes.length !== tensors.shape[0]) {
      throw new Error(
        `ImageList: ${imageSizes.length} image sizes for a batch of ${tensors.shape[0]} (${formatShape(tensors.shape)})`,
      );
    }
  }
}
