# One image for web, worker, beat and the one-off migration (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    QIMATCH_DATA_DIR=/var/lib/qimatch

WORKDIR /app
COPY pyproject.toml README.md ./
COPY matcher ./matcher
COPY workers ./workers
COPY web ./web
COPY benchmarks ./benchmarks
RUN pip install . \
    && useradd --create-home --uid 10001 qimatch \
    && mkdir -p /var/lib/qimatch/metrics && chown -R qimatch /var/lib/qimatch

USER qimatch
EXPOSE 8000
CMD ["qimatch", "web", "--host", "0.0.0.0", "--port", "8000"]
