# Shared by the experiment scripts (source it from the repository root).

# "<cores> cores (<CPU model>), <UTC date>": where and when a table was made.
machine_line() {
  echo "$(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(date -u +%Y-%m-%d)"
}

# Figures from lra_report's CSV folder $1 into $2, with Debian's python3-matplotlib when present.
plot_csv() {
  local py=${PY:-/usr/bin/python3}  # Debian's python3, where python3-matplotlib installs
  if "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" experiments/plot_results.py --csv-dir "$1" --out "$2"
  else
    echo "plots skipped: apt-get install python3-matplotlib" >&2
  fi
}
