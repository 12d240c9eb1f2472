#!/bin/sh
# tools/build-deb.sh [OUTDIR] — what `make deb` runs: builds the Debian package (debian/) out of tree and puts
# clockwerk_VERSION_ARCH.deb (and its -dbgsym, .buildinfo, .changes) in OUTDIR (default build/deb).
#
# The build runs in OUTDIR/src/clockwerk-UPSTREAM, a copy of the project's files: those git tracks plus new
# ones it does not ignore, as they are in the work tree (or, outside a git checkout, every file but build/,
# bin/ and .git/), without tests/e2e/ and tests/chaos/ (scripts run against built programs: nothing of the
# package comes from them, so editing a test does not rebuild it). The work tree gets no debian/clockwerk/ or
# debian/.debhelper/ litter.
# The copy is packed into a reproducible tar (sorted names, fixed times and owners) whose SHA-256, with
# DEB_BUILD_OPTIONS, is the cache key: when the key matches the one of the last build and its .deb is there,
# nothing is rebuilt.
set -eu

out=${1:-build/deb}
version=$(dpkg-parsechangelog -S Version)
upstream=${version%-*}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="$out/clockwerk_${version}_${arch}.deb"

mkdir -p "$out"
list="$out/files.list"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard --deduplicate >"$list.all"
else
    find . \( -path ./build -o -path ./bin -o -path ./.git \) -prune -o -type f -print | sed 's|^\./||' >"$list.all"
fi
# a file git tracks but the work tree deleted is not part of the build
: >"$list"
while IFS= read -r f; do
    case "$f" in tests/e2e/* | tests/chaos/*) continue ;; esac
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "$f" >>"$list"; fi
done <"$list.all"
rm -f "$list.all"

tarball="$out/source.tar"
tar --create --file="$tarball" --verbatim-files-from --files-from="$list" --sort=name --mtime=@0 \
    --owner=0 --group=0 --numeric-owner --format=gnu
key="$(sha256sum <"$tarball" | cut -d' ' -f1) ${DEB_BUILD_OPTIONS:-} profiles:${DEB_BUILD_PROFILES:-}"
if [ -f "$deb" ] && [ "$(cat "$out/cache.key" 2>/dev/null)" = "$key" ]; then
    echo "make deb: $deb is up to date (same sources, same DEB_BUILD_OPTIONS and DEB_BUILD_PROFILES)"
    exit 0
fi

rm -f "$out/cache.key" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
src="$out/src"
rm -rf "$src"
mkdir -p "$src/clockwerk-$upstream"
tar --extract --file="$tarball" --directory="$src/clockwerk-$upstream"
# the copy's files carry the time of the copy, so make sees a consistent tree
find "$src/clockwerk-$upstream" -exec touch -h {} +

(cd "$src/clockwerk-$upstream" && dpkg-buildpackage --build=binary --no-sign -J)
mv "$src"/*.deb "$src"/*.buildinfo "$src"/*.changes "$out"/
rm -rf "$src"
printf '%s\n' "$key" >"$out/cache.key"
echo "make deb: built $deb"
