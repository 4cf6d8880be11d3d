"""Catalog section F's language models: `bert` (masked language modelling) and `gpt` (causal language model).

Their exported serving graphs tokenise with TensorFlow Text's ops (through KerasHub's tokenizers): the
prediction server (`zoo.pipeline.serving.Predictor`) imports `tensorflow_text` before it loads a SavedModel,
which registers them. Nothing here imports Keras or TensorFlow, so reading the specs stays cheap.
"""
