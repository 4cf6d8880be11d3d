"""Catalog section F, Transformers: `transformer` (Vaswani et al.'s encoder-decoder) and `transformer_classifier`
(its encoder, as a text classifier). The blocks (`layers`) are written for reuse by the other Transformers.

Importing this package imports nothing heavy; its spec module stays TensorFlow-free.
"""
