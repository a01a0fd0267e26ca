#!/usr/bin/env bash
# run.sh — the project's two commands (and a few more).
#   ./run.sh demo [--seconds N]   three simulated beds, a live view
#   ./run.sh test                 build and run the whole test suite
#   ./run.sh build                configure and build only
# Each installs what it needs on a fresh Debian machine (apt-get; sudo when
# not root), configures and builds in ./build.
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD

DEBS=(meson ninja-build pkg-config gcc libc6-dev
      libsystemd-dev libserialport-dev libmodbus-dev libsqlite3-dev libinih-dev
      libjson-c-dev libcairo2-dev libncurses-dev
      python3 sqlite3 tmux socat bash-completion python3-hl7 poppler-utils
      systemd man-db debhelper dpkg-dev lintian python3-pymodbus)

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_deps() {
        local missing=() p
        for p in "${DEBS[@]}" "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                        missing+=("$p")
        done
        if [ ${#missing[@]} -gt 0 ]; then
                echo "run.sh: installing ${missing[*]}" >&2
                sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
                sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                        "${missing[@]}" >/dev/null
        fi
}

build() {
        local werror=false
        [ "${CI:-}" = true ] && werror=true
        if [ ! -f build/build.ninja ]; then
                meson setup build -Dwerror=$werror >/dev/null
        fi
        ninja -C build >/dev/null
}

# Third-party validators the export test runs (tests/integration/npm/package.json:
# FHIR R4 JSON schema, UCUM), pinned, into build/npm.  Node comes from Debian
# when the machine has no npm; without npm the test says SKIP.
npm_peers() {
        command -v npm >/dev/null 2>&1 || install_deps npm || true
        command -v npm >/dev/null 2>&1 || return 0
        cmp -s tests/integration/npm/package.json build/npm/package.json &&
                [ -d build/npm/node_modules ] && return 0
        mkdir -p build/npm
        cp tests/integration/npm/package.json build/npm/package.json
        (cd build/npm && npm install --no-audit --no-fund --loglevel=error >/dev/null) ||
                echo "run.sh: npm install of the FHIR/UCUM validators failed" >&2
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
build)
        install_deps
        build
        ;;
test)
        install_deps
        build
        npm_peers
        set +e
        meson test -C build --print-errorlogs --num-processes 2 "$@" | tee build/test-output.txt
        rc=${PIPESTATUS[0]}
        set -e
        # The plain closing line CI reads: "N passed, N failed, N skipped".
        ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' build/test-output.txt | tail -1)
        fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' build/test-output.txt | tail -1)
        skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' build/test-output.txt | tail -1)
        to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' build/test-output.txt | tail -1)
        echo "${ok:-0} passed, $(( ${fail:-0} + ${to:-0} )) failed, ${skip:-0} skipped"
        exit "$rc"
        ;;
demo)
        install_deps
        build
        exec /usr/bin/python3 "$here/tests/demo.py" --build "$here/build" "$@"
        ;;
*)
        echo "usage: ./run.sh demo [--seconds N] | test | build" >&2
        exit 2
        ;;
esac
