# syntax=docker/dockerfile:1
# b24rules container image. One image runs every shape: `serve` (default), `web`, `worker`, `check`.
#
#   docker build -t b24rules .
#   podman build --build-arg BASE_IMAGE=localhost/b24rules-base:bookworm -t b24rules .   # no Docker Hub
#
# BASE_IMAGE must provide python3 (3.11+) with the venv module; both stages use it so the venv's
# interpreter path is the same at build and run time.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/venv
# Dependencies first, so a source-only change reuses this layer. requirements.lock also pins the
# development tools; it is used as a constraints file so that only the runtime dependencies named in
# pyproject.toml are installed, each at its locked version.
COPY pyproject.toml requirements.lock ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > runtime-requirements.txt \
 && /opt/venv/bin/pip install --no-cache-dir -r runtime-requirements.txt -c requirements.lock
COPY README.md ./
COPY service/ ./service/
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-compile . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
 && /opt/venv/bin/python -m pip uninstall --yes --quiet pip \
 && /opt/venv/bin/b24rules --help > /dev/null

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="b24rules" \
      org.opencontainers.image.description="Deletes Bitrix24 task time entries selected by declarative YAML rules" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT"

# uid/gid 10001: above any distribution's system range; the Helm chart's securityContext uses it.
RUN groupadd --system --gid 10001 b24rules \
 && useradd --system --no-log-init --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin b24rules \
 && mkdir -p /var/lib/b24rules /run/b24rules/metrics \
 && chown 10001:10001 /var/lib/b24rules /run/b24rules/metrics

COPY --from=builder /opt/venv /opt/venv
COPY rules/ /etc/b24rules/rules/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    B24_RULES_DIR=/etc/b24rules/rules \
    B24_DATABASE_URL=sqlite:////var/lib/b24rules/b24rules.sqlite3 \
    B24_LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/run/b24rules/metrics \
    SENTRY_RELEASE=b24rules@${VERSION}

USER 10001:10001
WORKDIR /var/lib/b24rules
EXPOSE 8080

# Python, not curl: the slim base has no curl. urlopen raises on any non-2xx answer, so the exit code
# is the verdict. Meaningless for `worker` (no HTTP): run that with --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]

ENTRYPOINT ["b24rules"]
CMD ["serve"]
