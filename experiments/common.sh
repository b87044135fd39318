# Shared by the experiment scripts (source it from the repository root).

# "<cores> cores (<CPU model>), <UTC date>": where and when a table was made.
machine_line() {
  echo "$(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(date -u +%Y-%m-%d)"
}

# Figures from lra_report's CSV folder $1 into $2, with the project's Python (matplotlib is
# installed into .venv by scripts/install_deps.sh).
plot_csv() {
  local py=${PY:-.venv/bin/python}
  if "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" experiments/plot_results.py --csv-dir "$1" --out "$2"
  else
    echo "plots skipped: $py has no matplotlib (run scripts/install_deps.sh)" >&2
  fi
}
