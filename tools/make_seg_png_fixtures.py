#!/usr/bin/env python3
"""Palette-PNG fixtures written by Pillow (an independent encoder) for test/seg-data.test.ts:
test/fixtures/seg/palette8.png (8-bit, VOC colour map, values 0–255) and palette1.png (1-bit, 2 entries)."""
import os
import numpy as np
from PIL import Image

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'seg')
os.makedirs(out, exist_ok=True)
pal = []
for i in range(256):
    r = g = b = 0
    c = i
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    pal += [r, g, b]
im = Image.fromarray(np.array([[0, 1, 2, 255], [15, 3, 0, 1], [7, 7, 7, 7]], dtype=np.uint8), mode='P')
im.putpalette(pal)
im.save(os.path.join(out, 'palette8.png'))
im2 = Image.fromarray(np.array([[0, 1, 1, 0, 1, 0, 0, 1, 1]] * 2, dtype=np.uint8), mode='P')
im2.putpalette([0, 0, 0, 255, 255, 255])
im2.save(os.path.join(out, 'palette1.png'), bits=1, optimize=True)
