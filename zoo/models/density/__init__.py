"""Catalog section G, density estimation: NADE, the neural autoregressive density estimator."""
