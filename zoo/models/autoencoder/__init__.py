"""Catalog section G, autoencoders: undercomplete, stacked, convolutional, denoising and sparse.

`base` holds what they share (the top model that owns an encoder and a decoder built in a style, argument
checks), `dense` the four dense autoencoders, `conv` the convolutional one, and `spec` their specs.
"""
