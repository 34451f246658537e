"""Deterministic copies of a test set that the grader scores a model on.

Every graded model is scored on a *perturbed* copy of the test images, drawn from a seed: each
image moved by up to half a pixel in x and y (sub-pixel, bilinear), dimmed by up to 15 % and
given a little noise. An honest model barely notices (the calibration runs of 2026-12-07 lost
0.0 to 0.8 points of accuracy on MNIST, 0.5 to 1.7 on Fashion-MNIST);
a model that looks the published test images up by their exact pixels finds none of them. The
grader draws its copy from the seed in the instructor's ``nbgrader_config.py``; a student's
notebook, which never sees that file, previews on a copy drawn from ``SEED``, alike in kind.

``probe`` is a stronger copy of the same kind (up to 1 pixel, more noise), for telling a model
that memorised the test images from an honest one: an honest model makes somewhat more
mistakes on it than on the published images (at most 2.03 times as many in the calibration
runs), a model trained on
the test images themselves makes almost none on the published images and many more on the copy.

``shifted_rotated`` is the robustness test of the augmentation lesson: every image turned by an
angle drawn uniformly from [-15, 15] degrees about its centre and moved by up to 3 pixels in x
and y (sub-pixel, bilinear, black fill).
"""
from __future__ import annotations

import numpy as np

MAX_DEGREES = 15.0
MAX_SHIFT = 3.0  # pixels
SEED = 2026


def shifted_rotated(images: np.ndarray, seed: int = SEED, max_degrees: float = MAX_DEGREES,
                    max_shift: float = MAX_SHIFT) -> np.ndarray:
    """A uint8 copy of ``images`` ((N, H, W) or (N, H, W, 1)), each rotated and shifted."""
    return _moved(images, np.random.default_rng(seed), max_degrees, max_shift)


PERTURB_SHIFT, PERTURB_DIM, PERTURB_NOISE = 0.5, 0.15, 6.0  # pixels, fraction, 0-255 levels
PROBE_SHIFT, PROBE_NOISE = 1.0, 8.0


def perturbed(images: np.ndarray, seed: int = SEED, max_shift: float = PERTURB_SHIFT,
              noise: float = PERTURB_NOISE, max_dim: float = PERTURB_DIM) -> np.ndarray:
    """A uint8 copy of ``images``, each moved by up to ``max_shift`` pixels, dimmed by up to
    ``max_dim`` and given Gaussian noise of ``noise`` grey levels."""
    rng = np.random.default_rng(seed)
    moved = _moved(images, rng, 0.0, max_shift, rounded=False)
    dim = rng.uniform(1 - max_dim, 1, (len(moved),) + (1,) * (moved.ndim - 1))
    noisy = moved * dim + rng.normal(0, noise, moved.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def probe(images: np.ndarray, seed: int = SEED) -> np.ndarray:
    return perturbed(images, seed + 1, max_shift=PROBE_SHIFT, noise=PROBE_NOISE)


def _moved(images: np.ndarray, rng: np.random.Generator, max_degrees: float, max_shift: float,
           rounded: bool = True) -> np.ndarray:
    from .quiet import import_tensorflow

    _, keras = import_tensorflow()
    images = np.asarray(images)
    squeeze = images.ndim == 3
    batch = (images[..., None] if squeeze else images).astype("float32")
    n, height, width = batch.shape[:3]
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
    out = np.asarray(out)
    if rounded:
        out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out[..., 0] if squeeze else out


VARIANTS = {"shifted-rotated": shifted_rotated}
