# flipdeck-server: the API under gunicorn with two sync workers (see docker-compose.yml for the
# whole deployment with PostgreSQL). tests/server/test_live.py proves this configuration
# natively (no Docker engine needed); tests/test_deployment.py checks this file.
#
#   docker build -t flipdeck-server .
#   docker run -e FLIPDECK_SECRET_KEY=$(openssl rand -hex 32) \
#              -e FLIPDECK_DATABASE_URL=postgresql://user:password@host:5432/flipdeck \
#              -p 8000:8000 flipdeck-server
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLIPDECK_HOME=/var/lib/flipdeck

# an unprivileged system user; its home is the data directory (the SQLite default lives there)
RUN groupadd --system --gid 10001 flipdeck \
    && useradd --system --uid 10001 --gid flipdeck --home-dir /var/lib/flipdeck \
       --create-home --shell /usr/sbin/nologin flipdeck

WORKDIR /app
# only what the build needs, so the image never carries a local .venv, .git or databases
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[server]"

USER flipdeck
WORKDIR /var/lib/flipdeck
EXPOSE 8000

# slim has no curl: python's urllib (a non-2xx answer or no answer raises, exiting 1)
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"]

# `serve` applies pending migrations (under an advisory lock on PostgreSQL), then starts gunicorn
CMD ["flipdeck-server", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
