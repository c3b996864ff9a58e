# Python 3.11 from Debian's packages, shaped for docker/Dockerfile like the official
# python:3.11-slim-bookworm: `python3 -m pip install` run as root installs into /usr/local (Debian's
# scheme outside a virtual environment) and puts scripts in /usr/local/bin. docker/build-local.sh
# builds it FROM the image it made with debootstrap.
ARG DEBIAN_IMAGE=octsearch-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
# EXTERNALLY-MANAGED goes: in an image that only exists to run one application, pip owns
# /usr/local (PEP 668 names removing the marker as the way for container images).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip python-is-python3 \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED
CMD ["python3"]
