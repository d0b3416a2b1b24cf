# Guichet — the same steps as the README: install the package, `guichet init`, `guichet serve`.
# Build: docker build -t guichet .
# Run:   docker run -p 8080:8080 -p 2525:2525 -v guichet-data:/data -v guichet-keys:/keys guichet
# Demo:  docker run ... guichet sh -c "guichet init --demo && exec guichet serve"

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY connectors ./connectors
COPY schemas ./schemas
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin guichet \
 && mkdir -p /data /keys && chown guichet:guichet /data /keys
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --chown=guichet:guichet schemas /app/schemas
ENV GUICHET_HOME=/data \
    GUICHET_KEYS_DIR=/keys \
    GUICHET_HTTP_HOST=0.0.0.0 \
    GUICHET_SMTP_HOST=0.0.0.0 \
    GUICHET_SCHEMAS_DIR=/app/schemas \
    PYTHONUNBUFFERED=1
USER guichet
VOLUME ["/data", "/keys"]
EXPOSE 8080 2525
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4).status == 200 else 1)"
CMD ["sh", "-c", "guichet init && exec guichet serve"]
