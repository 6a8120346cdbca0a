#!/usr/bin/env bash
# Installs the real asyncio implementations ("peers") aiospec checks, idempotently,
# and reports where each one lives.
#
#   npm run peers                       # install what is missing, then report
#   npm run peers -- --check            # report only: install nothing
#   npm run peers -- --only pyodide,pypy
#   npm run peers -- --cheap            # = --only pyodide,pip (no apt-get: for CI)
#
# Peers (groups for --only in brackets):
#   cpython-3.8 .. cpython-3.14  pyenv's CPythons: reported, never installed   [cpython]
#   debian-python3               Debian's /usr/bin/python3 (3.11.2): reported  [cpython]
#   uvloop-deb                   uvloop 0.17 for /usr/bin/python3: apt python3-uvloop        [uvloop, apt]
#   uvloop-pip                   uvloop for python3 (pyenv 3.11.7): pip, local index         [uvloop, pip]
#   nest_asyncio-deb             nest_asyncio for /usr/bin/python3: apt python3-nest-asyncio [nest_asyncio, apt]
#   nest_asyncio-pip             nest_asyncio for python3: pip, local index                  [nest_asyncio, pip]
#   pypy3                        PyPy 3.9 (7.3.11): apt pypy3                                 [pypy, apt]
#   pyodide-0.27 / -0.29 / -314  CPython 3.12 / 3.13 / 3.14 in WebAssembly: npm, side by side
#                                in $AIOSPEC_PEERS_DIR (default .peers/, gitignored)          [pyodide, npm]
#                                (+ the Pyodide driver's start-up snapshots, in .peers/snapshots/)
#
# apt-get needs root: when not root, or without apt-get, the apt peers are
# reported absent with the reason and the script goes on. `apt-get update`
# runs once, and only when an apt package is to be installed. A second run
# finds everything and installs nothing.
#
# Exit code: 0, unless an install command was run and failed (1), or the
# arguments are wrong (2). A peer absent because this machine cannot install
# it (not root, no apt-get, no matching interpreter) is reported, not an error.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="${AIOSPEC_PEERS_DIR:-$ROOT/.peers}"
PYENV_DIR="${PYENV_ROOT:-$HOME/.pyenv}"

# ---------------------------------------------------------------- pins
# npm: exact versions, the newest of each line on 2026-12 (npm view pyodide versions).
PYODIDE_LINES=(0.27 0.29 314)
declare -A PYODIDE_PIN=([0.27]=0.27.8 [0.29]=0.29.5 [314]=314.0.8)
declare -A PYODIDE_PYTHON=([0.27]=3.12.7 [0.29]=3.13.2 [314]=3.14.2)
# pip (the local package index, /opt/pypi here): exact versions.
UVLOOP_PIP=0.23.0
NEST_ASYNCIO_PIP=1.6.0
# Debian bookworm's versions, as measured (apt-cache policy): installed by
# name, since a point release may replace them; a different version is
# reported, not refused.
declare -A DEB_VERSION=([python3-uvloop]=0.17.0+ds1-2+b2 [python3-nest-asyncio]=1.5.4-1 [pypy3]=7.3.11+dfsg-2+deb12u3)

ALL_PEERS=(cpython-3.8 cpython-3.9 cpython-3.10 cpython-3.11 cpython-3.12 cpython-3.13 cpython-3.14 debian-python3
  uvloop-deb uvloop-pip nest_asyncio-deb nest_asyncio-pip pypy3 pyodide-0.27 pyodide-0.29 pyodide-314)

usage() {
  cat <<EOF
usage: scripts/peers.sh [--check] [--only LIST | --cheap] [--help]
  --check       report only: install nothing
  --only LIST   install only these peers (comma-separated names or groups); every peer is still reported
                groups: cpython, uvloop, nest_asyncio, pypy, pyodide, apt, pip, npm, all
                names:  ${ALL_PEERS[*]}
  --cheap       = --only pyodide,pip (nothing that needs apt-get or root): for CI
  AIOSPEC_PEERS_DIR  where the npm peers go (default: $ROOT/.peers)
EOF
}

CHECK=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check | --dry-run) CHECK=1 ;;
    --only) [ $# -ge 2 ] || { echo "peers: --only needs a list" >&2; exit 2; }; ONLY="$ONLY,$2"; shift ;;
    --only=*) ONLY="$ONLY,${1#--only=}" ;;
    --cheap) ONLY="$ONLY,pyodide,pip" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "peers: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

group_of() { # the groups a peer belongs to
  case "$1" in
    cpython-* | debian-python3) echo "cpython" ;;
    uvloop-deb) echo "uvloop apt" ;;
    uvloop-pip) echo "uvloop pip" ;;
    nest_asyncio-deb) echo "nest_asyncio apt" ;;
    nest_asyncio-pip) echo "nest_asyncio pip" ;;
    pypy3) echo "pypy apt" ;;
    pyodide-*) echo "pyodide npm" ;;
  esac
}

declare -A SELECTED=()
if [ -z "$ONLY" ]; then
  for p in "${ALL_PEERS[@]}"; do SELECTED[$p]=1; done
else
  IFS=',' read -r -a WANT <<<"$ONLY"
  for w in "${WANT[@]}"; do
    [ -z "$w" ] && continue
    [ "$w" = pypy ] && w=pypy3
    hit=0
    for p in "${ALL_PEERS[@]}"; do
      if [ "$w" = all ] || [ "$w" = "$p" ] || [[ " $(group_of "$p") " == *" $w "* ]]; then SELECTED[$p]=1; hit=1; fi
    done
    [ $hit = 1 ] || { echo "peers: unknown peer or group '$w' (try --help)" >&2; exit 2; }
  done
fi

# ---------------------------------------------------------------- state

declare -A STATUS=() VERSION=() WHERE=() NOTE=()
FAILED=0
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1
HAVE_APT=0
command -v apt-get >/dev/null 2>&1 && HAVE_APT=1
APT_UPDATED=0

say() { printf '%-17s %s\n' "$1:" "$2"; }
record() { STATUS[$1]=$2; VERSION[$1]=$3; WHERE[$1]=$4; NOTE[$1]=${5:-}; }
selected() { [ -n "${SELECTED[$1]:-}" ]; }

# why this machine cannot run apt-get installs, or nothing
apt_unavailable() {
  if [ $HAVE_APT = 0 ]; then echo "no apt-get on this machine"
  elif [ $IS_ROOT = 0 ]; then echo "not root (apt-get needs root)"
  fi
}

apt_install() { # apt_install PKG: 0 when installed; apt-get's output is shown only when it fails
  local log
  if [ $APT_UPDATED = 0 ]; then
    echo "  apt-get update"
    if ! log=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq 2>&1); then
      echo "$log" | tail -n 5 | sed 's/^/    /'
      return 1
    fi
    APT_UPDATED=1
  fi
  echo "  apt-get install -y $1"
  if ! log=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$1" 2>&1); then
    echo "$log" | tail -n 5 | sed 's/^/    /'
    return 1
  fi
}

deb_version() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | awk '$3 == "installed" { print $4 }'; }

# py_module PYTHON MODULE: "VERSION DIR" of an importable module, or nothing
py_module() {
  "$1" - "$2" <<'EOF' 2>/dev/null
import importlib, os, sys
name = sys.argv[1]
m = importlib.import_module(name)
v = getattr(m, "__version__", None)
if v is None:
    try:
        from importlib.metadata import version
        v = version(name)
    except Exception:
        v = "?"
f = m.__file__
print(v, os.path.dirname(f) if os.path.basename(f).startswith("__init__.") else f)
EOF
}

# ---------------------------------------------------------------- cpython (reported)

for minor in 3.8 3.9 3.10 3.11 3.12 3.13 3.14; do
  peer=cpython-$minor
  py=$(ls -d "$PYENV_DIR"/versions/$minor.*/bin/python3 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$py" ] && [ -x "$py" ]; then
    v=$("$py" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "?")
    record $peer found "$v" "$py"
    say $peer "found $v at $py"
  else
    record $peer absent "" "" "not under $PYENV_DIR/versions (pyenv install $minor: not done by this script)"
    say $peer "absent (${NOTE[$peer]})"
  fi
done

if [ -x /usr/bin/python3 ]; then
  v=$(/usr/bin/python3 -c 'import platform; print(platform.python_version())' 2>/dev/null || echo "?")
  record debian-python3 found "$v" /usr/bin/python3
  say debian-python3 "found $v at /usr/bin/python3"
else
  record debian-python3 absent "" "" "no /usr/bin/python3 (apt-get install python3)"
  say debian-python3 "absent (${NOTE[debian-python3]})"
fi

# ---------------------------------------------------------------- apt peers

# deb_peer PEER DEBPKG CHECK: CHECK prints "VERSION WHERE" when the peer is usable
deb_peer() {
  local peer=$1 pkg=$2 check=$3 out
  out=$($check)
  if [ -n "$out" ]; then
    record "$peer" found "${out%% *}" "${out#* }" "deb $pkg $(deb_version "$pkg")"
    say "$peer" "already installed: ${out%% *} at ${out#* } (deb $pkg $(deb_version "$pkg"))"
    return
  fi
  if ! selected "$peer"; then
    record "$peer" absent "" "" "not selected (--only)"
    say "$peer" "absent (not selected by --only)"
    return
  fi
  if [ $CHECK = 1 ]; then
    record "$peer" absent "" "" "--check: would apt-get install -y $pkg"
    say "$peer" "absent (--check: would apt-get install -y $pkg)"
    return
  fi
  local why
  why=$(apt_unavailable)
  if [ -n "$why" ]; then
    record "$peer" absent "" "" "$why: apt-get install -y $pkg"
    say "$peer" "cannot install: $why (as root: apt-get install -y $pkg)"
    return
  fi
  say "$peer" "installing deb $pkg"
  if apt_install "$pkg" && out=$($check) && [ -n "$out" ]; then
    local dv note=""
    dv=$(deb_version "$pkg")
    [ "$dv" != "${DEB_VERSION[$pkg]}" ] && note=" (measured ${DEB_VERSION[$pkg]} when this script was written)"
    record "$peer" installed "${out%% *}" "${out#* }" "deb $pkg $dv$note"
    say "$peer" "installed ${out%% *} at ${out#* } (deb $pkg $dv)$note"
  else
    FAILED=1
    record "$peer" absent "" "" "apt-get install -y $pkg failed"
    say "$peer" "FAILED: apt-get install -y $pkg"
  fi
}

check_uvloop_deb() { [ -x /usr/bin/python3 ] && py_module /usr/bin/python3 uvloop; }
check_nest_deb() { [ -x /usr/bin/python3 ] && py_module /usr/bin/python3 nest_asyncio; }
check_pypy() {
  local p v
  p=$(command -v pypy3 2>/dev/null) || return 0
  v=$("$p" -c 'import platform, sys; print("%d.%d.%d/py%s" % (sys.pypy_version_info[:3] + (platform.python_version(),)))' 2>/dev/null) || return 0
  echo "$v $p"
}

deb_peer uvloop-deb python3-uvloop check_uvloop_deb
deb_peer nest_asyncio-deb python3-nest-asyncio check_nest_deb
deb_peer pypy3 pypy3 check_pypy

# ---------------------------------------------------------------- pip peers (python3)

PY3=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)

# pip_peer PEER MODULE DIST VERSION
pip_peer() {
  local peer=$1 mod=$2 dist=$3 pin=$4 out
  if [ -z "$PY3" ]; then
    record "$peer" absent "" "" "no python3 on PATH"
    say "$peer" "absent (no python3 on PATH)"
    return
  fi
  out=$(py_module "$PY3" "$mod")
  if [ -n "$out" ]; then
    local note=""
    [ "${out%% *}" != "$pin" ] && note="pinned $pin; python3 -m pip install $dist==$pin to match"
    record "$peer" found "${out%% *}" "${out#* }" "for $PY3${note:+; $note}"
    say "$peer" "already installed: ${out%% *} at ${out#* } (for $PY3)${note:+; $note}"
    return
  fi
  if ! selected "$peer"; then
    record "$peer" absent "" "" "not selected (--only)"
    say "$peer" "absent (not selected by --only)"
    return
  fi
  if [ $CHECK = 1 ]; then
    record "$peer" absent "" "" "--check: would $PY3 -m pip install $dist==$pin"
    say "$peer" "absent (--check: would $PY3 -m pip install $dist==$pin)"
    return
  fi
  say "$peer" "installing: $PY3 -m pip install $dist==$pin"
  local log
  if log=$("$PY3" -m pip install -q --disable-pip-version-check "$dist==$pin" 2>&1) && out=$(py_module "$PY3" "$mod") && [ -n "$out" ]; then
    record "$peer" installed "${out%% *}" "${out#* }" "for $PY3"
    say "$peer" "installed ${out%% *} at ${out#* } (for $PY3)"
  else
    FAILED=1
    record "$peer" absent "" "" "pip install $dist==$pin failed for $PY3: $(echo "$log" | grep -v '^\s*$' | tail -n 1)"
    say "$peer" "FAILED: $PY3 -m pip install $dist==$pin"
    echo "$log" | tail -n 5 | sed 's/^/    /'
  fi
}

pip_peer uvloop-pip uvloop uvloop "$UVLOOP_PIP"
pip_peer nest_asyncio-pip nest_asyncio nest_asyncio "$NEST_ASYNCIO_PIP"

# ---------------------------------------------------------------- pyodide (npm, side by side)

pyodide_installed() { # the installed version of a line, or nothing
  local pj="$PEERS_DIR/node_modules/pyodide-$1/package.json"
  [ -f "$pj" ] && [ -f "$PEERS_DIR/node_modules/pyodide-$1/pyodide.asm.wasm" ] &&
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$pj" 2>/dev/null
}

NPM_WANT=()
for line in "${PYODIDE_LINES[@]}"; do
  peer=pyodide-$line
  pin=${PYODIDE_PIN[$line]}
  have=$(pyodide_installed "$line")
  if [ "$have" = "$pin" ]; then
    NPM_WANT+=("$line")
    record "$peer" found "$pin" "$PEERS_DIR/node_modules/$peer" "CPython ${PYODIDE_PYTHON[$line]}"
    say "$peer" "already installed: pyodide $pin (CPython ${PYODIDE_PYTHON[$line]}) in $PEERS_DIR/node_modules/$peer"
  elif ! selected "$peer"; then
    [ -n "$have" ] && NPM_WANT+=("$line") # keep what is there
    record "$peer" absent "$have" "" "not selected (--only)${have:+; pyodide $have there, pinned $pin}"
    say "$peer" "absent (not selected by --only)"
  elif [ $CHECK = 1 ]; then
    record "$peer" absent "$have" "" "--check: would npm install pyodide@$pin into $PEERS_DIR${have:+ (has $have)}"
    say "$peer" "absent (--check: would npm install $peer@npm:pyodide@$pin into $PEERS_DIR)"
  else
    NPM_WANT+=("$line")
    record "$peer" pending "" "" ""
  fi
done

npm_needed=0
for line in "${PYODIDE_LINES[@]}"; do [ "${STATUS[pyodide-$line]}" = pending ] && npm_needed=1; done
if [ $npm_needed = 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    for line in "${PYODIDE_LINES[@]}"; do
      [ "${STATUS[pyodide-$line]}" = pending ] && record "pyodide-$line" absent "" "" "no npm on PATH"
    done
    say pyodide "cannot install: no npm on PATH"
  else
    if ! mkdir -p "$PEERS_DIR" 2>/dev/null || [ ! -w "$PEERS_DIR" ]; then
      for line in "${PYODIDE_LINES[@]}"; do
        [ "${STATUS[pyodide-$line]}" = pending ] && record "pyodide-$line" absent "" "" "cannot write $PEERS_DIR (set AIOSPEC_PEERS_DIR)"
      done
      FAILED=1
      say pyodide "cannot install: cannot write $PEERS_DIR (set AIOSPEC_PEERS_DIR to a writable directory)"
    else
    {
      echo '{'
      echo '  "name": "aiospec-peers",'
      echo '  "private": true,'
      echo '  "description": "Written by scripts/peers.sh: the npm peers aiospec checks, side by side. Not part of the project'"'"'s dependencies.",'
      echo '  "dependencies": {'
      sep=""
      for line in "${NPM_WANT[@]}"; do
        printf '%s    "pyodide-%s": "npm:pyodide@%s"' "$sep" "$line" "${PYODIDE_PIN[$line]}"
        sep=$',\n'
      done
      printf '\n  }\n}\n'
    } >"$PEERS_DIR/package.json"
    echo "pyodide:          npm install in $PEERS_DIR (${NPM_WANT[*]/#/pyodide-})"
    if log=$(cd "$PEERS_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error 2>&1); then :; else
      FAILED=1
      echo "$log" | grep -v '^\s*$' | tail -n 5 | sed 's/^/    /'
    fi
    for line in "${PYODIDE_LINES[@]}"; do
      peer=pyodide-$line
      [ "${STATUS[$peer]}" = pending ] || continue
      have=$(pyodide_installed "$line")
      if [ "$have" = "${PYODIDE_PIN[$line]}" ]; then
        record "$peer" installed "$have" "$PEERS_DIR/node_modules/$peer" "CPython ${PYODIDE_PYTHON[$line]}"
        say "$peer" "installed pyodide $have (CPython ${PYODIDE_PYTHON[$line]}) in $PEERS_DIR/node_modules/$peer"
      else
        FAILED=1
        record "$peer" absent "$have" "" "npm install pyodide@${PYODIDE_PIN[$line]} failed"
        say "$peer" "FAILED: npm install pyodide@${PYODIDE_PIN[$line]}"
      fi
    done
    fi
  fi
fi

# The Pyodide driver's start-up snapshot (implementations/pyodide/driver.js
# makes it at its first start, in $PEERS_DIR/snapshots/): made here once, so
# that the first test run starts fast; this also checks that the driver starts.
if [ $CHECK = 0 ]; then
  for line in "${PYODIDE_LINES[@]}"; do
    peer=pyodide-$line
    case "${STATUS[$peer]}" in found | installed) ;; *) continue ;; esac
    if ls "$PEERS_DIR"/snapshots/pyodide-"${PYODIDE_PIN[$line]}"-*.bin >/dev/null 2>&1; then continue; fi
    t0=$(date +%s)
    if hello=$(AIOSPEC_PEERS_DIR="$PEERS_DIR" node "$ROOT/implementations/pyodide/driver.js" --pyodide "$line" </dev/null 2>/tmp/aiospec-peers-$$.err | head -n 1) &&
      [[ "$hello" == '{"hello"'* ]]; then
      say "$peer" "driver started in $(($(date +%s) - t0)) s and made its start-up snapshot in $PEERS_DIR/snapshots"
    else
      NOTE[$peer]="${NOTE[$peer]}; the driver did not start: $(tail -n 1 /tmp/aiospec-peers-$$.err)"
      say "$peer" "the driver did not start: $(tail -n 1 /tmp/aiospec-peers-$$.err)"
    fi
    rm -f /tmp/aiospec-peers-$$.err
  done
fi

# ---------------------------------------------------------------- report

echo
printf '%-17s %-9s %-22s %s\n' PEER STATUS VERSION "WHERE / WHY"
for p in "${ALL_PEERS[@]}"; do
  st=${STATUS[$p]:-absent}
  if [ "$st" = absent ]; then
    printf '%-17s %-9s %-22s %s\n' "$p" "$st" "${VERSION[$p]:--}" "${NOTE[$p]}"
  else
    printf '%-17s %-9s %-22s %s\n' "$p" "$st" "${VERSION[$p]}" "${WHERE[$p]}${NOTE[$p]:+  (${NOTE[$p]})}"
  fi
done
if [ -n "$(apt_unavailable)" ]; then echo "apt peers: $(apt_unavailable)"; fi
(IFS='|'; echo "pyodide driver: node implementations/pyodide/driver.js --pyodide ${PYODIDE_LINES[*]}")
exit $FAILED
