"""Catalog section G, diffusion: DDPM, the denoising diffusion probabilistic model."""
