"""Reference outputs of torchvision.models.detection components for test/detection-parity.test.ts.

    /usr/bin/python3 tools/detection_parity.py OUT_DIR [transform] [two_stage] [fasterrcnn] [retinanet] [maskrcnn] [ssdlite] [frcnn_mobile] [ssd300] [fcos]

transform: GeneralizedRCNNTransform in eval and train mode on two images of different sizes with boxes and masks,
and the postprocess of boxes and Mask R-CNN masks. two_stage: RPN and RoIHeads on random features (weights in
two_stage.safetensors). fasterrcnn: fasterrcnn_resnet50_fpn end to end (its 167 MB state dict included).
retinanet: retinanet_resnet50_fpn end to end, eval detections and training losses. maskrcnn: the same for\nmaskrcnn_resnet50_fpn, masks included. ssdlite:
ssdlite320_mobilenet_v3_large. frcnn_mobile: fasterrcnn_mobilenet_v3_large_fpn.
ssd300: ssd300_vgg16. fcos: fcos_resnet50_fpn.
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


def two_stage_case(out_dir):
    """RPN and RoIHeads (box branch) of Faster R-CNN in eval mode on random two-level features."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.image_list import ImageList
    from torchvision.models.detection.roi_heads import RoIHeads
    from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
    from torchvision.ops import MultiScaleRoIAlign

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)

    class TwoStage(torch.nn.Module):
        def __init__(self):
            super().__init__()
            head = RPNHead(8, 6)
            # Larger than the N(0, 0.01²) init, so that scores spread and NMS has work to do.
            for p in head.parameters():
                torch.nn.init.normal_(p, std=0.1)
            # One RPN head serves every level, so each level has the same number of anchors (2 sizes × 3 ratios).
            anchors = AnchorGenerator(((16, 32), (48, 64)), ((0.5, 1.0, 2.0), (0.5, 1.0, 2.0)))
            self.rpn = RegionProposalNetwork(anchors, head, 0.7, 0.3, 256, 0.5, dict(training=300, testing=150), dict(training=300, testing=60), 0.7)
            pool = MultiScaleRoIAlign(["0", "1"], 7, 2)
            self.roi_heads = RoIHeads(pool, TwoMLPHead(8 * 49, 32), FastRCNNPredictor(32, 4), 0.5, 0.5, 512, 0.25, None, 0.05, 0.5, 100)
            for p in self.roi_heads.parameters():
                torch.nn.init.normal_(p, std=0.05)

    m = TwoStage().eval()
    images = ImageList(torch.zeros(2, 3, 64, 80), [(60, 80), (64, 70)])
    feats = {"0": torch.rand(2, 8, 16, 20, generator=g), "1": torch.rand(2, 8, 8, 10, generator=g)}
    with torch.no_grad():
        obj, deltas = m.rpn.head(list(feats.values()))
        proposals, _ = m.rpn(images, feats)
        dets, _ = m.roi_heads(feats, proposals, images.image_sizes)
    out = {"f0": feats["0"], "f1": feats["1"], "obj0": obj[0], "deltas1": deltas[1]}
    for i in range(2):
        out[f"proposals{i}"] = proposals[i]
        out[f"boxes{i}"] = dets[i]["boxes"]
        out[f"scores{i}"] = dets[i]["scores"]
        out[f"labels{i}"] = dets[i]["labels"].to(torch.int32)
    write_safetensors(os.path.join(out_dir, "two_stage.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "two_stage.safetensors"), m.state_dict())


def faster_rcnn_case(out_dir):
    """fasterrcnn_resnet50_fpn end to end in eval mode: seeded weights, random BN statistics, two small images."""
    from torchvision.models.detection import fasterrcnn_resnet50_fpn

    torch.manual_seed(0)
    m = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, min_size=64, max_size=100)
    g = torch.Generator().manual_seed(2)
    # Batch-norm statistics of random images (cumulative average), so that activations stay O(1) as with trained
    # weights; random statistics let them grow to hundreds, where float32 rounding alone moves boxes by 0.01 px.
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None
    m.backbone.train()
    with torch.no_grad():
        for _ in range(3):
            m.backbone(torch.randn(2, 3, 96, 96, generator=g))
    # Even so the FPN sums reach ~100: scale its outputs to O(1) like a trained network's, or the RPN's exp(dw)
    # turns float32 rounding into tenths of a pixel.
    with torch.no_grad():
        for blk in m.backbone.fpn.layer_blocks:
            blk[0].weight.mul_(0.05)
        # Peaked class scores (random ones are all ≈ 1/91, under the 0.05 threshold).
        m.roi_heads.box_predictor.cls_score.weight.mul_(30)
    m.eval()
    # Sizes that need no resizing (short side 64, long ≤ 100): the training-mode RPN keeps near-tied proposals, and
    # resampling differences of 1e-5 would already decide which of two overlapping boxes survives NMS.
    imgs = [torch.rand(3, 64, 96, generator=g), torch.rand(3, 80, 64, generator=g)]
    with torch.no_grad():
        dets = m(imgs)
    out = {"img0": imgs[0], "img1": imgs[1]}
    for i, d in enumerate(dets):
        out[f"boxes{i}"] = d["boxes"]
        out[f"scores{i}"] = d["scores"]
        out[f"labels{i}"] = d["labels"].to(torch.int32)
    write_safetensors(os.path.join(out_dir, "fasterrcnn.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "fasterrcnn.safetensors"), m.state_dict())

    # Training mode: the loss dict for fixed targets, with both samplers' draws recorded so Tatami can replay them
    # (its sampler draws from its own generator).
    rec = {}

    class Recorder:
        def __init__(self, sampler, key):
            self.sampler, self.key = sampler, key

        def __call__(self, labels):
            pos, neg = self.sampler(labels)
            rec[self.key] = (pos, neg)
            return pos, neg

    m.rpn.fg_bg_sampler = Recorder(m.rpn.fg_bg_sampler, "rpn")
    m.roi_heads.fg_bg_sampler = Recorder(m.roi_heads.fg_bg_sampler, "roi")
    m.train()
    targets = [{"boxes": torch.tensor([[5.0, 8.0, 40.0, 50.0], [50.0, 10.0, 85.0, 30.0]]), "labels": torch.tensor([3, 17])},
               {"boxes": torch.tensor([[10.0, 12.0, 45.0, 66.0]]), "labels": torch.tensor([1])}]  # in the 64×96 / 80×64 images
    losses = m(imgs, targets)
    tr = {k: v.detach().reshape(1) for k, v in losses.items()}
    for key in ("rpn", "roi"):
        for i in range(2):
            tr[f"{key}_pos{i}"] = rec[key][0][i].to(torch.uint8)
            tr[f"{key}_neg{i}"] = rec[key][1][i].to(torch.uint8)
    write_safetensors(os.path.join(out_dir, "fasterrcnn_train.io.safetensors"), tr)


def calibrate_batch_norm(backbone, g, size=96):
    """Batch-norm statistics of random images (cumulative average), so that activations stay O(1) as with trained
    weights (random statistics let them grow to hundreds, where float32 rounding alone moves boxes by 0.01 px)."""
    for mod in backbone.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None
    backbone.train()
    with torch.no_grad():
        for _ in range(3):
            backbone(torch.randn(2, 3, size, size, generator=g))


def write_detections(out, dets):
    for i, d in enumerate(dets):
        for k, v in d.items():
            out[f"{k}{i}"] = v.to(torch.int32) if k == "labels" else v


def retinanet_case(out_dir):
    """retinanet_resnet50_fpn end to end: eval detections and the training loss dict (no sampling: exact)."""
    from torchvision.models.detection import retinanet_resnet50_fpn

    torch.manual_seed(0)
    m = retinanet_resnet50_fpn(weights=None, weights_backbone=None, min_size=128, max_size=200)
    g = torch.Generator().manual_seed(3)
    calibrate_batch_norm(m.backbone, g)
    with torch.no_grad():
        for blk in m.backbone.fpn.layer_blocks:
            blk[0].weight.mul_(0.05)
        # The heads' N(0, 0.01²) convs shrink activations 4× per layer: He-scaled ones keep them O(1); then the
        # logits spread around the prior bias (scores up to ≈ 0.9) and the deltas are ≈ 0.3.
        head = m.head
        for sub in (head.classification_head.conv, head.regression_head.conv):
            for blk in sub:
                blk[0].weight.normal_(0, (2 / (9 * 256)) ** 0.5, generator=g)
        head.classification_head.cls_logits.weight.mul_(0.5)
        head.regression_head.bbox_reg.weight.mul_(0.25)
    m.eval()
    imgs = [torch.rand(3, 128, 192, generator=g), torch.rand(3, 160, 128, generator=g)]
    with torch.no_grad():
        dets = m(imgs)
    out = {"img0": imgs[0], "img1": imgs[1]}
    write_detections(out, dets)
    write_safetensors(os.path.join(out_dir, "retinanet.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "retinanet.safetensors"), m.state_dict())
    m.train()
    targets = [{"boxes": torch.tensor([[5.0, 8.0, 60.0, 90.0], [100.0, 10.0, 185.0, 60.0], [20.0, 30.0, 52.0, 70.0]]), "labels": torch.tensor([3, 17, 3])},
               {"boxes": torch.tensor([[10.0, 12.0, 120.0, 150.0]]), "labels": torch.tensor([1])}]
    losses = m(imgs, targets)
    write_safetensors(os.path.join(out_dir, "retinanet_train.io.safetensors"), {k: v.detach().reshape(1) for k, v in losses.items()})


def maskrcnn_case(out_dir):
    """maskrcnn_resnet50_fpn end to end: eval detections with pasted masks, and the five training losses with both
    samplers' draws recorded (Tatami replays them)."""
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    torch.manual_seed(0)
    m = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, min_size=64, max_size=100)
    g = torch.Generator().manual_seed(4)
    calibrate_batch_norm(m.backbone, g)
    with torch.no_grad():
        # As in the Faster R-CNN case: O(1) FPN outputs and peaked class scores.
        for blk in m.backbone.fpn.layer_blocks:
            blk[0].weight.mul_(0.05)
        m.roi_heads.box_predictor.cls_score.weight.mul_(30)
    m.eval()
    imgs = [torch.rand(3, 64, 96, generator=g), torch.rand(3, 80, 64, generator=g)]
    with torch.no_grad():
        dets = m(imgs)
    out = {"img0": imgs[0], "img1": imgs[1]}
    write_detections(out, dets)
    write_safetensors(os.path.join(out_dir, "maskrcnn.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "maskrcnn.safetensors"), m.state_dict())

    rec = {}

    class Recorder:
        def __init__(self, sampler, key):
            self.sampler, self.key = sampler, key

        def __call__(self, labels):
            pos, neg = self.sampler(labels)
            rec[self.key] = (pos, neg)
            return pos, neg

    m.rpn.fg_bg_sampler = Recorder(m.rpn.fg_bg_sampler, "rpn")
    m.roi_heads.fg_bg_sampler = Recorder(m.roi_heads.fg_bg_sampler, "roi")
    m.train()
    boxes = [torch.tensor([[5.0, 8.0, 40.0, 50.0], [50.0, 10.0, 85.0, 30.0]]), torch.tensor([[10.0, 12.0, 45.0, 66.0]])]
    masks = []
    for b, (h, w) in zip(boxes, [(64, 96), (80, 64)]):
        # An ellipse inscribed in each box, with a few pixels flipped inside it: masks that are not boxes.
        yy, xx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
        mk = []
        for x1, y1, x2, y2 in b.tolist():
            cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
            e = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
            mk.append((e & (torch.rand(h, w, generator=g) > 0.1)).to(torch.uint8))
        masks.append(torch.stack(mk))
    targets = [{"boxes": boxes[0], "labels": torch.tensor([3, 17]), "masks": masks[0]},
               {"boxes": boxes[1], "labels": torch.tensor([1]), "masks": masks[1]}]
    losses = m(imgs, targets)
    tr = {k: v.detach().reshape(1) for k, v in losses.items()}
    tr["masks0"], tr["masks1"] = masks
    for key in ("rpn", "roi"):
        for i in range(2):
            tr[f"{key}_pos{i}"] = rec[key][0][i].to(torch.uint8)
            tr[f"{key}_neg{i}"] = rec[key][1][i].to(torch.uint8)
    write_safetensors(os.path.join(out_dir, "maskrcnn_train.io.safetensors"), tr)


def ssdlite_case(out_dir):
    """ssdlite320_mobilenet_v3_large end to end on two 320×320 images (no resampling): eval detections and the
    training loss dict (hard negative mining is deterministic: exact)."""
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    torch.manual_seed(0)
    m = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
    g = torch.Generator().manual_seed(5)
    calibrate_batch_norm(m.backbone, g, size=320)
    with torch.no_grad():
        # Peaked class scores and deltas of a few tenths, as a trained detector's.
        for blk in m.head.classification_head.module_list:
            blk[1].weight.mul_(SSDLITE_CLS_SCALE)
        for blk in m.head.regression_head.module_list:
            blk[1].weight.mul_(SSDLITE_REG_SCALE)
    m.eval()
    imgs = [torch.rand(3, 320, 320, generator=g), torch.rand(3, 320, 320, generator=g)]
    with torch.no_grad():
        dets = m(imgs)
    out = {"img0": imgs[0], "img1": imgs[1]}
    write_detections(out, dets)
    write_safetensors(os.path.join(out_dir, "ssdlite.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "ssdlite.safetensors"), m.state_dict())
    m.train()
    targets = [{"boxes": torch.tensor([[5.0, 8.0, 160.0, 190.0], [200.0, 10.0, 300.0, 120.0], [40.0, 230.0, 90.0, 300.0]]), "labels": torch.tensor([3, 17, 3])},
               {"boxes": torch.tensor([[10.0, 12.0, 120.0, 150.0]]), "labels": torch.tensor([1])}]
    losses = m(imgs, targets)
    write_safetensors(os.path.join(out_dir, "ssdlite_train.io.safetensors"), {k: v.detach().reshape(1) for k, v in losses.items()})


def frcnn_mobile_case(out_dir):
    """fasterrcnn_mobilenet_v3_large_fpn end to end: eval detections and the four losses with both samplers'
    draws recorded."""
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

    torch.manual_seed(0)
    m = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, min_size=128, max_size=200)
    g = torch.Generator().manual_seed(6)
    calibrate_batch_norm(m.backbone, g, size=128)
    with torch.no_grad():
        for blk in m.backbone.fpn.layer_blocks:
            blk[0].weight.mul_(FRCNN_MOBILE_FPN_SCALE)
        m.roi_heads.box_predictor.cls_score.weight.mul_(30)
    m.eval()
    imgs = [torch.rand(3, 128, 192, generator=g), torch.rand(3, 160, 128, generator=g)]
    with torch.no_grad():
        dets = m(imgs)
    out = {"img0": imgs[0], "img1": imgs[1]}
    write_detections(out, dets)
    write_safetensors(os.path.join(out_dir, "frcnn_mobile.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "frcnn_mobile.safetensors"), m.state_dict())
    rec = {}

    class Recorder:
        def __init__(self, sampler, key):
            self.sampler, self.key = sampler, key

        def __call__(self, labels):
            pos, neg = self.sampler(labels)
            rec[self.key] = (pos, neg)
            return pos, neg

    m.rpn.fg_bg_sampler = Recorder(m.rpn.fg_bg_sampler, "rpn")
    m.roi_heads.fg_bg_sampler = Recorder(m.roi_heads.fg_bg_sampler, "roi")
    m.train()
    targets = [{"boxes": torch.tensor([[5.0, 8.0, 60.0, 90.0], [100.0, 10.0, 185.0, 60.0]]), "labels": torch.tensor([3, 17])},
               {"boxes": torch.tensor([[10.0, 12.0, 120.0, 150.0]]), "labels": torch.tensor([1])}]
    losses = m(imgs, targets)
    tr = {k: v.detach().reshape(1) for k, v in losses.items()}
    for key in ("rpn", "roi"):
        for i in range(2):
            tr[f"{key}_pos{i}"] = rec[key][0][i].to(torch.uint8)
            tr[f"{key}_neg{i}"] = rec[key][1][i].to(torch.uint8)
    write_safetensors(os.path.join(out_dir, "frcnn_mobile_train.io.safetensors"), tr)


def ssd300_case(out_dir):
    """ssd300_vgg16 end to end on two 300×300 images (no resampling): eval detections and the training losses."""
    from torchvision.models.detection import ssd300_vgg16

    torch.manual_seed(0)
    m = ssd300_vgg16(weights=None, weights_backbone=None)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        # The Xavier-initialised predictors give deltas of std ≈ 4.5 and logits of ≈ 3.4 (scores saturate at 1):
        # scale them to ≈ 0.4 and ≈ 1.7.
        for conv in m.head.regression_head.module_list:
            conv.weight.mul_(0.1)
        for conv in m.head.classification_head.module_list:
            conv.weight.mul_(0.5)
    m.eval()
    imgs = [torch.rand(3, 300, 300, generator=g), torch.rand(3, 300, 300, generator=g)]
    with torch.no_grad():
        dets = m(imgs)
    out = {"img0": imgs[0], "img1": imgs[1]}
    write_detections(out, dets)
    write_safetensors(os.path.join(out_dir, "ssd300.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "ssd300.safetensors"), m.state_dict())
    m.train()
    targets = [{"boxes": torch.tensor([[5.0, 8.0, 160.0, 190.0], [200.0, 10.0, 290.0, 120.0], [40.0, 230.0, 90.0, 290.0]]), "labels": torch.tensor([3, 17, 3])},
               {"boxes": torch.tensor([[10.0, 12.0, 120.0, 150.0]]), "labels": torch.tensor([1])}]
    losses = m(imgs, targets)
    write_safetensors(os.path.join(out_dir, "ssd300_train.io.safetensors"), {k: v.detach().reshape(1) for k, v in losses.items()})


def fcos_case(out_dir):
    """fcos_resnet50_fpn end to end: eval detections and the three training losses (deterministic matching)."""
    from torchvision.models.detection import fcos_resnet50_fpn

    torch.manual_seed(0)
    m = fcos_resnet50_fpn(weights=None, weights_backbone=None, min_size=128, max_size=200)
    g = torch.Generator().manual_seed(8)
    calibrate_batch_norm(m.backbone, g)
    with torch.no_grad():
        for blk in m.backbone.fpn.layer_blocks:
            blk[0].weight.mul_(0.05)
        # The towers end in GroupNorm, so their outputs are O(1); the N(0, 0.01²) predictors then give logits of
        # std ≈ 0.3 (no score above 0.2) and distances of a third of a stride: spread them as a trained model's
        # (distances of about one stride; ten strides at P7 would turn float32 rounding into 1e-3 px).
        m.head.classification_head.cls_logits.weight.mul_(8)
        m.head.regression_head.bbox_reg.weight.mul_(3)
        m.head.regression_head.bbox_ctrness.weight.mul_(5)
    m.eval()
    imgs = [torch.rand(3, 128, 192, generator=g), torch.rand(3, 160, 128, generator=g)]
    with torch.no_grad():
        dets = m(imgs)
    out = {"img0": imgs[0], "img1": imgs[1]}
    write_detections(out, dets)
    write_safetensors(os.path.join(out_dir, "fcos.io.safetensors"), out)
    write_safetensors(os.path.join(out_dir, "fcos.safetensors"), m.state_dict())
    m.train()
    targets = [{"boxes": torch.tensor([[5.0, 8.0, 60.0, 90.0], [100.0, 10.0, 185.0, 60.0], [20.0, 30.0, 52.0, 70.0], [120.0, 70.0, 135.0, 84.0]]), "labels": torch.tensor([3, 17, 3, 5])},
               {"boxes": torch.tensor([[10.0, 12.0, 120.0, 150.0], [30.0, 40.0, 50.0, 60.0]]), "labels": torch.tensor([1, 2])}]
    losses = m(imgs, targets)
    write_safetensors(os.path.join(out_dir, "fcos_train.io.safetensors"), {k: v.detach().reshape(1) for k, v in losses.items()})


FRCNN_MOBILE_FPN_SCALE = 0.05
SSDLITE_CLS_SCALE = 200.0  # logits std ≈ 3 (the random init gives 0.016)
SSDLITE_REG_SCALE = 20.0  # deltas std ≈ 0.3

CASES = {"fcos": fcos_case, "ssd300": ssd300_case, "frcnn_mobile": frcnn_mobile_case, "ssdlite": ssdlite_case, "maskrcnn": maskrcnn_case, "transform": transform_case, "two_stage": two_stage_case, "fasterrcnn": faster_rcnn_case, "retinanet": retinanet_case}

if __name__ == "__main__":
    for name in sys.argv[2:] or CASES:
        CASES[name](sys.argv[1])
