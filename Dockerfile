# One image for every DataApp process (`topics`, `worker`, `dashboard` in docker-compose.yml):
# they are all subcommands of the same `dataapp` command and share the same pinned dependencies.
#
# Checked statically only (tests/unit/test_deploy.py): there is no Docker engine on the
# development machines or in CI, so this file has never been built.

# 3.11: the Python the development venv runs and setup.cfg's exact pins were chosen for (some
# of them are the last releases that still support it).
FROM python:3.11-slim

# A fixed uid, so that a volume's owner is the same on every build and every host.
RUN useradd --create-home --uid 10001 --user-group dataapp \
    && mkdir /data \
    && chown dataapp:dataapp /data

WORKDIR /src

# The exact pins of install_requires change far less often than the code, and they are most of
# the image (chDB, SciPy, Panel): in a layer of their own, a code change does not download them
# again. Read from setup.cfg so the pins stay written in one place.
COPY setup.cfg pyproject.toml ./
RUN python -c "import configparser; c = configparser.ConfigParser(interpolation=None); \
c.read('setup.cfg'); print(c['options']['install_requires'])" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Every package of [options.packages.find], whole: the files the code opens at run time
# (pom.xml, the mapping YAMLs, the migrations, the locales, the templates) live inside them and
# reach the installed package through [options.package_data]. README.md is setup.cfg's
# long_description (here, not above, so that editing it does not reinstall the dependencies).
COPY README.md ./
COPY app/ app/
COPY agents/ agents/
COPY tables/ tables/
COPY views/ views/
RUN pip install --no-cache-dir .

# Run from the data dir, not from /src: nothing may import the copied sources instead of the
# installed package.
WORKDIR /data

# Faust's tables (RocksDB), the ingestion ledgers, the API's users and the keys made per data
# dir all live here. A volume, so they outlive the container; created above as dataapp's, so a
# new named volume starts out writable by the user below.
ENV DATAAPP_DATA_DIR=/data
VOLUME ["/data"]

# No process needs root: the ports are above 1024, and they write only to /data (and to their
# home, for caches).
USER dataapp

# The worker's API (DATAAPP_WEB_PORT) and the dashboards (DATAAPP_DASHBOARD_PORT).
EXPOSE 6066 5006

# The console script of setup.cfg: the subcommand comes from `command:` in docker-compose.yml.
ENTRYPOINT ["dataapp"]
