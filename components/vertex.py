"""The Vertex AI deploy component: Model Registry version, endpoint, then the baseline (in that order)."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output


# Vertex AI Pipelines substitutes these with the pipeline job's own project and region.
PROJECT_PLACEHOLDER = "{{$.pipeline_google_cloud_project_id}}"
LOCATION_PLACEHOLDER = "{{$.pipeline_google_cloud_location}}"


def deploy_vertex(model_name: str, project: str, location: str, baseline_uri: str, serving_image: str,
                  serving_machine_type: str, model: Input[Model], evaluation: Input[Artifact],
                  deployment: Output[Artifact]):
    """Upload a new version of `zoo-<model_name>`, deploy it to its endpoint, then record the baseline."""
    import json

    from zoo.pipeline import steps
    from zoo.pipeline.vertex_deploy import deploy

    with steps.report_errors(deployment.path):
        with open(evaluation.path, encoding="utf-8") as f:
            result = json.load(f)
        record = deploy(model_uri=model.uri, evaluation=result, baseline_uri=baseline_uri,
                        serving_image=serving_image, serving_machine_type=serving_machine_type,
                        project=project, location=location)
        with open(deployment.path, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
    deployment.metadata.update(record)


def make_deploy_component(image: str):
    return dsl.component(deploy_vertex, base_image=image, install_kfp_package=False)
