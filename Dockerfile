# One image for the web app and the ingest worker: `collection serve` or `collection worker`.

# The viewer's deep zoom: OpenSeadragon's release files from npm, as scripts/setup.sh takes them.
FROM node:20-bookworm-slim AS viewer
WORKDIR /v
RUN npm pack --silent openseadragon@6.1.1 && tar -xzf openseadragon-6.1.1.tgz \
 && mkdir -p out && cp -r package/build/openseadragon/openseadragon.min.js \
      package/build/openseadragon/images package/LICENSE.txt out/

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_THREAD_LIMIT=1 \
    COLLECTION_HOST=0.0.0.0 \
    COLLECTION_VAR_DIR=/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng fonts-noto-core fonts-dejavu-core libvips42 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /home/kho kho \
 && mkdir -p /data && chown kho /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY frontend ./frontend
COPY --from=viewer /v/out ./frontend/static/vendor/openseadragon
COPY search ./search
COPY ingest ./ingest
# Editable, so the package finds frontend/ and search/ beside it, as in a checkout.
RUN pip install -e .

USER kho
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s CMD python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:8000/healthz').status_code != 200)"
ENTRYPOINT ["collection"]
CMD ["serve"]
