"""Deterministic copies of a test set that the grader can score a model on.

``shifted_rotated`` is the robustness test of the augmentation lesson: every image turned by an
angle drawn uniformly from [-15, 15] degrees about its centre and moved by up to 3 pixels in x
and y (sub-pixel, bilinear, black fill). The draws come from a fixed seed, so every student's
model meets exactly the same images.
"""
from __future__ import annotations

import numpy as np

MAX_DEGREES = 15.0
MAX_SHIFT = 3.0  # pixels
SEED = 2026


def shifted_rotated(images: np.ndarray, seed: int = SEED, max_degrees: float = MAX_DEGREES,
                    max_shift: float = MAX_SHIFT) -> np.ndarray:
    """A uint8 copy of ``images`` ((N, H, W) or (N, H, W, 1)), each rotated and shifted."""
    from .quiet import import_tensorflow

    _, keras = import_tensorflow()
    images = np.asarray(images)
    squeeze = images.ndim == 3
    batch = (images[..., None] if squeeze else images).astype("float32")
    n, height, width = batch.shape[:3]
    rng = np.random.default_rng(seed)
    angles = np.deg2rad(rng.uniform(-max_degrees, max_degrees, n))
    dx, dy = rng.uniform(-max_shift, max_shift, (2, n))
    # affine_transform maps each OUTPUT pixel (x, y) to the INPUT point it samples: the inverse
    # of "rotate about the centre, then shift".
    cos, sin = np.cos(angles), np.sin(angles)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    transforms = np.stack([cos, sin, cx - cos * (cx + dx) - sin * (cy + dy),
                           -sin, cos, cy + sin * (cx + dx) - cos * (cy + dy),
                           np.zeros(n), np.zeros(n)], axis=1).astype("float32")
    out = keras.ops.image.affine_transform(batch, transforms, interpolation="bilinear",
                                           fill_mode="constant", fill_value=0,
                                           data_format="channels_last")
    out = np.clip(np.rint(np.asarray(out)), 0, 255).astype(np.uint8)
    return out[..., 0] if squeeze else out


VARIANTS = {"shifted-rotated": shifted_rotated}
