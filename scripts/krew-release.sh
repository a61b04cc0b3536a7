#!/usr/bin/env bash
# Builds the krew release archive of kubectl-sts for this machine's platform
# and writes its download URL and sha256 into the krew manifest.
#
#   scripts/krew-release.sh [--binary PATH] [--out DIR] [--manifest FILE]
#
#   --binary PATH    package this kubectl-sts instead of building one with
#                    `cargo build --release --locked`
#   --out DIR        where the archive goes (default: target/krew)
#   --manifest FILE  the manifest to update (default: plugin.yaml)
#
# At release time, run it on each platform the manifest lists (linux and darwin,
# amd64 and arm64), upload the archives to the GitHub release named by
# spec.version, and commit the manifest with every platform's sha256 filled in.
# The archive holds kubectl-sts, completions/ (with kubectl_complete-sts), man/,
# README.md and LICENSE when the repository has one; the manifest's `files`
# say which of them krew installs.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
binary=""
out="$root/target/krew"
manifest="$root/plugin.yaml"

usage() {
  sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || usage; binary="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
    --manifest) [ $# -ge 2 ] || usage; manifest="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "krew-release: unknown argument: $1" >&2; usage ;;
  esac
done

fail() {
  echo "krew-release: $*" >&2
  exit 1
}

# Krew names platforms as Go does.
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) fail "unsupported OS $(uname -s): the manifest lists linux and darwin" ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) fail "unsupported architecture $(uname -m): the manifest lists amd64 and arm64" ;;
esac

[ -f "$manifest" ] || fail "no manifest at $manifest"

# The manifest's version must be the crate's: the tag, URL and store path follow it.
crate_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)"
[ -n "$crate_version" ] || fail "no version in $root/Cargo.toml"
tag="v$crate_version"
manifest_version="$(sed -n 's/^  version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$manifest" | head -n 1)"
[ "$manifest_version" = "$tag" ] ||
  fail "spec.version in $manifest is '$manifest_version' but Cargo.toml says $crate_version: set spec.version (and the store path in caveats) to $tag"
homepage="$(sed -n 's/^  homepage: *//p' "$manifest" | head -n 1)"
case "$homepage" in
  https://*) ;;
  *) fail "spec.homepage in $manifest is not an https URL: '$homepage'" ;;
esac

if [ -z "$binary" ]; then
  echo "krew-release: cargo build --release --locked" >&2
  (cd "$root" && cargo build --release --locked)
  binary="$root/target/release/kubectl-sts"
fi
[ -x "$binary" ] || fail "$binary is not an executable"

name="kubectl-sts-$os-$arch.tar.gz"
uri="$homepage/releases/download/$tag/$name"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/kubectl-sts"
chmod 0755 "$stage/kubectl-sts"
cp -R "$root/completions" "$stage/completions"
cp -R "$root/man" "$stage/man"
cp "$root/README.md" "$stage/README.md"
entries=(kubectl-sts completions man README.md)
if [ -f "$root/LICENSE" ]; then
  cp "$root/LICENSE" "$stage/LICENSE"
  entries+=(LICENSE)
fi

mkdir -p "$out"
archive="$(cd "$out" && pwd)/$name"
# With GNU tar the archive is byte-for-byte reproducible from the same inputs.
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' \
    -C "$stage" -cf - "${entries[@]}" | gzip -n >"$archive"
else
  tar -C "$stage" -cf - "${entries[@]}" | gzip -n >"$archive"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sum="$(sha256sum "$archive" | cut -d ' ' -f 1)"
else
  sum="$(shasum -a 256 "$archive" | cut -d ' ' -f 1)"
fi

# Rewrite uri and sha256 of the one platform entry selecting this os/arch
# (entries are "- selector: matchLabels: os, arch" followed by uri and sha256).
updated="$(mktemp)"
if ! awk -v os="$os" -v arch="$arch" -v uri="$uri" -v sum="$sum" '
  /^  - selector:/ { cur_os = ""; cur_arch = "" }
  /^        os: / { cur_os = $2 }
  /^        arch: / { cur_arch = $2 }
  cur_os == os && cur_arch == arch && /^    uri: / { print "    uri: " uri; u++; next }
  cur_os == os && cur_arch == arch && /^    sha256: / { print "    sha256: \"" sum "\""; s++; next }
  { print }
  END { if (u != 1 || s != 1) exit 3 }
' "$manifest" >"$updated"; then
  rm -f "$updated"
  fail "$manifest has no single platform entry with os: $os and arch: $arch (each with one uri and one sha256)"
fi
cat "$updated" >"$manifest"
rm -f "$updated"

echo "$archive"
echo "krew-release: $os/$arch: sha256 $sum" >&2
echo "krew-release: wrote uri and sha256 for $os/$arch into $manifest; upload the archive as $uri" >&2
