"""Catalog section G, image-to-image translation: pix2pix (U-Net generator, PatchGAN discriminator)."""
