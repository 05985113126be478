# The gridflow code location as a container image: the user-code deployment of Dagster's
# Helm chart, and the image of every run pod K8sRunLauncher starts (deploy/helm/values.yaml).
#
#   docker build -t gridflow:0.1.0 .
#   docker run --rm -p 127.0.0.1:3030:3030 --env-file gridflow.env gridflow:0.1.0
#
# Not built on the machine the repository is developed on (no Docker daemon there):
# docs/operations.md#kubernetes says what was and was not run.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

# A fixed numeric id, so Kubernetes can check runAsNonRoot without a user database.
RUN groupadd --system --gid 10001 gridflow \
    && useradd --system --uid 10001 --gid gridflow --no-create-home gridflow \
    && mkdir -p "$DAGSTER_HOME" /opt/gridflow \
    && chown gridflow:gridflow "$DAGSTER_HOME" /opt/gridflow

# The package (not editable) with the PostgreSQL storage and the Kubernetes run launcher:
# run pods load the instance from the chart's dagster.yaml, which names both. The sources
# are removed afterwards, so only the installed package can be imported.
COPY pyproject.toml README.md /tmp/src/
COPY gridflow_assets /tmp/src/gridflow_assets
RUN pip install "/tmp/src[k8s]" && rm -rf /tmp/src

WORKDIR /opt/gridflow
USER 10001:10001
EXPOSE 3030

# The code server. 0.0.0.0 only inside the container, because there 127.0.0.1 is the
# container's own loopback: the daemon, the webserver and the run pods reach the code server
# through the pod's address (the chart's ClusterIP Service), never from outside the
# cluster. On a workstation publish it to the host's loopback only (-p 127.0.0.1:3030:3030).
# The chart starts the same command with its own arguments (dagsterApiGrpcArgs).
CMD ["dagster", "api", "grpc", "-m", "gridflow_assets.defs.definitions", "--location-name", "gridflow", \
     "-h", "0.0.0.0", "-p", "3030"]
