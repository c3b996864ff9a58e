# PostgreSQL from Debian's packages (bookworm: version 15) for compose.yaml's `postgres` service,
# with the official postgres image's contract: POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB
# create the user and the database on the first start, data in /var/lib/postgresql/data,
# password (scram-sha-256) authentication over the network, `pg_isready` on PATH.
# docker/build-local.sh builds it FROM the image it made with debootstrap.
ARG DEBIAN_IMAGE=octsearch-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# No cluster of the package's own (/var/lib/postgresql/15/main): the entrypoint makes the one in
# PGDATA, as the official image does.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-common \
 && sed -ri 's/#(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf \
 && apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/postgresql/*/bin /usr/lib/postgresql/bin \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql
ENV PATH=/usr/lib/postgresql/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/octsearch-postgres-entrypoint
VOLUME /var/lib/postgresql/data
EXPOSE 5432
# SIGINT: PostgreSQL's fast shutdown (the official image's choice too).
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/octsearch-postgres-entrypoint"]
CMD ["postgres"]
