# tgwebhook appliance: `docker run -e TGWEBHOOK_SECRET_TOKEN=... -p 8080:8080 -v tgdata:/data tgwebhook`
# 8080 is the public listener (/webhook/*, /livez only). The ops listener (/metrics, /health,
# /readyz) is on the container's loopback 9080; to scrape it from another container set
# TGWEBHOOK_OPS_LISTEN=0.0.0.0:9080 and TGWEBHOOK_OPS_TOKEN(_FILE) (docker-compose.yml does).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TGWEBHOOK_LISTEN=0.0.0.0:8080 \
    TGWEBHOOK_OPS_LISTEN=127.0.0.1:9080 \
    TGWEBHOOK_DB=/data/tgwebhook.db

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY app.py serve.py gunicorn.conf.py ./
COPY core ./core
COPY receiver ./receiver
COPY ops ./ops
COPY monitor ./monitor
COPY forwarder ./forwarder
COPY simulator ./simulator

RUN useradd --system --uid 10001 --home /app tgwebhook \
    && mkdir -p /data && chown tgwebhook /data
USER tgwebhook
VOLUME ["/data"]
EXPOSE 8080

# stdlib only: the image has no curl. /livez on the public port: it needs no token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=4).status == 200 else 1)"]

CMD ["python", "app.py", "serve"]
