#!/usr/bin/env bash
# Installs every Debian package that building, running and testing Mingus Monitor needs.
# Idempotent: packages already present are skipped, and `apt-get update` runs at most once,
# only when something is missing. Needs root (or sudo) when it has something to install.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake make ccache pkg-config clang libclang-rt-14-dev clang-format
  # libraries the build links
  prometheus-cpp-dev libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev libspdlog-dev
  libfmt-dev libsqlite3-dev libssl-dev zlib1g-dev libre2-dev libxxhash-dev
  # test frameworks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real peers the integration tests and benchmarks run against
  prometheus prometheus-node-exporter curl procps util-linux python3 python3-statsd
  prometheus-alertmanager
  python3-aiosmtpd openssl
  # make run's demo writes its configuration from configs/ (scripts/demo-config.py)
  python3-yaml
  # the Python SDK's middleware tests and example app (client/python)
  python3-flask
  # benchmark peers (make bench)
  collectd-core libprotobuf-c1 libmicrohttpd12 netdata
  # pt-fingerprint: the SQL fingerprint's agreement test and benchmark (tests/integration,
  # tests/bench)
  percona-toolkit
  # the dashboard's browser test drives Debian's Chromium (tests/browser)
  chromium
  # the package test: lintian on the .debs, systemd-analyze verify on their units
  lintian systemd
)
# The build runs `npm ci` for the dashboard's uPlot (collector/web) and the browser test's
# playwright-core. A Node.js that brings its own npm (as NodeSource's does) is kept as it is;
# otherwise Debian's nodejs and npm.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
