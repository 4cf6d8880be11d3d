"""Batch prediction on this machine: the locally deployed version over a file of instances, in streaming batches.

`zoo predict NAME --local --input FILE --output FILE` loads the version the local registry's `serving` alias
names (as `zoo serve` does: `serving.deployed_location` and `serving.storage_loader`) and runs it over the
input without ever holding the input whole: items are read one at a time, checked, gathered into batches of
`batch_size` and predicted, and each batch's records are written before the next is read.

Inputs, chosen by what `--input` is:
- **JSON Lines** (any file that is not `.csv`): one instance per line, in the very format of one item of the
  online server's `{"instances": [...]}` (and of a Vertex AI batch prediction job's JSONL input, which Vertex
  sends to the container the same way). Blank lines are skipped.
- **CSV** (`*.csv`), for tabular models, read as Vertex AI reads CSV input: the first line is a header,
  unquoted values are numbers and strings are double-quoted, one row per line. How a row becomes an instance
  is decided from the model's serving signature: a model with one input of shape `(None, D)` takes each row
  as a `D`-vector (the header names the features, any names: Vertex sends CSV rows as arrays in column
  order); a model whose inputs are all single values (`(None,)` or `(None, 1)`, e.g. a recommender's `user`
  and `item`) takes each row as an object keyed by the header, which must name exactly those inputs (on
  Vertex, CSV rows are always arrays: give such models JSON Lines there). Other models refuse CSV.
- **A folder of images**, for models with one image input `(None, H, W, C)`: every (non-hidden) file, in
  name order, decoded with TensorFlow (`tf.io.decode_image`: PNG, JPEG, GIF, BMP) to `C` channels as floats
  in [0, 1] (the scale the zoo's image datasets train on) and resized to `H x W` with `tf.image.resize`
  as the zoo fits its datasets (`zoo.data.adapt.fit_images`); an input of free size keeps each image's size.
  This is `serving.decode_image`, the very conversion the server applies to a `{"b64": ...}` instance (how a
  Vertex AI `file-list` batch job sends each listed file), so a folder here and the same files listed for a
  Vertex job give the same numbers. A file that does not decode (or is over `serving.MAX_IMAGE_PIXELS`) is
  a bad item. JSON Lines may hold `{"b64": ...}` instances too, for these models.

Validation is the online server's own: every instance goes through `Predictor.check_instance` (dtype, rank,
fixed dimensions, finiteness, the keys of named inputs) and JSON is parsed as strictly
(`serving.parse_json`: no NaN or Infinity). A bad item does not stop the run: it is reported with its line
number (or file name) and the reason, on stderr and in `OUTPUT.errors.jsonl`, and every other item is still
predicted. When the model itself rejects a batch (e.g. an id outside a recommender's vocabulary), its
instances are retried one by one so that only the culprit is reported (`serving.run_each`, which the server
also runs for requests with errors per instance, as Vertex AI batch jobs send them).

Output, as Vertex AI batch prediction writes its results (`{"instance": ..., "prediction": ...}` per line, and
errors in a file of their own): JSON Lines, one record per predicted item in input order,
`{"line": n, "instance": ..., "prediction": ...}` (`{"file": name, "prediction": ...}` for images); the
errors file holds `{"line": n, "error": reason}` (with `"instance"` when the line parsed). Both are written
to temporary names and moved into place at the end, so an interrupted run leaves no half-written output.

TensorFlow is imported only when a model is loaded (`zoo list` and friends never import this module's
heavy parts).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
from typing import Any, Callable, Iterable, Iterator, TextIO

DEFAULT_BATCH_SIZE = 64  # Vertex AI batch prediction's default number of instances per request
ERRORS_SUFFIX = ".errors.jsonl"
SHOWN_ERRORS = 20  # bad items printed on stderr; the errors file has them all


class InputError(ValueError):
    """The input cannot be read at all (missing, unreadable, wrong kind for the model): a usage error."""


@dataclasses.dataclass(frozen=True)
class Item:
    """One item of the input: where it is (`{"line": n}` or `{"file": name}`), what it holds, or why not."""

    where: dict
    value: Any = None  # what the model is fed (the instance, or a decoded image)
    echo: bool = True  # whether the record repeats the instance (not for images)
    error: str | None = None  # why the item could not be read

    def label(self) -> str:
        return f"line {self.where['line']}" if "line" in self.where else f"file {self.where['file']}"


@dataclasses.dataclass
class Summary:
    """What a batch prediction did."""

    model: str
    version: str
    output: str
    errors_path: str
    predicted: int = 0
    bad: int = 0

    @property
    def succeeded(self) -> bool:
        return self.bad == 0

    def lines(self) -> list[str]:
        head = f"{self.model} version {self.version}: {self.predicted} predicted, {self.bad} bad -> {self.output}"
        if self.bad:
            return [head, f"bad items ({self.bad}), each with its line (or file) and the reason: {self.errors_path}"]
        return [head]


# --------------------------------------------------------------------------------------------- readers
def input_kind(path: str) -> str:
    """"images" for a folder, "csv" for `*.csv`, otherwise "jsonl"; a missing input is an `InputError`."""
    if "://" in path:
        raise InputError(f"--input {path!r}: a local batch prediction reads local files; predict what is on Cloud "
                         "Storage with a Vertex AI job (--project)")
    if os.path.isdir(path):
        return "images"
    if not os.path.isfile(path):
        raise InputError(f"--input {path!r} does not exist (give a JSON Lines or CSV file, or a folder of images)")
    if not os.access(path, os.R_OK):
        raise InputError(f"--input {path!r} cannot be read (permission denied)")
    return "csv" if path.lower().endswith(".csv") else "jsonl"


def jsonl_items(lines: Iterable[bytes]) -> Iterator[Item]:
    """The instances of JSON Lines `lines` (bytes, as read from a file opened in binary mode), one per line."""
    from zoo.pipeline.serving import BadRequest, parse_json

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield Item({"line": number}, parse_json(line.rstrip(b"\r\n"), what="the line"))
        except BadRequest as err:
            yield Item({"line": number}, error=str(err))


def csv_layout(inputs: dict) -> str:
    """How a CSV row feeds the model with serving signature `inputs` ({name: TensorSpec}): "vector" (one
    input of shape (None, D)) or "named" (every input a single value); otherwise an `InputError`."""
    from zoo.pipeline.serving import describe_inputs

    shapes = {name: spec.shape[1:].as_list() if spec.shape.rank is not None else None for name, spec in inputs.items()}
    if len(shapes) == 1:
        (shape,) = shapes.values()
        if shape is not None and len(shape) == 1 and shape[0] not in (None, 1):
            return "vector"
    if all(shape is not None and shape in ([], [1]) for shape in shapes.values()):
        return "named"
    raise InputError(f"CSV input needs a tabular model (one input of shape (D,), or inputs that are single values); "
                     f"this one takes {describe_inputs(inputs)}: give JSON Lines instead")


def csv_items(lines: Iterable[bytes | str], inputs: dict) -> Iterator[Item]:
    """The instances of CSV `lines` (UTF-8 bytes, as read from a file opened in binary mode, or text) for a
    model with serving signature `inputs` (see `csv_layout`)."""
    layout = csv_layout(inputs)
    lines = iter(lines)
    try:
        first = next(lines)
    except StopIteration:
        return
    try:
        header = next(csv.reader([first.decode("utf-8-sig") if isinstance(first, bytes) else first]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise InputError("the CSV header (line 1) is not a line of UTF-8 CSV") from None
    header = [name.strip() for name in header]
    if layout == "named" and sorted(header) != sorted(inputs):
        raise InputError(f"the CSV header names {header}; this model's inputs are {sorted(inputs)}")
    if layout == "vector":
        ((name, spec),) = inputs.items()
        if len(header) != spec.shape[1]:
            raise InputError(f"the CSV header has {len(header)} columns; the model's input {name!r} takes "
                             f"{spec.shape[1]} values a row")
    for number, text in enumerate(lines, start=2):
        if not text.strip():
            continue
        try:
            text = text.decode("utf-8") if isinstance(text, bytes) else text
        except UnicodeDecodeError:
            yield Item({"line": number}, error="the line is not UTF-8")
            continue
        try:
            (row,) = csv.reader([text], quoting=csv.QUOTE_NONNUMERIC)
        except (ValueError, csv.Error) as err:
            reason = str(err).replace("could not convert string to float", "an unquoted value is not a number")
            yield Item({"line": number}, error=f"{reason} (strings must be double-quoted, as in Vertex AI's CSV input)")
            continue
        if layout == "vector":
            yield Item({"line": number}, row)
        elif len(row) != len(header):
            yield Item({"line": number}, error=f"the row has {len(row)} values; the header has {len(header)}")
        else:
            yield Item({"line": number}, dict(zip(header, row)))


def image_items(folder: str, inputs: dict) -> Iterator[Item]:
    """The images in `folder` (name order), decoded and sized for a model with one image input
    (`serving.decode_image`, as the server decodes a `{"b64": ...}` instance)."""
    from zoo.pipeline.serving import BadRequest, decode_image, describe_inputs, image_input

    name = image_input(inputs)
    if name is None:
        raise InputError(f"a folder of images needs a model with one image input of shape (H, W, 1, 3 or 4); this "
                         f"one takes {describe_inputs(inputs)}")
    names = sorted(n for n in os.listdir(folder) if not n.startswith(".") and os.path.isfile(os.path.join(folder, n)))
    for file_name in names:
        where = {"file": file_name}
        try:
            with open(os.path.join(folder, file_name), "rb") as f:
                data = f.read()
        except OSError:
            yield Item(where, error="the file cannot be read", echo=False)
            continue
        try:
            yield Item(where, decode_image(data, inputs[name], what="the file"), echo=False)
        except BadRequest as err:
            yield Item(where, error=str(err), echo=False)


# ------------------------------------------------------------------------------------------- predicting
def predict_items(predictor, items: Iterable[Item],
                  batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[tuple[Item, bool, Any]]:
    """(item, ok, prediction or reason) for every item, in input order, predicted `batch_size` at a time."""
    from zoo.pipeline.serving import BadRequest

    pending: list[tuple[Item, dict]] = []
    for item in items:
        # A bad item is reported at once; the output keeps the input order of the good ones (errors go to a file
        # of their own, each record with its line number).
        if item.error is not None:
            yield item, False, item.error
            continue
        try:
            pending.append((item, predictor.check_instance(item.value)))
        except BadRequest as err:
            yield item, False, str(err)
            continue
        if len(pending) >= batch_size:
            yield from _predict(predictor, pending)
            pending = []
    yield from _predict(predictor, pending)


def _predict(predictor, pending: list[tuple[Item, dict]]) -> Iterator[tuple[Item, bool, Any]]:
    """Run checked instances as the server runs them (`serving.run_each`: one call per group of equal shapes,
    a batch the model rejects retried one instance at a time, so that only the culprits are reported)."""
    from zoo.pipeline.serving import run_each

    for (item, _), (ok, value) in zip(pending, run_each(predictor, [feeds for _, feeds in pending])):
        yield item, ok, value


# ---------------------------------------------------------------------------------------------- running
def errors_path(output: str) -> str:
    return output + ERRORS_SUFFIX


def _check(input_path: str, output: str, batch_size: int) -> str:
    """The input's kind, after the checks that need no model (`InputError`s)."""
    from zoo.pipeline.serving import MAX_INSTANCES

    if not 1 <= batch_size <= MAX_INSTANCES:
        raise InputError(f"--batch-size must be between 1 and {MAX_INSTANCES} (the server's limit), got {batch_size}")
    kind = input_kind(input_path)
    if os.path.abspath(input_path) in (os.path.abspath(output), os.path.abspath(errors_path(output))):
        raise InputError(f"--output {output!r} would overwrite the input")
    return kind


def predict_file(predictor, input_path: str, output: str, *, model: str = "", batch_size: int = DEFAULT_BATCH_SIZE,
                 stderr: TextIO | None = None) -> Summary:
    """Predict every item of `input_path` with `predictor` into `output` (see the module's docstring)."""
    kind = _check(input_path, output, batch_size)
    stderr = sys.stderr if stderr is None else stderr
    summary = Summary(model, predictor.version, output, errors_path(output))
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    partial, partial_errors = output + ".partial", summary.errors_path + ".partial"
    try:
        with _open_items(kind, input_path, predictor.inputs) as items, open(partial, "w") as out, \
                open(partial_errors, "w") as bad:
            for item, ok, value in predict_items(predictor, items, batch_size):
                if ok:
                    record = {**item.where, **({"instance": item.value} if item.echo else {}), "prediction": value}
                    out.write(json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n")
                    summary.predicted += 1
                    continue
                summary.bad += 1
                bad.write(_error_record(item, value) + "\n")
                if summary.bad <= SHOWN_ERRORS:
                    print(f"zoo predict: {input_path} {item.label()}: {value}", file=stderr)
        if summary.bad > SHOWN_ERRORS:
            print(f"zoo predict: ... and {summary.bad - SHOWN_ERRORS} more bad items in {summary.errors_path}",
                  file=stderr)
        if summary.predicted + summary.bad == 0:
            raise InputError(f"--input {input_path!r} holds no instances")
        os.replace(partial, output)
        if summary.bad:
            os.replace(partial_errors, summary.errors_path)
        else:
            os.remove(partial_errors)
            if os.path.exists(summary.errors_path):  # a stale report from an earlier run would mislead
                os.remove(summary.errors_path)
    finally:
        for path in (partial, partial_errors):
            if os.path.exists(path):
                os.remove(path)
    return summary


def _error_record(item: Item, reason: str) -> str:
    """The errors file's line for a bad item: where, why, and the instance when it parsed (and is valid JSON)."""
    record = {**item.where, "error": reason}
    if item.echo and item.error is None:
        try:
            return json.dumps({**record, "instance": item.value}, allow_nan=False, separators=(",", ":"))
        except (ValueError, TypeError):  # a CSV row may hold nan or inf, which JSON cannot
            pass
    return json.dumps(record, separators=(",", ":"))


class _open_items:
    """The items of the input, as a context manager that closes the file it reads."""

    def __init__(self, kind: str, path: str, inputs: dict):
        self.kind, self.path, self.inputs, self.file = kind, path, inputs, None

    def __enter__(self) -> Iterator[Item]:
        try:
            if self.kind == "images":
                return image_items(self.path, self.inputs)
            if self.kind == "csv":
                csv_layout(self.inputs)  # a model that takes no CSV fails before the file is opened
                self.file = open(self.path, "rb")
                return csv_items(self.file, self.inputs)
            self.file = open(self.path, "rb")
            return jsonl_items(self.file)
        except OSError as err:
            raise InputError(f"--input {self.path!r} cannot be read: {err.strerror or err}") from None

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()


def predict_local(model: str, input_path: str, output: str, *, root: str = "runs/local", dataset: str | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE, stderr: TextIO | None = None,
                  load: Callable[[str, str], Any] | None = None) -> Summary:
    """Batch prediction with `model`'s locally deployed version under `root` (what `zoo serve` would serve)."""
    from zoo.pipeline import serving

    _check(input_path, output, batch_size)  # a missing input fails before the model loads
    folder, version = serving.deployed_location(root, model, dataset)
    predictor = (load or (lambda f, v: serving.storage_loader(f, v)()))(folder, version)
    return predict_file(predictor, input_path, output, model=model, batch_size=batch_size, stderr=stderr)
