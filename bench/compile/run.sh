#!/usr/bin/env bash
# Compile benchmark, side by side with dbt: `tally check` and `tally compile` of a synthetic
# project of N metrics (`tally gen-project`), and `dbt parse` / `dbt compile` (dbt-core with
# dbt-duckdb, installed into a throwaway virtual environment from PyPI) on the equivalent dbt
# project (`bench/compile/dbt_project.py`). Prints one line per measurement: tool, step,
# metrics, wall seconds, peak resident MiB. Ratios matter, not absolute times: run both in
# the same run on the same machine.
#
#   bash bench/compile/run.sh 1000 10000        # metric counts to measure
#
# Environment: TALLY (the tally binary; default: build the release binary), VENV (where the
# dbt environment lives; default ~/.cache/tally-bench-venv), SKIP_DBT=1 to measure tally alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
counts=("${@:-1000 10000}")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "${TALLY:-}" ]; then
  cargo build --release --locked --quiet --bin tally
  TALLY="${CARGO_TARGET_DIR:-$root/target}/release/tally"
fi
venv="${VENV:-$HOME/.cache/tally-bench-venv}"
if [ "${SKIP_DBT:-0}" != 1 ] && [ ! -x "$venv/bin/dbt" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "dbt-core>=1.10,<1.12" dbt-duckdb
fi

# measure TOOL STEP N COMMAND...: runs COMMAND once, prints wall seconds and peak RSS.
measure() {
  local tool="$1" step="$2" n="$3"
  shift 3
  local stats="$work/time.txt"
  /usr/bin/time -f '%e %M' -o "$stats" "$@" >"$work/out.txt" 2>&1 || {
    echo "$tool $step $n failed:" >&2
    tail -n 20 "$work/out.txt" >&2
    return 1
  }
  read -r seconds kib <"$stats"
  printf '%-6s %-8s %8d %8.2f s %7d MiB\n' "$tool" "$step" "$n" "$seconds" $((kib / 1024))
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
echo "tally:   $("$TALLY" --version 2>/dev/null || echo "$TALLY")"
[ "${SKIP_DBT:-0}" = 1 ] || echo "dbt:     $("$venv/bin/dbt" --version | head -n 2 | tr '\n' ' ')"
for n in ${counts[@]}; do
  project="$work/tally_$n"
  "$TALLY" gen-project --metrics "$n" --out "$project" >/dev/null
  measure tally check "$n" "$TALLY" check "$project"
  measure tally compile "$n" "$TALLY" compile "$project" --out "$project/generated"
  printf '%-6s %-8s %8d %8d KiB plan.json\n' tally size "$n" \
    $(($(stat -c %s "$project/generated/plan.json") / 1024))
  if [ "${SKIP_DBT:-0}" != 1 ]; then
    dbt="$work/dbt_$n"
    python3 bench/compile/dbt_project.py --metrics "$n" --out "$dbt"
    (cd "$dbt" && measure dbt parse "$n" "$venv/bin/dbt" parse --profiles-dir . --no-partial-parse)
    (cd "$dbt" && measure dbt compile "$n" "$venv/bin/dbt" compile --profiles-dir . --no-partial-parse)
  fi
done
