"""Catalog section E, recurrent text classifiers: `simple_rnn`, `lstm`, `gru` and `bidirectional_rnn`.

They read right-padded token ids through `zoo.models.text.preprocessing` (fitted on the training split) and
serve raw strings. Importing this package imports nothing heavy; its spec module stays TensorFlow-free.
"""
