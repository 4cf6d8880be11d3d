"""Training as a model's spec prescribes, for the learning checks (one place, shared by the family tests)."""

import zoo
from zoo.pipeline import steps


def fit_by_recipe(name, splits, *, style="functional", seed=0, epochs=None, **hparams):
    """Build `name`, compile it with the spec's recipe and fit it on adapted `splits` with early stopping."""
    import keras

    spec = zoo.get_spec(name)
    keras.utils.set_random_seed(seed)
    model = zoo.build(name, style=style, **{**spec.defaults, **hparams})
    recipe = spec.recipe
    steps.compile_model(model, spec, recipe.learning_rate)
    stop = keras.callbacks.EarlyStopping(monitor=recipe.monitor, patience=recipe.patience, restore_best_weights=True)
    model.fit(splits.train.x, splits.train.y, validation_data=(splits.val.x, splits.val.y),
              batch_size=recipe.batch_size, epochs=epochs or recipe.epochs, callbacks=[stop], verbose=0)
    return model
