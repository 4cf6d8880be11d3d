"""The notebooks run top to bottom (the Vertex one in the default suite; the others, which train and run
pipelines that the fast suite already runs in test_pipeline_local, in the slow target)."""

import os

import pytest

NOTEBOOKS = os.path.join(os.path.dirname(__file__), os.pardir, "notebooks")


def execute(name, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    path = os.path.join(NOTEBOOKS, name)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def test_vertex_notebook_runs_offline(tmp_path):
    execute("vertex.ipynb", tmp_path)


@pytest.mark.slow
def test_quickstart(tmp_path):
    nb = execute("quickstart.ipynb", tmp_path)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "sequential matches functional: True" in outputs and "subclass matches functional: True" in outputs
    assert "gate: DEPLOY" in outputs and "gate: KEEP DEPLOYED MODEL" in outputs


@pytest.mark.slow
@pytest.mark.parametrize("name", ["foundations.ipynb", "cnn.ipynb", "sequence_and_text.ipynb",
                                  "transformers.ipynb", "generative.ipynb", "vision_apps.ipynb"])
def test_family_notebooks(name, tmp_path):
    if not os.path.exists(os.path.join(NOTEBOOKS, name)):
        pytest.fail(f"notebooks/{name} is missing")
    nb = execute(name, tmp_path)
    if name == "generative.ipynb":
        outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        assert "same seeds, same images: True" in outputs
        assert "the endpoint's images are the process's last states: True" in outputs
    if name == "vision_apps.ipynb":
        outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        assert "mAP@0.5 at least ten times the untrained model's: True" in outputs
        assert "greedy BLEU at least 1.5 times the constant caption's: True" in outputs
        assert "the total loss falls by more than a third for every texture: True" in outputs
        assert "the style loss falls by more than half for every texture: True" in outputs
        pictures = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                    if "image/png" in o.get("data", {})]
        assert len(pictures) == 4  # detections, captions, content | style | stylised, masks
