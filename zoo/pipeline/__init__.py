"""The pipeline runtime: what runs the zoo's models as a pipeline, locally and on Vertex AI.

`steps` (preprocess, train, evaluate, gate, deploy as plain functions), `gate` and `baseline` (the
latest-metric gate and its compare-and-swap store), `runtime` (distribution strategy and precision from
the machine), `serving` (the prediction server), `release` (local deploys and rollbacks: registry alias,
what serves and baseline kept in agreement) and `vertex_deploy` (the same on Vertex AI). The Keras library (`zoo.models`,
`zoo.registry`, `zoo.spec`, `zoo.tasks`, `zoo.data`) never imports this package; the KFP components
(`components/`) and pipelines (`pipelines/`) call into it. The modules that talk to KFP or Google Cloud
need the `pipelines` extra: `pip install 'keras-vertex-zoo[pipelines]'`.
"""
