# ui_common.sh - for the `corral ui` end-to-end tests against one host
# (sourced after tests/integration/lib.sh): the functions of ui_lib.sh,
# start_ui against the test's host, and a cleanup that stops the dashboard by
# PID before lib.sh stops the host.
. "$(dirname "${BASH_SOURCE[0]}")/ui_lib.sh"

ui_cleanup() {
  ui_stop
  it_cleanup
}
trap ui_cleanup EXIT

# start_ui [ARGS...]: ui_start against the test's host (its run dir)
start_ui() {
  ui_start --run-dir "$RUN" "$@"
}

# inv_json PYTHON-EXPR: evaluates EXPR on d = `corral get inventory --json`
inv_json() {
  "$CORRAL" get inventory --json --run-dir "$RUN" | python3 -c "import json,sys;d=json.load(sys.stdin);print($1)"
}
