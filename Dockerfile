# slamon: one process that probes, stores, and serves the status page and /metrics.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY probes probes
COPY sla_engine sla_engine
COPY statuspage statuspage
COPY slamon slamon
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
# Statements as PDF: WeasyPrint lays pages out with Pango and HarfBuzz, in DejaVu.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --home-dir /var/lib/slamon --uid 10001 slamon
COPY --from=build /install /usr/local
COPY config.toml /etc/slamon/config.toml
# A relative SQLite path is beside the config file; /etc is not the user's to write:
# keep the example's database in the user's home.
RUN sed -i 's|"sqlite+aiosqlite:///slamon.db"|"sqlite+aiosqlite:////var/lib/slamon/slamon.db"|' \
    /etc/slamon/config.toml && grep -q '/var/lib/slamon/slamon.db' /etc/slamon/config.toml
WORKDIR /var/lib/slamon
USER slamon
EXPOSE 8080
# The example config listens on 127.0.0.1; in a container, listen on all interfaces.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
CMD ["slamon", "run", "--config", "/etc/slamon/config.toml", "--host", "0.0.0.0"]
