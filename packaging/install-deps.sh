#!/usr/bin/env bash
# Installs every Debian package that building, running and testing Mingus Monitor needs.
# Idempotent: packages already present are skipped, and `apt-get update` runs at most once,
# only when something is missing. Needs root (or sudo) when it has something to install.
# MINGUS_DEPS=build installs only what building the daemons and their .debs takes
# (-DMINGUS_BUILD_TESTS=OFF -DMINGUS_FUZZ=OFF, then cpack), as packaging/Dockerfile does.
set -euo pipefail

deps=${MINGUS_DEPS:-all}
if [[ "$deps" != all && "$deps" != build ]]; then
  echo "install-deps: MINGUS_DEPS must be all or build, not '$deps'" >&2
  exit 2
fi

packages=(
  # toolchain; for cpack's Depends, dpkg-shlibdeps (dpkg-dev, in build-essential) and file
  build-essential cmake make pkg-config file
  # libraries the build links
  prometheus-cpp-dev libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev libspdlog-dev
  libfmt-dev libsqlite3-dev libssl-dev zlib1g-dev libre2-dev libxxhash-dev
  # libxcrypt: bcrypt checks of a web config's basic_auth_users
  libcrypt-dev
)
[[ "$deps" == build ]] || packages+=(
  # ccache, the fuzz side build (clang, libFuzzer's runtime) and formatting
  ccache clang libclang-rt-14-dev clang-format
  # test frameworks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real peers the integration tests and benchmarks run against
  prometheus prometheus-node-exporter curl procps util-linux python3 python3-statsd
  prometheus-alertmanager
  python3-aiosmtpd openssl
  # the web security test hashes its passwords with bcrypt (tests/integration)
  python3-bcrypt
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
  # the deployment files test parses packaging/kubernetes (tests/integration)
  python3-yaml
  # the insights and UX tests recompute the reports with plain SQL in the sqlite3 tool
  sqlite3
  # what Debian's python3-scipy needs at run time: the insights and UX tests check their
  # statistics against scipy.stats (the package itself is unpacked below)
  python3-numpy python3-decorator liblbfgsb0 libgfortran5 liblapack3 libblas3
  # the soak test's clock jump runs the collector under libfaketime (tests/bench/soak.py)
  faketime
)
# python3-scipy cannot be installed beside libboost1.81-dev: it depends on python3-pythran,
# which needs libboost-dev (1.74), which conflicts with 1.81. scipy.stats needs neither pythran
# nor Boost at run time, so Debian's own package is unpacked into SCIPY_ROOT, where the tests
# look for it (tests/integration/harness.py, scipy_stats()), with its other dependencies
# installed above.
SCIPY_ROOT=/opt/mingus-test/python3-scipy
unpack_scipy() {
  [[ "$deps" == all && ! -d "$SCIPY_ROOT/usr/lib/python3/dist-packages/scipy" ]] || return 0
  echo "install-deps: unpacking python3-scipy into $SCIPY_ROOT"
  local download
  download=$(mktemp -d)
  # apt-get download runs as _apt, which must be able to write there
  chmod 755 "$download"
  (cd "$download" && { apt-get download -qq python3-scipy 2>/dev/null ||
    { "${sudo_cmd[@]}" apt-get update -qq && apt-get download -qq python3-scipy; }; })
  "${sudo_cmd[@]}" mkdir -p "$SCIPY_ROOT"
  "${sudo_cmd[@]}" dpkg-deb -x "$download"/python3-scipy_*.deb "$SCIPY_ROOT"
  rm -rf "$download"
}
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
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
  unpack_scipy
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
unpack_scipy
