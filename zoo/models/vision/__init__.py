"""Catalog section D, vision applications: models that label pixels, find objects or describe images."""
