"""Per-example metrics and how evaluation reads model outputs."""

import numpy as np
import pytest

from zoo.pipeline import steps
from zoo.metrics import confusion_matrix, get_metric


def test_one_score_outputs_are_classified_at_the_specs_threshold():
    margins, truth = np.array([[-0.2], [0.3], [0.1]]), np.array([[0.0], [1.0], [0.0]])
    accuracy = get_metric("accuracy")
    assert accuracy.per_example(truth, margins, threshold=0.0).tolist() == [1, 1, 0]
    assert accuracy.per_example(truth, margins, threshold=0.5).tolist() == [1, 0, 1]
    assert confusion_matrix(truth, margins, 2, threshold=0.0).tolist() == [[1, 1], [0, 1]]


def test_errors_and_rmse_aggregate():
    truth, pred = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])
    assert get_metric("mse").per_example(truth, pred).tolist() == [1.0, 4.0]
    rmse = get_metric("rmse")
    assert rmse.aggregate(rmse.per_example(truth, pred)) == pytest.approx(np.sqrt(2.5))
    with pytest.raises(ValueError, match="Unknown metric 'f1'"):
        get_metric("f1")


def test_data_and_model_input_sizes_that_disagree_fail_with_the_fix(tmp_path):
    with pytest.raises(ValueError, match=r"shape \(10,\) but the model takes \(1,\).*--hparam input_dim=10"):
        steps.preprocess("linear_regression", "diabetes", str(tmp_path))
    meta = steps.preprocess("linear_regression", "diabetes", str(tmp_path / "ok"), hparams={"input_dim": 10})
    assert meta["sizes"]["test"] > 0
