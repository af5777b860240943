#!/usr/bin/env bash
# ci-guard: a CI job that installs projects one at a time through pipguard
# into a virtual environment, and fails (with a JUnit report) when the
# environment would break. Usable from any CI system; see docs/ci.md.
#
#   pipguard ci-guard [options] STEP [STEP...]    (or bash pipguard/commands/ci-guard.sh in a checkout)
#
# Each STEP is the arguments of one 'pipguard install', given as one word and
# split on whitespace, e.g. "-r nova/requirements.txt" "-e ./plugin[extra]"
# (so paths in a step cannot contain spaces).
# The steps run in order, as a devstack run would, and all of them run even
# when one is rejected, so the report lists every problem.
#
# Options (each also read from the environment variable named):
#   --venv DIR          the virtual environment (PIPGUARD_CI_VENV; default .pipguard-ci-venv).
#                       Created with "$PYTHON -m venv" unless DIR/bin/python exists.
#   --junit FILE        the JUnit XML report (PIPGUARD_CI_JUNIT; default pipguard-junit.xml)
#   --pip-args ARGS     pip options for every step and the plan, e.g. "--no-index -f ./wheels"
#                       or "-c upper-constraints.txt" (PIPGUARD_CI_PIP_ARGS)
#   --export FILE       when all is well, write the known-good constraints file there
#                       (PIPGUARD_CI_EXPORT)
#   --plan-first        first ask whether all the steps can be installed together
#                       ('pipguard check --plan'); stop there, with its report, if not
#                       (PIPGUARD_CI_PLAN_FIRST=1)
#   --upgrade-pip       upgrade pip in a new environment first (needs an index)
#                       (PIPGUARD_CI_UPGRADE_PIP=1)
#   PIPGUARD_CI_PYTHON    the Python that builds the venv and runs pipguard (default python3)
#   PIPGUARD_CI_PIPGUARD  the pipguard command (default: 'pipguard' if on PATH, else
#                         "$PYTHON -m pipguard")
#
# Exit status: 0 every step installed and 'pipguard check' is clean; 1 a step was
# rejected or failed, or the check (or the plan) found problems; 2 bad usage.
set -uo pipefail

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}

venv="${PIPGUARD_CI_VENV:-.pipguard-ci-venv}"
junit="${PIPGUARD_CI_JUNIT:-pipguard-junit.xml}"
pip_args="${PIPGUARD_CI_PIP_ARGS:-}"
export_file="${PIPGUARD_CI_EXPORT:-}"
plan_first="${PIPGUARD_CI_PLAN_FIRST:-0}"
upgrade_pip="${PIPGUARD_CI_UPGRADE_PIP:-0}"
python="${PIPGUARD_CI_PYTHON:-python3}"
steps=()

while [ $# -gt 0 ]; do
    case "$1" in
        --venv) venv="${2:?--venv needs a directory}"; shift 2 ;;
        --junit) junit="${2:?--junit needs a file}"; shift 2 ;;
        --pip-args) pip_args="${2?--pip-args needs a value}"; shift 2 ;;
        --export) export_file="${2:?--export needs a file}"; shift 2 ;;
        --plan-first) plan_first=1; shift ;;
        --upgrade-pip) upgrade_pip=1; shift ;;
        -h|--help) usage ;;
        --) shift; steps+=("$@"); break ;;
        -*[[:space:]]*) steps+=("$1"); shift ;;  # a step such as "-r requirements.txt"
        -*) echo "ci-guard: unknown option $1 (a one-word step that starts with '-' goes after '--')" >&2
            exit 2 ;;
        *) steps+=("$1"); shift ;;
    esac
done

if [ ${#steps[@]} -eq 0 ]; then
    echo "ci-guard: nothing to install: give at least one STEP, e.g. ci-guard -- \"-r requirements.txt\"" >&2
    exit 2
fi

if [ -n "${PIPGUARD_CI_PIPGUARD:-}" ]; then
    read -r -a pipguard <<< "$PIPGUARD_CI_PIPGUARD"
elif command -v pipguard > /dev/null 2>&1; then
    pipguard=(pipguard)
else
    pipguard=("$python" -m pipguard)
fi
read -r -a common <<< "$pip_args"

log() { echo "ci-guard: $*" >&2; }

# -- the environment ---------------------------------------------------------
vpy="$venv/bin/python"
if [ ! -x "$vpy" ]; then
    log "creating the virtual environment $venv"
    "$python" -m venv "$venv" || { log "cannot create $venv with $python -m venv"; exit 2; }
    if [ "$upgrade_pip" = 1 ]; then
        "$vpy" -m pip install --quiet --upgrade pip || { log "cannot upgrade pip in $venv"; exit 1; }
    fi
fi
guard=("${pipguard[@]}" --python "$vpy")

# The last transaction before this job: the check reports anything after it
# that was rejected or failed (0 for a new environment).
since=$("${guard[@]}" history --json | "$python" -c 'import json, sys; print(json.load(sys.stdin)["last_id"])') || {
    log "cannot read the ledger of $venv"; exit 2; }

# -- co-installability first (optional) ---------------------------------------
if [ "$plan_first" = 1 ]; then
    all=()
    for step in "${steps[@]}"; do
        read -r -a words <<< "$step"
        all+=("${words[@]}")
    done
    log "planning all steps together: pipguard check --plan ${all[*]}"
    "${guard[@]}" check --plan --junit "$junit" ${common[@]+"${common[@]}"} "${all[@]}"
    status=$?
    if [ $status -ne 0 ]; then
        log "the steps cannot be installed together (exit $status); nothing was installed. Report: $junit"
        exit $status
    fi
fi

# -- one guarded install per step ---------------------------------------------
failed=0
for step in "${steps[@]}"; do
    read -r -a words <<< "$step"
    log "pipguard install ${words[*]}"
    "${guard[@]}" install ${common[@]+"${common[@]}"} "${words[@]}"
    status=$?
    if [ $status -ne 0 ]; then
        case $status in
            10) log "REJECTED: '${words[*]}' would break an earlier project; nothing was changed." ;;
            *) log "FAILED: '${words[*]}' (exit $status)." ;;
        esac
        failed=1
    fi
done

# -- the guard ---------------------------------------------------------------------
"${guard[@]}" check --since "$since" --junit "$junit"
status=$?
if [ $status -eq 0 ] && [ $failed -eq 0 ] && [ -n "$export_file" ]; then
    "${guard[@]}" export > "$export_file" && log "known-good constraints written to $export_file"
fi
if [ $status -ne 0 ]; then
    log "the environment would break (pipguard check exit $status). Report: $junit"
    exit $status
fi
if [ $failed -ne 0 ]; then
    log "a step failed before pipguard could record it; see the log above. Report: $junit"
    exit 1
fi
log "OK: every step installed, every earlier project still satisfied. Report: $junit"
exit 0
