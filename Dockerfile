# aidiploma: one image for the API and the worker.
#
#   docker build -t aidiploma .
#   docker run -e AIDIPLOMA_DATABASE_URL=postgresql://... -p 8000:8000 aidiploma
#       -> `aidiploma migrate`, then the API on port 8000
#   docker run -e AIDIPLOMA_DATABASE_URL=postgresql://... aidiploma aidiploma worker
#       -> the background worker (the same image, another command)
#
# The default command is a CMD, not an ENTRYPOINT, so that a command given to `docker run`
# or compose (`aidiploma worker`, `aidiploma demo --if-empty`) replaces it.
# See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user with a fixed uid/gid, so volumes and mounted secrets can be given to it.
RUN groupadd --system --gid 10001 aidiploma \
    && useradd --system --uid 10001 --gid aidiploma --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin aidiploma

WORKDIR /app

# Only what runs: the package, its migrations and the metadata pip needs (readme = README.md).
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations

# The project without its dev extras. Installed in editable mode on purpose: the Alembic
# migrations live in /app/migrations beside the package (not inside it), and
# app/core/migrations.py finds them relative to the source tree. A regular install would put
# `app` into site-packages, where `aidiploma migrate` could not find them.
RUN pip install -e . \
    && cd / && python -c "import app.core.migrations as m; assert m.MIGRATIONS_DIR.is_dir(), m.MIGRATIONS_DIR"

# The data directory, owned by the user: the signing key (data/keys/signing-key.pem) is created
# here on first start, and the embedded SQLite database when no server database is configured.
# In production mount a volume on /app/data that all API replicas share, or set
# AIDIPLOMA_SIGNING_KEY_PATH to a secret mounted read-only (readable by uid 10001).
RUN mkdir -p /app/data/keys \
    && chown -R aidiploma:aidiploma /app/data \
    && chmod 0700 /app/data/keys

USER 10001:10001

EXPOSE 8000

# Liveness; slim images have no curl, so Python asks /healthz. The worker has no HTTP port:
# disable this check for it (compose.yaml does).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# uvicorn stops gracefully on SIGINT as on SIGTERM; the worker only on SIGINT (KeyboardInterrupt),
# so `docker stop` sends SIGINT to let a running job roll back and the loop end cleanly.
STOPSIGNAL SIGINT

# Migrate, then serve. `--behind-proxy` trusts X-Forwarded-* from the load balancer in front.
# With several API replicas, run `aidiploma migrate` once as a release step and start the
# replicas with `aidiploma serve --host 0.0.0.0 --port 8000 --behind-proxy` instead.
CMD ["sh", "-c", "aidiploma migrate && exec aidiploma serve --host 0.0.0.0 --port 8000 --behind-proxy"]
