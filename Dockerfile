# syntax=docker/dockerfile:1
# The REDCap sync-and-validation worker. Default command: `run` (sync on a schedule).
#   docker build -t redcap-dq-worker .
# See README.md, "Running in a container". deploy/install_check.py runs this file's pip
# steps in a fresh virtual environment in CI, where no Docker engine is available.

# --- build: the worker's wheel, installed over the locked dependencies -----------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.lock pyproject.toml setup.py MANIFEST.in README.md config.example.toml ./
COPY worker/ worker/
COPY worker_demo/ worker_demo/
COPY mappings/ mappings/
COPY rules/ rules/
COPY demo/ demo/
# Exact versions from the lock; wheels only, so no compiler is ever needed; --no-deps so
# nothing unpinned slips in. Then the worker's own wheel (it carries the demo study, for
# --sandbox), installed with the lock as constraints and over it, and `pip check` proves
# the lock complete.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --only-binary=:all: --no-deps -r requirements.lock \
 && /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir dist . \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps --constraint requirements.lock dist/*.whl \
 && /opt/venv/bin/pip check

# --- runtime: the venv and the application, no build tools, no caches -------------------
FROM python:3.11-slim-bookworm
# Unbuffered: log lines reach `docker logs` at once. No .pyc: the code is read-only.
# The worker is the package installed in /opt/venv; /app holds the study it runs.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    WORKER_STATE_DIR=/state
# A fixed non-root UID/GID, so volume and secret permissions can be set for it.
RUN groupadd --system --gid 10001 worker \
 && useradd --system --uid 10001 --gid worker --no-create-home --shell /usr/sbin/nologin worker \
 && mkdir /state \
 && chown 10001:10001 /state
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The study: its mapping, rules and demo project, named by config.toml. Owned by root, so
# the worker cannot change its own rules.
COPY mappings/ mappings/
COPY rules/ rules/
COPY demo/ demo/
# The study's configuration; mount your own over /app/config.toml, or override any key
# with WORKER_<SECTION>__<KEY>. Secrets come only at run time: REDCAP_API_TOKEN_FILE and
# SMTP_PASSWORD_FILE pointing into /run/secrets (or the plain variables).
COPY config.example.toml config.toml
USER 10001:10001
# Cursor, unsent summaries, run history, heartbeat: keep them across restarts.
VOLUME ["/state"]
STOPSIGNAL SIGTERM
# `health` fails once the last successful sync is older than schedule.max_age_hours. The
# start period must cover the first full sync of a fresh container.
HEALTHCHECK --interval=5m --timeout=30s --start-period=1h --retries=2 \
  CMD ["python", "-m", "worker", "health"]
# Exec form: the worker is PID 1 and gets SIGTERM itself (it installs handlers, which PID 1
# needs). `docker run --init` / compose `init: true` adds tini in front, which also reaps.
ENTRYPOINT ["python", "-m", "worker"]
CMD ["run"]
