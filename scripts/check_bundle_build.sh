#!/usr/bin/env bash
# Proves that the folder from scripts/make_gpu_bundle.sh is enough to build lra_train: configures
# and builds a separate build folder against the bundle and the LibTorch wheel, then checks that
# every header of the bundled libraries the compiler read (its dependency files) and every
# library the linker and loader took came from the bundle, none from the system's -dev packages
# (which may well be installed here too). Prints PASS or FAIL with the offending paths.
# Usage: scripts/check_bundle_build.sh [--scan-only] [BUNDLE_DIR [BUILD_DIR]]
#   --scan-only: only scan an existing BUILD_DIR, read-only (run on the normal build/, which uses
#                the system packages, it must FAIL: the scan's negative control)
#   env: SOURCE_DIR (default: this checkout), JOBS (2), CHECK_TESTS (ctest -R regex run from the
#        new build afterwards; default Config, empty for none), GENERATOR (default Unix
#        Makefiles; Ninja is scanned through `ninja -t deps`), HIDE_SYSTEM=1 (root: run in a
#        private mount namespace where the system's copies of the bundled packages are covered,
#        as on a machine that never had them)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ "${HIDE_SYSTEM:-0}" = 1 ] && [ -z "${LRA_SYSTEM_HIDDEN:-}" ]; then
  exec unshare --mount --propagation private env LRA_SYSTEM_HIDDEN=1 bash "$0" "$@"
fi
if [ -n "${LRA_SYSTEM_HIDDEN:-}" ]; then
  # Headers, CMake configs, static libraries and the runtime libraries nothing else here uses
  # are covered by an empty folder or /dev/null (a bind mount follows links to their target).
  # libz.so.1 and libpng16.so.16 stay, and with them the -dev links libz.so and libpng*.so that
  # point at them: the system's own tools load those. The link-line scan covers them instead.
  empty=$(mktemp -d)
  hidden=()
  arch=/usr/lib/x86_64-linux-gnu
  for d in /usr/include/{yaml-cpp,spdlog,fmt,CLI,nlohmann,gtest,gmock,libpng16} \
           $arch/cmake/{yaml-cpp,spdlog,fmt,GTest} /usr/share/cmake/{CLI11,nlohmann_json}; do
    [ -d "$d" ] && mount --bind "$empty" "$d" && hidden+=("$d")
  done
  for f in /usr/include/{png.h,pngconf.h,pnglibconf.h,zlib.h,zconf.h} \
           $arch/lib{yaml-cpp,gtest,gtest_main,gmock,gmock_main,png,png16,z}.a \
           $arch/lib{yaml-cpp.so.0.7,spdlog.so.1.10,fmt.so.9}*; do
    [ -e "$f" ] && [ ! -L "$f" ] && mount --bind /dev/null "$f" && hidden+=("$f")
  done
  echo "check_bundle_build: hidden in this mount namespace (${#hidden[@]}): ${hidden[*]}"
fi
SCAN_ONLY=0
if [ "${1:-}" = --scan-only ]; then SCAN_ONLY=1; shift; fi
BUNDLE=$(cd "${1:-gpu_bundle}" && pwd)
BUILD_DIR="${2:-/tmp/bundle_build}"
SOURCE_DIR="${SOURCE_DIR:-$REPO}"
JOBS="${JOBS:-2}"
CHECK_TESTS="${CHECK_TESTS-Config}"
[ -f "$BUNDLE/bundle.cmake" ] || { echo "check_bundle_build: no $BUNDLE/bundle.cmake; run scripts/make_gpu_bundle.sh" >&2; exit 1; }
PREFIX="$BUNDLE/root/usr"
BUNDLE_LIB="$PREFIX/lib/x86_64-linux-gnu"

PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
source scripts/cuda_toolkit_env.sh  # sets CUDA_ARGS

if ((SCAN_ONLY)); then
  [ -f "$BUILD_DIR/CMakeCache.txt" ] || { echo "check_bundle_build: $BUILD_DIR is no CMake build folder" >&2; exit 1; }
  CHECK_TESTS=""
  export LD_LIBRARY_PATH="$BUNDLE_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  # The Makefile generator keeps the compiler's own dependency files (*.o.d), which the scan
  # reads; Ninja folds them into its log, read back with `ninja -t deps`.
  # CMAKE_POLICY_VERSION_MINIMUM: as scripts/gpu_check.sh, for a CMake 4 on PATH.
  cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -G "${GENERATOR:-Unix Makefiles}" -C "$BUNDLE/bundle.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX;$TORCH_PREFIX" \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${CUDA_ARGS[@]}"
  # As on the GPU machine, where no system libfmt stands behind the bundle's: libspdlog's own
  # need for libfmt.so.9 is not covered by the executables' RUNPATH (the build already runs
  # lra_tests to list its tests).
  export LD_LIBRARY_PATH="$BUNDLE_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  start=$(date +%s)
  /usr/bin/time -f '%e %U %S' -o "$BUILD_DIR/build_time.txt" \
    nice -n 19 cmake --build "$BUILD_DIR" -j "$JOBS"
  read -r wall user sys < "$BUILD_DIR/build_time.txt"
  echo "check_bundle_build: build took ${wall} s wall, $(awk "BEGIN{print $user+$sys}") s CPU, -j $JOBS" \
       "(started $(date -d @"$start" +%H:%M:%S))"
fi
status=0
python3 - "$BUNDLE" "$BUILD_DIR" <<'EOF' || status=1
import glob, os, re, subprocess, sys

bundle, build = sys.argv[1], sys.argv[2]
prefix = os.path.join(bundle, "root", "usr")
inc = os.path.join(prefix, "include")
bad = []

def in_bundle(path):
    return os.path.realpath(path).startswith(os.path.realpath(bundle) + os.sep)

# 1. Headers. A header name the bundle provides (yaml-cpp/, spdlog/, fmt/, CLI/, nlohmann/,
# gtest/, png*.h, zlib.h, zconf.h ...) must never be read from a system include folder.
provided = set()
for root, dirs, files in os.walk(inc):
    for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
        provided.add(os.path.relpath(os.path.join(root, name), inc))
top = {p.split(os.sep)[0] for p in provided} | {"gmock"}
system_dirs = ["/usr/include", "/usr/local/include", "/usr/include/x86_64-linux-gnu"]
packages = {"yaml-cpp": r"^yaml-cpp/", "spdlog": r"^spdlog/", "fmt": r"^fmt/", "CLI11": r"^CLI/",
            "nlohmann_json": r"^nlohmann/", "gtest": r"^gtest/", "png": r"^(libpng16/)?png",
            "zlib": r"^z(lib|conf)\.h$"}
from_bundle = {k: set() for k in packages}
headers = {}  # header -> the first dependency file (or Ninja target) naming it
if os.path.exists(os.path.join(build, "build.ninja")):
    deps = subprocess.run(["ninja", "-C", build, "-t", "deps"], capture_output=True, text=True,
                          check=True).stdout
    depfiles, target = [], None
    for line in deps.splitlines():
        if line and not line.startswith(" "):
            target = os.path.join(build, line.split(":")[0])
            depfiles.append(target)
        elif line.strip() and target:
            headers.setdefault(line.strip(), target)
else:
    depfiles = glob.glob(os.path.join(build, "**", "*.d"), recursive=True)
    for depfile in sorted(depfiles):
        text = open(depfile, errors="replace").read().replace("\\\n", " ")
        for line in text.splitlines():
            if ":" not in line:
                continue
            for h in line.split(":", 1)[1].split():
                headers.setdefault(h, depfile)
for h, depfile in sorted(headers.items()):
    norm = os.path.normpath(h)
    real = os.path.realpath(norm)
    if in_bundle(norm):
        rel = os.path.relpath(norm, inc) if norm.startswith(inc) else os.path.relpath(real, os.path.realpath(inc))
        for pkg, pattern in packages.items():
            if re.search(pattern, rel):
                from_bundle[pkg].add(rel)
        continue
    for candidate in {norm, real}:
        for d in system_dirs:
            if candidate.startswith(d + os.sep):
                rel = os.path.relpath(candidate, d)
                if rel in provided or rel.split(os.sep)[0] in top:
                    bad.append(f"header from the system: {candidate} (in {depfile})")
print(f"headers: {len(depfiles)} dependency files, {len(headers)} distinct headers; from the bundle: "
      + ", ".join(f"{k} {len(v)}" for k, v in from_bundle.items()))
for pkg, found in from_bundle.items():
    if not found:
        bad.append(f"no {pkg} header was read from the bundle")

# 2. What CMake found.
cache = {}
for line in open(os.path.join(build, "CMakeCache.txt")):
    m = re.match(r"^([A-Za-z0-9_+-]+):[A-Z]+=(.*)$", line.strip())
    if m:
        cache[m.group(1)] = m.group(2)
for key in ["yaml-cpp_DIR", "spdlog_DIR", "fmt_DIR", "GTest_DIR", "CLI11_DIR", "nlohmann_json_DIR",
            "PNG_PNG_INCLUDE_DIR", "PNG_LIBRARY_RELEASE", "ZLIB_INCLUDE_DIR", "ZLIB_LIBRARY_RELEASE"]:
    value = cache.get(key, "")
    ok = bool(value) and in_bundle(value)
    print(f"cache: {key} = {value} {'(bundle)' if ok else '(NOT the bundle)'}")
    if not ok:
        bad.append(f"CMakeCache {key} = {value or '(unset)'}")

# 3. Link lines: each bundled library by its bundle path, never as -lNAME or a system path.
lib_re = re.compile(r"lib(yaml-cpp|spdlog|fmt|gtest|gtest_main|gmock|png16|png|z)\.(so|a)\b")
flag_re = re.compile(r"^-l(yaml-cpp|spdlog|fmt|gtest|gtest_main|gmock|png16|png|z)$")
links = glob.glob(os.path.join(build, "**", "link.txt"), recursive=True)
link_lines = {link: open(link).read() for link in links}
if os.path.exists(os.path.join(build, "build.ninja")):
    # Ninja keeps each link's libraries in its build file: the LINK_LIBRARIES lines.
    ninja = open(os.path.join(build, "build.ninja")).read()
    link_lines = {f"build.ninja LINK_LIBRARIES #{i}": l for i, l in
                  enumerate(re.findall(r"^\s*LINK_LIBRARIES = (.*)$", ninja, re.M))}
    links = list(link_lines)
linked = set()
for link, line in link_lines.items():
    for tok in line.split():
        if flag_re.match(tok):
            bad.append(f"link by name: {tok} in {link}")
        elif lib_re.search(os.path.basename(tok)) and not tok.startswith("-"):
            base = build if link.startswith("build.ninja") else os.path.join(os.path.dirname(link), "..", "..")
            path = tok if os.path.isabs(tok) else os.path.normpath(os.path.join(base, tok))
            if in_bundle(path):
                linked.add(os.path.basename(tok))
            else:
                bad.append(f"linked from outside the bundle: {tok} in {link}")
print(f"link lines: {len(links)} files; bundle libraries linked: {', '.join(sorted(linked))}")

# 4. Loader: with LD_LIBRARY_PATH at the bundle (as scripts/gpu_check.sh runs), the executables
# load the bundle's copies.
so_re = re.compile(r"^\s*(lib(?:yaml-cpp|spdlog|fmt|png16|z)\.so[.0-9]*) => (\S+)")
for exe in ["lra_train", "lra_bench", "lra_prepare", "lra_sweep", "lra_report", "tests/lra_tests"]:
    if not os.path.exists(os.path.join(build, exe)):
        bad.append(f"missing executable: {exe}")
        continue
    out = subprocess.run(["ldd", os.path.join(build, exe)], capture_output=True, text=True).stdout
    got = []
    for line in out.splitlines():
        m = so_re.match(line)
        if m:
            got.append(f"{m.group(1)} ({'bundle' if in_bundle(m.group(2)) else m.group(2)})")
            if not in_bundle(m.group(2)):
                bad.append(f"{exe} loads {m.group(1)} from {m.group(2)}")
    print(f"ldd {exe}: {', '.join(got) or 'none of the bundled libraries'}")

if bad:
    print("FAIL")
    kinds = {}
    for b in sorted(set(bad)):
        kinds.setdefault(b.split(":")[0], []).append(b)
    for kind, items in kinds.items():
        for b in items[:15]:
            print("  " + b)
        if len(items) > 15:
            print(f"  ... and {len(items) - 15} more of: {kind}")
    sys.exit(1)
print("PASS: every bundled library's headers, CMake config and libraries came from " + bundle)
EOF

if [ -n "$CHECK_TESTS" ]; then
  # Quick evidence that the binaries built against the bundle run.
  ctest --test-dir "$BUILD_DIR" -R "$CHECK_TESTS" --output-on-failure -j "$JOBS" || status=1
fi
exit $status
