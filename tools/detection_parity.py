"""Reference outputs of torchvision.models.detection components for test/detection-parity.test.ts.

    /usr/bin/python3 tools/detection_parity.py OUT_DIR

Writes OUT_DIR/transform.safetensors: GeneralizedRCNNTransform in eval and train mode on two images of different
sizes with boxes and masks (inputs and outputs), and the postprocess of boxes and Mask R-CNN masks.
"""
import os
import sys

import torch
from torchvision.models.detection.transform import GeneralizedRCNNTransform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torchvision import write_safetensors  # noqa: E402


def transform_case(out_dir):
    g = torch.Generator().manual_seed(0)
    imgs = [torch.rand(3, 37, 53, generator=g), torch.rand(3, 61, 45, generator=g)]
    boxes = [torch.tensor([[1.5, 2.0, 30.0, 20.5], [10.0, 0.0, 52.0, 36.0]]), torch.tensor([[0.0, 0.0, 44.0, 60.0]])]
    masks = [(torch.rand(2, 37, 53, generator=g) > 0.5).to(torch.uint8), (torch.rand(1, 61, 45, generator=g) > 0.5).to(torch.uint8)]
    targets = [{"boxes": b, "masks": m} for b, m in zip(boxes, masks)]
    t = GeneralizedRCNNTransform(64, 90, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).eval()
    il, tg = t(imgs, [dict(x) for x in targets])
    out = {"img0": imgs[0], "img1": imgs[1], "boxes0": boxes[0], "boxes1": boxes[1], "masks0": masks[0], "masks1": masks[1],
           "eval_batch": il.tensors, "eval_sizes": torch.tensor(il.image_sizes, dtype=torch.int32),
           "eval_boxes0": tg[0]["boxes"], "eval_boxes1": tg[1]["boxes"], "eval_masks0": tg[0]["masks"], "eval_masks1": tg[1]["masks"]}
    # A short side of 100 hits the max_size cap on the 61×45 image; size_divisible 16.
    t2 = GeneralizedRCNNTransform((100,), 110, [0.5, 0.4, 0.3], [0.2, 0.3, 0.4], size_divisible=16).train()
    il2, _ = t2(imgs)
    out["train_batch"] = il2.tensors
    out["train_sizes"] = torch.tensor(il2.image_sizes, dtype=torch.int32)
    # postprocess: predicted boxes and 28×28 mask probabilities back on the original images.
    pm = torch.rand(2, 1, 28, 28, generator=g)
    pred = [{"boxes": torch.tensor([[3.0, 4.0, 40.0, 30.0], [-5.0, 10.0, 20.0, 70.0]]), "masks": pm}]
    post = t.postprocess([dict(p) for p in pred], [(64, 91)], [(37, 53)])
    out["post_masks_in"] = pm
    out["post_boxes"] = post[0]["boxes"]
    out["post_masks"] = post[0]["masks"]
    write_safetensors(os.path.join(out_dir, "transform.safetensors"), out)


if __name__ == "__main__":
    transform_case(sys.argv[1])
