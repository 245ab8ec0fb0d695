#!/bin/sh
# Builds the release artifacts the way a release does, unsigned: goreleaser
# in snapshot mode writes a zip per OS/arch, SHA256SUMS and the registry
# manifest into DIST (default dist/). Then it checks them (every zip and the
# manifest listed in SHA256SUMS with the right hash) and lays them out as a
# provider filesystem mirror (packed layout) for both registry hosts:
#   DIST/mirror/registry.terraform.io/tcptune/tcp/terraform-provider-tcp_<v>_<os>_<arch>.zip
#   DIST/mirror/registry.opentofu.org/tcptune/tcp/...
# The acceptance test TestAccRelease_installFromMirror installs from there.
#
#   scripts/release-check.sh [DIST] [all|host]
#
# "all" (make release-check) builds every platform of .goreleaser.yml;
# "host" (make test) only this machine's, from the same configuration with
# its platform block swapped, to keep CI within its time.
set -eu
cd "$(dirname "$0")/.."
dist="${1:-dist}"
targets="${2:-all}"
case "$dist" in /*) ;; *) dist="$PWD/$dist" ;; esac

./scripts/deps.sh goreleaser
goreleaser="$(./scripts/deps.sh path goreleaser)"
"$goreleaser" check

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
config=.goreleaser.yml
case "$targets" in
all) ;;
host)
	goos="$(go env GOOS)" goarch="$(go env GOARCH)"
	case "$goarch" in
	amd64) target="${goos}_amd64_v1" ;;
	arm64) target="${goos}_arm64_v8.0" ;;
	arm) target="${goos}_arm_6" ;;
	*) target="${goos}_${goarch}" ;;
	esac
	config="$tmp/goreleaser-host.yml"
	awk -v t="$target" '
		/# release platforms: begin/ { print "    targets: [" t "]"; skip = 1; next }
		/# release platforms: end/ { skip = 0; next }
		!skip { print }' .goreleaser.yml >"$config"
	grep -q "targets: \[$target\]" "$config" || { echo "release-check: no platform block in .goreleaser.yml" >&2; exit 1; }
	;;
*) echo "usage: $0 [DIST] [all|host]" >&2; exit 2 ;;
esac

start=$(date +%s)
# --snapshot: no tag needed, nothing published; --skip=sign: no GPG key here.
if ! "$goreleaser" release --config "$config" --snapshot --clean --skip=sign >"$tmp/goreleaser.log" 2>&1; then
	cat "$tmp/goreleaser.log" >&2
	echo "release-check: goreleaser failed (log above)" >&2
	exit 1
fi
echo "release-check: goreleaser snapshot ($targets) built in $(($(date +%s) - start)) s"
# goreleaser writes to dist/ (.goreleaser.yml has no dist setting).
if [ "$dist" != "$PWD/dist" ]; then
	rm -rf "$dist"
	mv dist "$dist"
fi
cp "$tmp/goreleaser.log" "$dist/goreleaser.log"

cd "$dist"
version="$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' metadata.json)"
[ -n "$version" ] || { echo "release-check: no version in $dist/metadata.json" >&2; exit 1; }
sums="terraform-provider-tcp_${version}_SHA256SUMS"

# The registry manifest: checksummed by goreleaser (checksum.extra_files); a
# release uploads it (release.extra_files), a snapshot does not, so copy it
# here under its release name and check it against SHA256SUMS.
manifest="terraform-provider-tcp_${version}_manifest.json"
cp ../terraform-registry-manifest.json "$manifest"
grep -q "  $manifest\$" "$sums" || { echo "release-check: $manifest is not in $sums" >&2; exit 1; }
sha256sum --quiet -c "$sums"

zips=$(grep -c '\.zip$' "$sums")
if [ "$targets" = host ] && [ "$zips" != 1 ]; then
	echo "release-check: $zips zips for one platform" >&2
	exit 1
fi
echo "release-check: $zips zips, $manifest and $sums for version $version"

rm -rf mirror
for host in registry.terraform.io registry.opentofu.org; do
	mkdir -p "mirror/$host/tcptune/tcp"
	for z in ./*.zip; do
		ln "$z" "mirror/$host/tcptune/tcp/$(basename "$z")"
	done
done
echo "release-check: provider mirror in $dist/mirror"
