"""Sequence-to-sequence datasets (catalog sections E and F): token sequences in, token sequences out.

Every loader here returns `Splits` of kind "sequence": x int32 (N, source_length) and y int32
(N, target_length), both right-padded with 0 (cuDNN's recurrent kernels need right padding), each target
ending with an end-of-sequence token unless it was cut at `target_length`. The ids are shared:

    0 = PAD, 1 = BOS (begin: what the decoder reads first), 2 = EOS (end), 3.. = symbols or words

and `Splits.info` records them with the vocabulary size and the two lengths, which the sequence task, its
adapter and the deployed decoder read.
"""

from __future__ import annotations

import numpy as np

from zoo.data import Split, Splits, dataset, split_arrays

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
RESERVED = ("<pad>", "<bos>", "<eos>")


def special_ids() -> dict[str, int]:
    """The reserved ids, as every sequence dataset records them in its `info`."""
    return {"pad_id": PAD_ID, "bos_id": BOS_ID, "eos_id": EOS_ID}


def _check_int(option: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{option}` must be an integer of at least {minimum}. Received: {option}={value!r}")
    return int(value)


def right_pad(rows, length: int) -> np.ndarray:
    """int32 (len(rows), length): each row of ids followed by PAD; a row longer than `length` is an error."""
    out = np.full((len(rows), length), PAD_ID, dtype="int32")
    for i, row in enumerate(rows):
        if len(row) > length:
            raise ValueError(f"A sequence of {len(row)} ids does not fit in {length}.")
        out[i, :len(row)] = row
    return out


# ------------------------------------------------------------------------------------------------ reversal


@dataset("synthetic_reverse", offline=True,
         summary="Random symbol sequences (3-10 of 17 symbols) whose target is the sequence reversed, then EOS; "
                 "no sequence is in two splits.")
def synthetic_reverse(*, seed: int = 0, data_dir=None, n: int = 6000, symbols: int = 17, min_length: int = 3,
                      max_length: int = 10) -> Splits:
    """The reversal task: a model must read the whole source before it can write the first target token.

    Lengths are uniform in [min_length, max_length] and symbols uniform over `symbols` ids (3, 4, ...);
    every source is distinct, so the test split holds only sequences the model never saw in training.

    Args:
        n: number of distinct sequences (split 70/15/15).
        symbols: size of the alphabet; the vocabulary is `symbols + 3` ids with PAD, BOS and EOS.
        min_length, max_length: range of source lengths.

    Returns:
        `Splits` of kind "sequence": x int32 (N, max_length) the sources, y int32 (N, max_length + 1) the
        reversed sources followed by EOS, both right-padded with 0. `info` has vocab_size, source_length,
        target_length and the reserved ids (pad_id, bos_id, eos_id).
    """
    symbols = _check_int("symbols", symbols, 1)
    min_length = _check_int("min_length", min_length, 1)
    max_length = _check_int("max_length", max_length, min_length)
    n = _check_int("n", n, 20)
    possible = sum(symbols ** length for length in range(min_length, max_length + 1))
    if n > possible // 2:
        # Drawing distinct sequences by rejection needs plenty of room to stay quick.
        raise ValueError(f"`n` must be at most {possible // 2} for {symbols} symbols and lengths {min_length}-"
                         f"{max_length} (half of the {possible} possible sequences). Received: n={n}")
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, ...]] = set()
    sources: list[tuple[int, ...]] = []
    while len(sources) < n:
        length = int(rng.integers(min_length, max_length + 1))
        sequence = tuple(int(t) for t in rng.integers(len(RESERVED), len(RESERVED) + symbols, size=length))
        if sequence not in seen:
            seen.add(sequence)
            sources.append(sequence)
    x = right_pad(sources, max_length)
    y = right_pad([(*reversed(s), EOS_ID) for s in sources], max_length + 1)
    train, val, test = split_arrays(x, y, seed=seed, stratify=False)
    info = {"vocab_size": symbols + len(RESERVED), "source_length": max_length, "target_length": max_length + 1,
            **special_ids(), "symbols": symbols, "lengths": [min_length, max_length],
            "rule": "target = reversed source, then EOS"}
    return Splits("synthetic_reverse", "sequence", train, val, test, info=info)


# --------------------------------------------------------------------------------------------- translation

UNK_ID = 3
# TFDS' configurations of ted_hrlr_translate, source_to_target. Each is a dataset of its own here,
# "ted_hrlr_translate/<pair>" as TFDS names it, so the language pair is chosen by the dataset name (the CLI's
# --dataset) and every pair keeps its own deployed baseline; the bare name is Portuguese to English.
TED_PAIRS = ("az_to_en", "aztr_to_en", "be_to_en", "beru_to_en", "es_to_pt", "fr_to_pt", "gl_to_en", "glpt_to_en",
             "he_to_pt", "it_to_pt", "pt_to_en", "ru_to_en", "ru_to_pt", "tr_to_en")
TED_DEFAULT_PAIR = "pt_to_en"


def fit_vocabulary(sentences, size: int) -> list[str]:
    """The `size` most frequent words (ties in alphabetical order) after PAD, BOS, EOS and UNK."""
    from collections import Counter

    counts = Counter(word for sentence in sentences for word in sentence)
    ranked = sorted(counts, key=lambda word: (-counts[word], word))
    return [*RESERVED, "<unk>", *ranked[:max(size - len(RESERVED) - 1, 0)]]


def words(texts) -> list[list[str]]:
    """UTF-8 byte strings (or str) -> lowercased words. The corpus is already tokenised: words and
    punctuation marks are separated by spaces."""
    return [(t.decode("utf-8", errors="replace") if isinstance(t, bytes) else str(t)).lower().split()
            for t in texts]


def detokenize(ids, vocabulary=None, *, eos_id: int = EOS_ID) -> str:
    """One decoded or reference row of ids -> its text: the words up to EOS or padding, joined by spaces.

    Without a vocabulary each id is written as its number (the reversal task's symbols).
    """
    out = []
    for token in ids:
        token = int(token)
        if token in (PAD_ID, eos_id):
            break
        out.append(vocabulary[token] if vocabulary is not None and token < len(vocabulary) else str(token))
    return " ".join(out)


def ted_pair(name: str) -> str:
    """The language pair a ted_hrlr_translate dataset name selects ("ted_hrlr_translate/ru_to_en" -> "ru_to_en")."""
    base, slash, pair = name.partition("/")
    pair = pair if slash else TED_DEFAULT_PAIR
    if base != "ted_hrlr_translate" or pair not in TED_PAIRS:
        raise ValueError(f"Unknown ted_hrlr_translate dataset {name!r}. Allowed: ted_hrlr_translate, or "
                         f"ted_hrlr_translate/PAIR with PAIR one of {', '.join(TED_PAIRS)}.")
    return pair


def load_ted(name: str, *, data_dir: str | None = None, vocab_size: int = 8000, max_length: int = 40) -> Splits:
    """TED talk translations as word ids, with the published train/validation/test splits.

    Each language gets its own vocabulary of the `vocab_size` most frequent training words (ids 4..; 3 is
    an unknown word). Pairs where either side is empty or longer than `max_length` words are left out of
    every split, as translation tutorials do to keep sequences short; `info["kept"]` counts them.

    Args:
        name: "ted_hrlr_translate" (Portuguese to English) or "ted_hrlr_translate/<pair>", a TFDS
            configuration source_to_target ("pt_to_en", "ru_to_en", "az_to_en", ...).
        vocab_size: ids per language, the reserved four included.
        max_length: most words per sentence.

    Returns:
        `Splits` of kind "sequence" named `name`, as `synthetic_reverse`'s (source_length = max_length,
        target_length = max_length + 1 for EOS); `info` adds unk_id, both vocabularies (id -> word), the
        pair, and the kept test pairs' reference translations (lowercased words joined by spaces, unknown
        words included), which corpus BLEU compares the decoded translations with.
    """
    from zoo.data.online import load_tfds_arrays

    pair = ted_pair(name)
    vocab_size = _check_int("vocab_size", vocab_size, len(RESERVED) + 2)
    max_length = _check_int("max_length", max_length, 1)
    tfds_name = f"ted_hrlr_translate/{pair}"
    texts = {}
    for split, tfds_split in (("train", "train"), ("val", "validation"), ("test", "test")):
        sources, targets = load_tfds_arrays(tfds_name, tfds_split, data_dir=data_dir)
        texts[split] = (words(sources), words(targets))
    vocabularies = [fit_vocabulary(texts["train"][side], vocab_size) for side in (0, 1)]
    lookups = [{word: i for i, word in enumerate(v)} for v in vocabularies]
    splits, kept, references = {}, {}, []
    for split, (sources, targets) in texts.items():
        pairs = [(s, t) for s, t in zip(sources, targets) if 0 < len(s) <= max_length and 0 < len(t) <= max_length]
        kept[split] = [len(pairs), len(sources)]
        encode = lambda sentence, side: [lookups[side].get(w, UNK_ID) for w in sentence]  # noqa: E731
        splits[split] = Split(right_pad([encode(s, 0) for s, _ in pairs], max_length),
                              right_pad([[*encode(t, 1), EOS_ID] for _, t in pairs], max_length + 1))
        if split == "test":
            references = [" ".join(t) for _, t in pairs]
    info = {"vocab_size": max(len(v) for v in vocabularies), "source_length": max_length,
            "target_length": max_length + 1, **special_ids(), "unk_id": UNK_ID, "pair": pair,
            "source_vocabulary": vocabularies[0], "target_vocabulary": vocabularies[1], "kept": kept,
            "test_references": references, "source": f"tfds:{tfds_name}"}
    return Splits(name, "sequence", splits["train"], splits["val"], splits["test"], info=info)


def _ted_loader(name: str):
    def load(*, seed: int = 0, data_dir: str | None = None, vocab_size: int = 8000, max_length: int = 40) -> Splits:
        # The published splits: the seed changes nothing.
        return load_ted(name, data_dir=data_dir, vocab_size=vocab_size, max_length=max_length)

    load.__doc__ = load_ted.__doc__
    return load


for _name in ("ted_hrlr_translate", *(f"ted_hrlr_translate/{p}" for p in TED_PAIRS)):
    _pair = ted_pair(_name)
    # A run's --hparam vocab_size and source_length cut the data to the model (target_length must be one more).
    dataset(_name, offline=False,
            summary=f"TensorFlow Datasets 'ted_hrlr_translate/{_pair}' (Qi et al. 2018): TED talk sentence pairs, "
                    f"{_pair.replace('_to_', ' to ')} as word ids (downloads on first use).",
            hparam_options={"vocab_size": "vocab_size", "max_length": "source_length"})(_ted_loader(_name))
