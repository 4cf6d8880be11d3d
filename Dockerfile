# The component image: every pipeline step (preprocess, train, evaluate, gate, deploy) runs in it, locally
# compiled pipelines name it with `zoo compile --image URI`. KFP starts a step with
# `sh -c '... python3 -m kfp.dsl.executor_main ...'`, so the image provides `python3` with kfp and this
# project importable, and installs nothing when a step starts (the components use install_kfp_package=False):
# no network is needed at run time.
#
#   docker build -t zoo-components .                           # GPU (default): CUDA libraries as pip wheels
#   docker build -t zoo-components:cpu --build-arg ACCELERATOR=cpu .   # smaller, for CPU-only steps
#   docker build -t zoo-components:tpu --build-arg ACCELERATOR=tpu .   # Vertex AI TPU VMs, see below
#
# Keras backends: every variant carries TensorFlow (tf.data feeds the model, and the endpoint serves a
# TensorFlow SavedModel) and JAX (`--backend jax`, the TPU preset's default), each built for the accelerator:
# jax[cuda12] beside tensorflow[and-cuda] on GPU (they resolve to one set of NVIDIA wheels), jax[tpu] and libtpu
# on TPU, plain jax on CPU. The label ai.zoo.keras-backends says which backends an image can train with.
#
# Base image: python:3.11-slim-bookworm, not tensorflow/tensorflow:2.21.0-gpu. requirements/test.lock was
# resolved for CPython 3.11 on manylinux_2_28 x86_64 (bookworm has glibc 2.36), so this image runs exactly
# the versions the test suite ran. TensorFlow >= 2.14 gets CUDA and cuDNN as pip wheels through its
# `and-cuda` extra, built for that very TensorFlow; the NVIDIA driver comes from the host (Vertex AI mounts
# it into GPU containers). The official GPU image would bring its own Python and TensorFlow, which the lock
# would then reinstall over, and several GB of CUDA toolkit that the wheels make unnecessary.
#
# TPU (ACCELERATOR=tpu): Vertex AI runs the container on a TPU VM. By default (TPU_BACKEND=jax) the image
# trains on Keras' JAX backend: jax[tpu] brings the libtpu its version needs and keeps the lock's TensorFlow
# (CPU), so every version but jax's TPU plugin is the tested one. TPU_BACKEND=tensorflow builds the older
# variant for the models that train only on TensorFlow (their spec's tensorflow_only): TensorFlow's TPU build
# (tensorflow-tpu) and libtpu instead of tensorflow. PyPI's newest tensorflow-tpu is 2.20.0 (there is no
# 2.21), so that variant deviates from the lock's TensorFlow 2.21 (and takes tensorflow-text of the same
# minor version as tensorflow-tpu: its ops are built for one TensorFlow). Neither TPU variant was tested here
# (no TPU, no Docker): treat them as a starting point and pair the versions as Google's "Supported TPU
# configurations" lists them (TF_TPU_VERSION, LIBTPU_VERSION). Vertex AI's custom-container guide wants
# libtpu.so in /lib, hence the link to the wheel's copy. zoo.pipeline.runtime finds the TPU from JAX's devices
# (JAX backend) or from Vertex AI's TPU_CONFIG with TPUClusterResolver(tpu="local") (TensorFlow); with the GPU
# image on a TPU VM it fails with a one-line error.

ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm

ARG PYTHON_VERSION
# gpu | cpu | tpu
ARG ACCELERATOR=gpu
# The Makefile's uv (make lock / make venv use the same one).
ARG UV_VERSION=0.13.8
# jax | tensorflow: the backend a TPU image trains with (see above).
ARG TPU_BACKEND=jax
ARG TF_TPU_VERSION=2.20.0
# Empty: the libtpu version that tensorflow-tpu itself requires.
ARG LIBTPU_VERSION=

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    KERAS_BACKEND=tensorflow \
    TF_CPP_MIN_LOG_LEVEL=2 \
    VIRTUAL_ENV=/opt/zoo \
    PATH=/opt/zoo/bin:$PATH

RUN case "$ACCELERATOR" in gpu|cpu|tpu) ;; \
      *) echo "ACCELERATOR must be gpu, cpu or tpu, got '$ACCELERATOR'" >&2; exit 2 ;; esac \
 && case "$TPU_BACKEND" in jax|tensorflow) ;; \
      *) echo "TPU_BACKEND must be jax or tensorflow, got '$TPU_BACKEND'" >&2; exit 2 ;; esac \
 && python -m pip install "uv==${UV_VERSION}" \
 && uv venv --python "python${PYTHON_VERSION}" /opt/zoo

WORKDIR /src
# Dependencies first, so that editing the code does not re-download TensorFlow.
COPY requirements/test.lock requirements/test.lock
COPY pyproject.toml README.md ./
# The runtime subset of the lock: pyproject's dependencies and its `pipelines` extra (kfp, the Google Cloud
# SDKs and, through the `serving` extra, FastAPI and uvicorn) resolved under the lock as constraints, so every
# version is the locked one (pytest, jupyter and the other test-only packages stay out). The GPU variant
# adds TensorFlow's and-cuda extra (the NVIDIA wheels are not in the lock; TensorFlow bounds their versions).
# The resolved list stays in the image as /opt/zoo/requirements.txt, a record of what it contains.
RUN case "$ACCELERATOR-$TPU_BACKEND" in \
      gpu-*) printf 'tensorflow[and-cuda]\njax[cuda12]\n' ;; tpu-jax) echo 'jax[tpu]' ;; *) : ;; esac \
      > /tmp/accelerator.in \
 && extras="--extra pipelines"; if [ "$ACCELERATOR-$TPU_BACKEND" != tpu-tensorflow ]; then extras="$extras --extra jax"; fi \
 && uv pip compile pyproject.toml /tmp/accelerator.in $extras --constraint requirements/test.lock \
      --python-version "${PYTHON_VERSION}" --no-header -o /opt/zoo/requirements.txt \
 && if [ "$ACCELERATOR-$TPU_BACKEND" = tpu-tensorflow ]; then \
      grep -v -e '^tensorflow==' -e '^tensorflow-text==' /opt/zoo/requirements.txt > /tmp/tpu.txt \
      && uv pip install --no-deps -r /tmp/tpu.txt \
      && uv pip install "tensorflow-tpu==${TF_TPU_VERSION}" ${LIBTPU_VERSION:+"libtpu==${LIBTPU_VERSION}"} \
           "tensorflow-text~=${TF_TPU_VERSION%.*}.0" --constraint /tmp/tpu.txt \
      && libtpu_so="$(python -c 'import libtpu, os; print(os.path.join(os.path.dirname(libtpu.__file__), "libtpu.so"))')" \
      && test -f "$libtpu_so" && ln -sf "$libtpu_so" /lib/libtpu.so; \
    else \
      uv pip install --no-deps -r /opt/zoo/requirements.txt \
      && if [ "$ACCELERATOR" = tpu ]; then \
           libtpu_so="$(python -c 'import libtpu, os; print(os.path.join(os.path.dirname(libtpu.__file__), "libtpu.so"))')" \
           && test -f "$libtpu_so" && ln -sf "$libtpu_so" /lib/libtpu.so; \
         fi; \
    fi

# What the image trains with: both backends, except a TPU image built with TPU_BACKEND=tensorflow (TensorFlow).
LABEL ai.zoo.keras-backends="tensorflow,jax" ai.zoo.accelerator="${ACCELERATOR}" ai.zoo.tpu-backend="${TPU_BACKEND}"

# The project itself, without dependencies (they are all installed above, at the locked versions).
COPY zoo zoo
COPY components components
COPY pipelines pipelines
RUN uv pip install --no-deps . \
 && rm -rf /src/build /src/*.egg-info \
 && python -c "import kfp, fastapi, uvicorn, keras, tensorflow, zoo, components, pipelines; print('zoo', len(zoo.list_models()), 'models; keras', keras.__version__, '; tensorflow', tensorflow.__version__)"

# A non-root user with a writable home (Keras and TFDS keep their caches under $HOME). The numeric UID
# lets Kubernetes' runAsNonRoot verify it.
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin zoo
USER 1000:1000
ENV HOME=/home/zoo
WORKDIR /home/zoo

# No ENTRYPOINT: KFP and Vertex AI set the container's command for each step. The default command is the
# prediction server on Vertex AI's custom-container contract (zoo.pipeline.serving): it reads AIP_HTTP_PORT
# (8080), AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE and AIP_STORAGE_URI (the model's gs:// artifacts), binds 0.0.0.0
# and answers 503 on the health route until the model is loaded. The deploy step also names this command
# explicitly when it uploads a model version, so an image with another CMD serves the same way. Locally:
#   docker run -p 8080:8080 -e AIP_STORAGE_URI=/models/1 -v "$PWD/runs/local/registry/lenet5:/models" IMAGE
EXPOSE 8080
CMD ["zoo", "serve", "--vertex"]
