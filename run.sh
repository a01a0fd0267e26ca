#!/usr/bin/env bash
# run.sh — the project's two commands (and a few more).
#   ./run.sh demo [--seconds N]   three simulated beds, a live view
#   ./run.sh test                 build and run the whole test suite
#   ./run.sh build                configure and build only
#   ./run.sh sanitize             the suite under ASan+UBSan (./build-asan) and the
#                                 unit tests and corpus replays under valgrind
#   ./run.sh bench [--quick]      the benchmark (tests/bench/bench.py); not a test
#   ./run.sh fuzz [SECONDS [TARGET...]]  libFuzzer, each target SECONDS (clang, ./build-fuzz)
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
sanitize)
        # Every test, unit and integration, against an AddressSanitizer +
        # UndefinedBehaviorSanitizer build (any finding, leaks included,
        # aborts the program and fails its test), then the unit tests and
        # corpus replays of ./build under valgrind's memcheck.
        install_deps valgrind
        build
        # ./build may predate valgrind: let meson find it for the test setup.
        meson setup --reconfigure build >/dev/null
        werror=false
        [ "${CI:-}" = true ] && werror=true
        if [ ! -f build-asan/build.ninja ]; then
                meson setup build-asan -Db_sanitize=address,undefined \
                        -Dc_args=-fno-sanitize-recover=all -Dwerror=$werror >/dev/null
        fi
        ninja -C build-asan >/dev/null
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
        export LSAN_OPTIONS=suppressions=$here/tests/sanitizers/lsan.supp:print_suppressions=0
        # The export test's npm validators, shared with ./build.
        npm_peers
        [ -d build/npm ] && ln -sfn ../build/npm build-asan/npm
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        set +e
        meson test -C build-asan --print-errorlogs --num-processes 2 "$@" |
                tee build-asan/test-output.txt
        rc1=${PIPESTATUS[0]}
        meson test -C build --setup valgrind --no-suite integration --print-errorlogs \
                --num-processes 2 | tee build/valgrind-output.txt
        rc2=${PIPESTATUS[0]}
        set -e
        sum() { sed -n "s/^$1: *\([0-9]*\).*/\1/p" build-asan/test-output.txt \
                build/valgrind-output.txt | awk '{ n += $1 } END { print n + 0 }'; }
        echo "$(sum Ok) passed, $(( $(sum Fail) + $(sum Timeout) )) failed, $(sum Skipped) skipped"
        [ "$rc1" = 0 ] && [ "$rc2" = 0 ]
        ;;
bench)
        install_deps
        build
        exec /usr/bin/python3 "$here/tests/bench/bench.py" --build "$here/build" "$@"
        ;;
fuzz)
        # Each target in turn for SECONDS (default 60), one job, at the lowest
        # CPU priority; new inputs stay in build-fuzz/corpus, crashes go to
        # build-fuzz/artifacts (add each to tests/fuzz/corpus with its fix).
        secs=${1:-60}
        [ $# -gt 0 ] && shift
        targets=${*:-ge-s5 scenario config profile control}
        install_deps clang libclang-rt-14-dev
        if [ ! -f build-fuzz/build.ninja ]; then
                CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
                        -Db_lundef=false -Dbuildtype=debugoptimized \
                        "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" >/dev/null
        fi
        ninja -C build-fuzz >/dev/null
        /usr/bin/python3 tests/fuzz/seed.py --build build-fuzz --out build-fuzz/corpus \
                --captures "$here/../shared/captures"
        failed=0
        for t in $targets; do
                mkdir -p "build-fuzz/artifacts/$t"
                echo "fuzz: $t for ${secs}s" >&2
                set +e
                nice -n 19 "build-fuzz/tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
                        -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
                        -artifact_prefix="build-fuzz/artifacts/$t/" "build-fuzz/corpus/$t" \
                        >"build-fuzz/fuzz-$t.log" 2>&1
                rc=$?
                set -e
                execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/fuzz-$t.log")
                echo "fuzz $t: ${execs:-?} executions in ${secs}s, exit $rc," \
                        "corpus $(ls "build-fuzz/corpus/$t" | wc -l) inputs"
                [ "$rc" = 0 ] || { failed=1; tail -30 "build-fuzz/fuzz-$t.log"; }
        done
        exit $failed
        ;;
demo)
        install_deps
        build
        exec /usr/bin/python3 "$here/tests/demo.py" --build "$here/build" "$@"
        ;;
*)
        echo "usage: ./run.sh demo [--seconds N] | test | build | sanitize | bench [--quick] | fuzz [SECONDS [TARGET...]]" >&2
        exit 2
        ;;
esac
