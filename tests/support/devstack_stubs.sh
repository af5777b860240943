# Stubs for what devstack's inc/python takes from the rest of devstack.
#
# Sourced (in bash) before devstack's own, unchanged inc/python, by the test
# suite (tests/integration/test_devstack.py) and trials/devstack-replay, so
# that devstack's pip_install, pip_install_gr, setup_develop, pip_uninstall...
# run exactly as stack.sh runs them. The caller sets devstack's globals in the
# environment: DEST, REQUIREMENTS_DIR, DEVSTACK_VENV, GLOBAL_VENV,
# PYTHON3_VERSION, OFFLINE, PIP_UPGRADE, LIBS_FROM_GIT, PIP_FIND_LINKS.

# functions-common: die LINENO MESSAGE... (stack.sh stops; here the call stops)
function die {
    local lineno=$1
    shift
    echo "[ERROR] devstack die at line $lineno: $*" >&2
    exit 1
}

# functions-common: trueorfalse DEFAULT VARNAME
function trueorfalse {
    local default=$1
    local testval=${!2:-}
    case "${testval,,}" in
        1|yes|true|on) echo "True" ;;
        0|no|false|off) echo "False" ;;
        *) echo "$default" ;;
    esac
}

# functions-common: sets os_PACKAGE and friends (deb unless the caller says rpm)
function GetOSVersion {
    os_PACKAGE=${STUB_OS_PACKAGE:-deb}
    os_VENDOR=${STUB_OS_VENDOR:-Ubuntu}
    os_RELEASE=${STUB_OS_RELEASE:-24.04}
}
function is_ubuntu { [[ ${os_PACKAGE:-} == "deb" ]]; }
function is_fedora { [[ ${os_PACKAGE:-} == "rpm" ]]; }

function time_start { :; }
function time_stop { :; }
function safe_chown { :; }

# sudo -H LC_ALL=en_US.UTF-8 python3.X -m pip ...: the tests run as whoever runs
# them, so sudo's options are dropped and the rest runs as env would run it
# (variable assignments, then the command found on PATH).
function sudo {
    while [[ ${1:-} == -* ]]; do
        shift
    done
    env "$@"
}

declare -A -g GITDIR
