"""Golden COCO evaluation and mask-API results from pycocotools, written to test/fixtures/coco-eval.json.

    PYTHONPATH=/path/to/pycocotools /usr/bin/python3 tools/coco_eval_fixtures.py

pycocotools is not a Debian package; any pycocotools 2.x works (unpack its wheel and point PYTHONPATH at it).
Kept apart from tools/fixtures/generate.py so that the PyTorch goldens regenerate without it.

Scenes are random but hard on the evaluator: crowd regions with detections inside, objects in all three area
ranges, duplicates, localisation noise that straddles the IoU thresholds, score ties, images with only false
positives, categories without ground truth, more than 100 detections on an image.
"""
import contextlib
import copy
import io
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import common  # noqa: E402

try:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    import pycocotools.mask as mask_util
except ImportError as e:  # pragma: no cover
    sys.exit(f"{e}: put pycocotools on PYTHONPATH (see this file's docstring)")


def scene(rng, n_images, n_cats, with_masks=False, h=60, w=80):
    images, anns, dets = [], [], []
    aid = 1
    for img in range(1, n_images + 1):
        images.append({"id": img, "height": h, "width": w})
        for _ in range(rng.integers(0, 6)):
            cat = int(rng.integers(1, n_cats + 1))
            # Sizes across small (< 32²), medium and large (> 96²) — boxes may leave the image for the large ones.
            side = float(rng.choice([rng.uniform(3, 25), rng.uniform(35, 90), rng.uniform(100, 140)]))
            bw, bh = side * rng.uniform(0.6, 1.4), side * rng.uniform(0.6, 1.4)
            x, y = float(rng.uniform(-5, w - 5)), float(rng.uniform(-5, h - 5))
            crowd = int(rng.random() < 0.1)
            ann = {"id": aid, "image_id": img, "category_id": cat, "bbox": [x, y, bw, bh], "area": bw * bh, "iscrowd": crowd}
            if with_masks:
                cx, cy = x + bw / 2, y + bh / 2
                k = int(rng.integers(3, 8))
                ang = np.sort(rng.uniform(0, 2 * np.pi, k))
                rad = rng.uniform(0.3, 0.5, k)
                poly = np.stack([cx + np.cos(ang) * rad * bw, cy + np.sin(ang) * rad * bh], 1).clip([0, 0], [w, h])
                rle = mask_util.merge(mask_util.frPyObjects([poly.reshape(-1).tolist()], h, w))
                if crowd:
                    rle_out = {"size": rle["size"], "counts": mask_util.decode(rle).flatten(order="F").tolist()}
                    # Crowd annotations use uncompressed RLE in COCO files.
                    m = mask_util.decode(rle).flatten(order="F")
                    counts, cur, run = [], 0, 0
                    for v in m:
                        if v != cur:
                            counts.append(run)
                            run, cur = 0, v
                        run += 1
                    counts.append(run)
                    ann["segmentation"] = {"size": rle["size"], "counts": counts}
                    del rle_out
                else:
                    ann["segmentation"] = [[round(float(v), 2) for v in poly.reshape(-1)]]
                ann["area"] = float(mask_util.area(rle))
                ann["bbox"] = [float(v) for v in mask_util.toBbox(rle)]
            anns.append(ann)
            aid += 1
            for _ in range(rng.integers(0, 3)):
                jit = rng.normal(0, 0.12, 4) * [bw, bh, bw, bh]
                d = {"image_id": img, "category_id": cat if rng.random() > 0.1 else int(rng.integers(1, n_cats + 2)),
                     "bbox": [x + jit[0], y + jit[1], max(bw + jit[2], 1.0), max(bh + jit[3], 1.0)],
                     "score": float(np.round(rng.random(), 1))}
                if with_masks:
                    m = mask_util.decode(mask_util.merge(mask_util.frPyObjects([poly.reshape(-1).tolist()], h, w)) if not crowd else rle)
                    shift = rng.integers(-2, 3, 2)
                    m = np.roll(m, tuple(shift), (0, 1))
                    if m.sum() == 0:
                        continue
                    r = mask_util.encode(np.asfortranarray(m))
                    d["segmentation"] = {"size": r["size"], "counts": r["counts"].decode("ascii")}
                    del d["bbox"]
                dets.append(d)
        for _ in range(rng.integers(0, 4)):
            bx = [float(rng.uniform(0, w)), float(rng.uniform(0, h)), float(rng.uniform(2, 40)), float(rng.uniform(2, 40))]
            d = {"image_id": img, "category_id": int(rng.integers(1, n_cats + 1)), "bbox": bx, "score": float(rng.random())}
            if with_masks:
                m = np.zeros((h, w), dtype=np.uint8, order="F")
                x0, y0 = int(bx[0]), int(bx[1])
                m[y0:y0 + int(bx[3]) + 1, x0:x0 + int(bx[2]) + 1] = 1
                r = mask_util.encode(np.asfortranarray(m))
                d["segmentation"] = {"size": r["size"], "counts": r["counts"].decode("ascii")}
                del d["bbox"]
            dets.append(d)
    return images, anns, dets


def evaluate(images, anns, dets, n_cats, iou_type, **params):
    gt = COCO()
    gt.dataset = {"images": images, "annotations": copy.deepcopy(anns), "categories": [{"id": c} for c in range(1, n_cats + 1)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(dets)) if dets else COCO()
        ev = COCOeval(gt, dt, iou_type)
        for k, v in params.items():
            setattr(ev.params, k, v)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(s) for s in ev.stats]


def cases():
    rng = np.random.default_rng(0)
    c = []
    images, anns, dets = scene(rng, 24, 3)
    c.append({"name": "bbox", "images": images, "anns": anns, "dets": dets, "params": {}, "stats": evaluate(images, anns, dets, 3, "bbox")})
    c.append({"name": "bbox_nocats", "images": images, "anns": anns, "dets": dets, "params": {"useCats": 0},
              "stats": evaluate(images, anns, dets, 3, "bbox", useCats=0)})
    c.append({"name": "bbox_maxdets", "images": images, "anns": anns, "dets": dets, "params": {"maxDets": [1, 2, 3]},
              "stats": evaluate(images, anns, dets, 3, "bbox", maxDets=[1, 2, 3])})
    # Many detections on one image (> 100) with ties: the maxDets cut and stable ordering.
    many = [{"image_id": 1, "category_id": 1, "bbox": [float(v) for v in rng.uniform(0, 60, 2)] + [10.0, 10.0], "score": float(np.round(rng.random(), 1))} for _ in range(130)]
    imgs1 = [{"id": 1, "height": 80, "width": 80}]
    anns1 = [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": [float(v) for v in rng.uniform(0, 60, 2)] + [10.0, 10.0], "area": 100.0, "iscrowd": 0} for i in range(40)]
    c.append({"name": "bbox_many", "images": imgs1, "anns": anns1, "dets": many, "params": {}, "stats": evaluate(imgs1, anns1, many, 1, "bbox")})
    images, anns, dets = scene(np.random.default_rng(1), 12, 2, with_masks=True)
    c.append({"name": "segm", "images": images, "anns": anns, "dets": dets, "params": {}, "stats": evaluate(images, anns, dets, 2, "segm")})

    # Mask API: polygon rasterisation, string RLE, area, bbox, IoU (with crowd).
    polys = [[10.2, 5.5, 30.7, 8.1, 25.3, 30.9, 4.4, 22.0], [0, 0, 19.5, 0, 19.5, 14.5, 0, 14.5], [3, 3, 40, 3, 3, 29],
             [15.5, -4.0, 45.0, 10.0, 30.0, 40.0, -3.0, 25.0], [5, 5, 6, 5, 6, 6]]
    rles = [mask_util.frPyObjects([p], 30, 41)[0] for p in polys]
    api = {"name": "mask_api", "polys": polys, "size": [30, 41],
           "counts": [r["counts"].decode("ascii") for r in rles],
           "areas": [int(a) for a in mask_util.area(rles)],
           "bboxes": [[float(v) for v in b] for b in mask_util.toBbox(rles)],
           "iou": mask_util.iou(rles, rles, [0, 0, 1, 0, 0]).tolist(),
           "bbox_iou": mask_util.iou([[1, 2, 10, 12], [5, 5, 20, 3]], [[3, 3, 10, 10], [0, 0, 8, 8], [30, 30, 2, 2]], [0, 1, 0]).tolist(),
           "decoded0": [int(v) for v in mask_util.decode(rles[0]).reshape(-1)]}
    c.append(api)
    return c


if __name__ == "__main__":
    common.write("coco-eval", cases())
