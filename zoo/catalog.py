"""The catalog: every model the seed notes document (shared/CATALOG.md), registered or not yet.

The README's model table is generated from this and the registry (`python -m zoo.catalog`), and a test
checks that the README holds exactly that table, so it cannot drift from the code.
"""

from __future__ import annotations

SECTIONS = {
    "A. Foundations": ["perceptron", "mlp", "linear_regression", "logistic_regression", "softmax_regression",
                       "linear_svm", "autoregressive", "multi_input"],
    "B. Deep feed-forward": ["dnn_binary", "dnn_categorical", "dnn_regression"],
    "C. Convolutional": ["simple_cnn", "lenet5", "alexnet", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34",
                         "resnet50", "resnet101", "resnet152", "densenet121", "densenet169", "densenet201",
                         "gap_cam", "text_cnn", "transfer_learning"],
    "D. Vision applications": ["fcn", "yolo", "faster_rcnn", "image_captioning", "style_transfer"],
    "E. Sequence": ["simple_rnn", "lstm", "gru", "bidirectional_rnn", "lstm_forecaster", "seq2seq"],
    "F. Attention and Transformers": ["transformer", "transformer_classifier", "vit", "bert", "gpt"],
    "G. Representation and generative": ["autoencoder", "stacked_autoencoder", "conv_autoencoder",
                                         "denoising_autoencoder", "sparse_autoencoder", "vae", "gan", "dcgan",
                                         "lsgan", "cgan", "acgan", "sgan", "pix2pix", "nade", "diffusion"],
    "H. Text representation": ["bow_classifier", "embedding_classifier", "word2vec_cbow", "word2vec_skipgram"],
    "I. Recommendation": ["matrix_factorization", "nmf"],
}
BEGIN, END = "<!-- model-table:begin -->", "<!-- model-table:end -->"


def model_table() -> str:
    """The README's model table: every catalog entry, its styles and whether the zoo has it yet."""
    from zoo.registry import get_spec, list_models

    registered = set(list_models())
    rows = ["| model | section | styles | gate metric | status |", "|---|---|---|---|---|"]
    for section, names in SECTIONS.items():
        for name in names:
            if name in registered:
                spec = get_spec(name)
                arrow = "↑" if spec.gate.direction == "max" else "↓"
                styles = ", ".join(spec.supported_styles)
                rows.append(f"| `{name}` | {section} | {styles} | {spec.gate.metric} {arrow} | available |")
            else:
                rows.append(f"| `{name}` | {section} | — | — | not yet |")
    extra = sorted(registered - {n for names in SECTIONS.values() for n in names})
    if extra:
        raise RuntimeError(f"Registered models missing from the catalog: {extra}")
    return "\n".join(rows)


if __name__ == "__main__":
    print(BEGIN)
    print(model_table())
    print(END)
