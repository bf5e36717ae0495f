"""Instructor demos (ipywidgets), one module per part of the lectures:

- `adversarial`: the 1-D GAN of the lecture figure (notebook 01), latent walks (03, 04);
- `latent`: a VAE's 2-D latent space (05), an InfoGAN's codes and the "which code moved?" game (08);
- `translation`: a conditional GAN's classes and CycleGAN's translations (06), the super-resolution wipe (10);
- `diffusion`: noise becoming data, and a flow layer by layer (09).
(Notebook 07's GAN Lab lives in course_utils.gan_lab.)

Each demo has `widget()` (the live controls and picture) and `static_figure()`, the same picture as a plain figure.
`use_preset("projector")` sizes every demo built afterwards for a projected 1920x1080 screen; notebooks/demos.ipynb
gathers every demo (`make present`).
"""

from .adversarial import GAN1DDemo, LatentWalkDemo, slerp
from .diffusion import DenoisingDemo
from .display import PRESETS, DemoBox, FigureView, Preset, preset, use_preset
from .latent import CodeDemo, Latent2DDemo
from .translation import ConditionalDemo, TranslationDemo, WipeDemo

__all__ = ["GAN1DDemo", "LatentWalkDemo", "slerp", "DenoisingDemo", "PRESETS", "DemoBox", "FigureView", "Preset",
           "preset", "use_preset", "CodeDemo", "Latent2DDemo", "ConditionalDemo", "TranslationDemo", "WipeDemo"]
