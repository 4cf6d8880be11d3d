"""Catalog section G, generative models: the variational autoencoder and the deep convolutional GAN."""
