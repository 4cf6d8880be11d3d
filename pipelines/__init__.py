"""Pipelines built from the zoo's components, one factory for every registered model, and their compiler.

Importing this package imports kfp but not TensorFlow: compiling every pipeline is cheap.
"""

from pipelines.factory import make_pipeline, pipeline_name
from pipelines.compiler import compile_pipeline

__all__ = ["compile_pipeline", "make_pipeline", "pipeline_name"]
