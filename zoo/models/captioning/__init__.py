"""Image captioning (catalog D): Show and Tell, a CNN encoder and an LSTM decoder (`captioner`)."""
