"""Catalog section D, vision applications: neural style transfer (Gatys, Ecker & Bethge 2016) on VGG-19 features."""
