"""Catalog section H, text representation: `embedding_classifier` and `bow_classifier`, and the text
preprocessing that every zoo text classifier shares (`preprocessing`: text to token ids or to bags of words,
fitted on the training split, and the serving wrappers that make the deployed model take raw strings).

Importing this package imports nothing heavy; its spec module stays TensorFlow-free.
"""
