"""Catalog section G, generative models: the variational autoencoder and the GANs (gan, dcgan, lsgan, cgan,
acgan, sgan).

Modules: `vae`; the GANs' shared pieces `common` (parts in three styles, argument checks), `adversarial`
(two optimizers, the adversarial `train_step`), `convolutional` (DCGAN's networks), `conditional` (the
label-conditioned generator), `data` (the data adapters, Keras-free), `sampling` (seeded serving); and one
module per model named by its spec (`gan`, `dcgan`, `lsgan`, `cgan`, `acgan`, `sgan`).

Import order. Importing Keras registers every zoo class (`zoo.register_all`, which imports every model module)
from inside that first `import keras`. A model module named by a spec must therefore import Keras before any
other zoo module, so that when it is the first to import Keras only it is half-initialised, and no module
imports names from a model module: shared code lives in the shared modules above.
"""
