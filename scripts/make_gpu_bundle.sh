#!/usr/bin/env bash
# Makes a folder (default gpu_bundle/) with the Debian 12 packages the build needs, unpacked with
# dpkg -x, for a machine that has a compiler, CMake, CUDA and PyTorch but no package registry
# (the lent GPU machine: scripts/gpu_check.sh builds against it). Run it here, on Debian 12 with
# apt lists; the folder is git-ignored and travels with the `run` tool's carry.
# Usage: scripts/make_gpu_bundle.sh [BUNDLE_DIR]
#
# Layout: BUNDLE/root/usr/{include,lib/x86_64-linux-gnu,share/cmake} as the packages install
# them (the /lib of zlib1g merged into /usr/lib), BUNDLE/bundle.cmake (an initial cache for
# `cmake -C` that pins every package's config folder and the PNG/ZLIB paths to this folder,
# wherever it lies), BUNDLE/MANIFEST.txt (package versions, deb checksums, glibc needs).
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE="${1:-gpu_bundle}"

# What the build's find_package calls need (cmake/Dependencies.cmake), with their runtime
# libraries and every dependency that is not assumed on the target machine.
PACKAGES=(libyaml-cpp-dev libyaml-cpp0.7
          libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
          libcli11-dev nlohmann-json3-dev
          libgtest-dev
          libpng-dev libpng16-16 zlib1g-dev zlib1g)
# Dependencies left out on purpose. The C and C++ runtimes and libc's headers come with any
# machine that has a working g++ (the GPU machine needs one for nvcc anyway); catch2 is only the
# framework of spdlog's own tests and googletest only gtest's sources: libgtest-dev already
# ships libgtest.a and the GTest CMake config.
ASSUMED=(libc6 libc6-dev libc-dev libgcc-s1 libstdc++6)
NOT_NEEDED=(catch2 googletest)

in_list() { local x="$1"; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

# A package that gained a dependency since this list was written must not slip by unnoticed.
unexpected=()
for pkg in "${PACKAGES[@]}"; do
  while read -r dep; do
    in_list "$dep" "${PACKAGES[@]}" "${ASSUMED[@]}" "${NOT_NEEDED[@]}" || unexpected+=("$pkg -> $dep")
  done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
             --no-replaces --no-enhances "$pkg" | sed -n 's/^ *|\?\(Pre\)\?Depends: <\?\([^>]*\)>\?$/\2/p')
done
if ((${#unexpected[@]})); then
  printf 'make_gpu_bundle: dependency not covered: %s\n' "${unexpected[@]}" >&2
  exit 1
fi

debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
chmod a+rwx "$debs"  # apt's download sandbox user must be able to write there
(cd "$debs" && apt-get download -q "${PACKAGES[@]}" >/dev/null)

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/root"
root=$(cd "$BUNDLE/root" && pwd)
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done

# Debian 12 keeps zlib1g's runtime in /lib: fold it into /usr/lib so that one folder holds
# every library.
if [ -d "$root/lib" ]; then
  cp -a "$root/lib/." "$root/usr/lib/"
  rm -rf "$root/lib"
fi
# An absolute link (libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) would reach the host's
# copy, or nothing: point each at the bundle's own file, relatively.
while IFS= read -r link; do
  target=$(readlink "$link")
  case "$target" in /*) ;; *) continue ;; esac
  inside="$root/usr${target#/usr}"
  [ -e "$inside" ] || { echo "make_gpu_bundle: $link -> $target has no copy in the bundle" >&2; exit 1; }
  ln -sfn "$(realpath --relative-to="$(dirname "$link")" "$inside")" "$link"
done < <(find "$root" -type l)

# Only headers, libraries and CMake configs are used; pkg-config files and libpng-config name
# /usr and would point at the host.
rm -rf "$root/usr/share/doc" "$root/usr/share/doc-base" "$root/usr/share/man" \
       "$root/usr/share/lintian" "$root/usr/share/pkgconfig" "$root/usr/lib/x86_64-linux-gnu/pkgconfig" \
       "$root/usr/bin" "$root/usr/src"

cat > "$BUNDLE/bundle.cmake" <<'EOF'
# Initial cache (cmake -C) for building lra_train against the Debian packages unpacked beside
# this file, wherever the folder lies. Also put <this folder>/root/usr first in
# CMAKE_PREFIX_PATH, and at run time <this folder>/root/usr/lib/x86_64-linux-gnu in
# LD_LIBRARY_PATH (libspdlog finds libfmt through it; RUNPATH covers only direct needs).
get_filename_component(_lra_usr "${CMAKE_CURRENT_LIST_DIR}/root/usr" ABSOLUTE)
set(_lra_lib "${_lra_usr}/lib/x86_64-linux-gnu")
set(LRA_BUNDLE_PREFIX "${_lra_usr}" CACHE PATH "Prefix of the unpacked Debian packages")
set(yaml-cpp_DIR "${_lra_lib}/cmake/yaml-cpp" CACHE PATH "")
set(spdlog_DIR "${_lra_lib}/cmake/spdlog" CACHE PATH "")
set(fmt_DIR "${_lra_lib}/cmake/fmt" CACHE PATH "")
set(GTest_DIR "${_lra_lib}/cmake/GTest" CACHE PATH "")
set(CLI11_DIR "${_lra_usr}/share/cmake/CLI11" CACHE PATH "")
set(nlohmann_json_DIR "${_lra_usr}/share/cmake/nlohmann_json" CACHE PATH "")
# PNG and ZLIB come through CMake's find modules, which take these cache entries as found.
set(PNG_PNG_INCLUDE_DIR "${_lra_usr}/include" CACHE PATH "")
set(PNG_LIBRARY_RELEASE "${_lra_lib}/libpng16.so" CACHE FILEPATH "")
set(ZLIB_INCLUDE_DIR "${_lra_usr}/include" CACHE PATH "")
set(ZLIB_LIBRARY_RELEASE "${_lra_lib}/libz.so" CACHE FILEPATH "")
EOF

# The newest glibc / libstdc++ symbol versions the bundle's libraries need: the target machine's
# libc6 and libstdc++6 must be at least that new.
needs() {
  find "$root" -name '*.so.*' -type f -exec objdump -T {} + 2>/dev/null |
    grep -o "$1_[0-9][0-9.]*" | sort -u -V | tail -1
}
{
  echo "# Debian packages unpacked in root/ by scripts/make_gpu_bundle.sh on $(date -u +%Y-%m-%d)"
  echo "# from $(. /etc/os-release && echo "$PRETTY_NAME"), $(dpkg --print-architecture)"
  for deb in "$debs"/*.deb; do
    printf '%s %s sha256:%s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
      "$(sha256sum "$deb" | cut -d' ' -f1)"
  done
  echo "# assumed on the target machine: ${ASSUMED[*]}"
  echo "# left out (not used by the build): ${NOT_NEEDED[*]}"
  echo "# needs at least: $(needs GLIBC) $(needs GLIBCXX) $(needs CXXABI)"
} > "$BUNDLE/MANIFEST.txt"

# The configs must find their files relative to themselves; a leftover absolute /usr path would
# be the host's. CMake's merged-/usr guard is fine: it uses /usr only when the config was loaded
# through a link from /usr itself (`_realOrig "/usr/..."` and the line after its if).
absolute=$(find "$root" -name '*.cmake' -exec awk '
  /"\/usr[\/"]/ && !/_realOrig/ && prev !~ /if\(_realCurr STREQUAL _realOrig\)/ {
    print FILENAME ":" FNR ": " $0 }
  { prev = $0 }' {} +)
if [ -n "$absolute" ]; then
  echo "$absolute" >&2
  echo "make_gpu_bundle: absolute /usr paths left in the CMake configs above" >&2
  exit 1
fi
cat "$BUNDLE/MANIFEST.txt"
echo "make_gpu_bundle: $BUNDLE: $(du -sh "$BUNDLE" | cut -f1) ($(du -sb "$BUNDLE" | cut -f1) bytes," \
     "$(find "$BUNDLE" -type f | wc -l) files)"
