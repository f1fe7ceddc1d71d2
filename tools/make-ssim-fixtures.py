"""SSIM / PSNR goldens from scikit-image on crops of its sample photos (Debian's python3-skimage):
/usr/bin/python3 tools/make-ssim-fixtures.py

Writes 64×64 crops (clean and distorted, 8-bit PNG) to test/fixtures/photos/ and the values of
skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=1) and peak_signal_noise_ratio(..., data_range=1) on them (pixels / 255) to
test/fixtures/photos/quality.json. The photos are public domain / CC0 (see skimage.data).
"""
import json
import os

import numpy as np
from scipy import ndimage
from skimage import data, io
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "photos")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(0)


def noisy(img, sigma):
    return np.clip(np.round(img + rng.normal(0, sigma * 255, img.shape)), 0, 255).astype(np.uint8)


def blurred(img, sigma):
    axes = (sigma, sigma, 0) if img.ndim == 3 else sigma
    return np.clip(np.round(ndimage.gaussian_filter(img.astype(np.float64), axes)), 0, 255).astype(np.uint8)


camera = data.camera()[200:264, 220:284]
astronaut = data.astronaut()[40:104, 180:244]
images = {"camera": camera, "camera_noisy": noisy(camera, 0.08), "camera_blur": blurred(camera, 1.2),
          "astronaut": astronaut, "astronaut_noisy": noisy(astronaut, 0.05)}
for name, img in images.items():
    io.imsave(os.path.join(OUT, name + ".png"), img, check_contrast=False)

pairs = []
for clean, dist in [("camera", "camera_noisy"), ("camera", "camera_blur"), ("astronaut", "astronaut_noisy"),
                    ("camera_noisy", "camera_blur")]:
    a = images[clean].astype(np.float64) / 255
    b = images[dist].astype(np.float64) / 255
    channel_axis = -1 if a.ndim == 3 else None
    s = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0,
                              channel_axis=channel_axis)
    p = peak_signal_noise_ratio(a, b, data_range=1.0)
    pairs.append({"clean": clean, "distorted": dist, "ssim": float(s), "psnr": float(p)})
with open(os.path.join(OUT, "quality.json"), "w") as f:
    json.dump({"generator": "tools/make-ssim-fixtures.py", "pairs": pairs}, f, indent=1)
print(pairs)
