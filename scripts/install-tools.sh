#!/usr/bin/env bash
# Installs the tools the tests need, pinned, into bin/ (and shellcheck, jq
# and curl from Debian): the Pulumi CLI built from the module proxy at the version go.mod
# pins for the SDK, and staticcheck at the version tools/go.mod pins.
# Built binaries are cached under ${XDG_CACHE_HOME:-~/.cache}/slipway so a
# fresh clone on the same machine skips the 7-minute CLI build.
set -euo pipefail
cd "$(dirname "$0")/.."

sdk_version=$(awk '$1 == "github.com/pulumi/pulumi/sdk/v3" { print $2 }' go.mod)
pkg_version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' tools/go.mod)
staticcheck_version=$(awk '$1 == "honnef.co/go/tools" { print $2 }' tools/go.mod)
if [ -z "$sdk_version" ] || [ "$sdk_version" != "$pkg_version" ]; then
  echo "install-tools: go.mod pins pulumi sdk ${sdk_version:-nothing} but tools/go.mod pins pkg ${pkg_version:-nothing}; pin both to the same version" >&2
  exit 1
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/slipway/bin"
mkdir -p bin "$cache"

# build NAME VERSION PACKAGE [LDFLAGS]: bin/NAME from the cache, or built.
build() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:-}
  local cached="$cache/$name-$version"
  if [ ! -x "$cached" ]; then
    echo "install-tools: building $name $version into $cache (first time on this machine)"
    (cd tools && go build -trimpath -ldflags "$ldflags" -o "$cached.tmp" "$pkg")
    mv "$cached.tmp" "$cached"
  fi
  cp "$cached" "bin/$name.tmp"
  mv "bin/$name.tmp" "bin/$name"
}

if [ "$(bin/pulumi version 2>/dev/null || true)" != "$sdk_version" ]; then
  echo "install-tools: the Pulumi CLI build takes several minutes when it is not cached"
  build pulumi "$sdk_version" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$sdk_version"
fi
echo "install-tools: bin/pulumi $(bin/pulumi version)"

if ! bin/staticcheck -version 2>/dev/null | grep -q "${staticcheck_version#v}"; then
  build staticcheck "$staticcheck_version" honnef.co/go/tools/cmd/staticcheck
fi
echo "install-tools: bin/staticcheck $(bin/staticcheck -version)"

# From Debian: shellcheck (actionlint runs it on the workflow scripts),
# and jq and curl, which the image job's script uses and a test runs.
missing=()
for tool in shellcheck jq curl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-tools: installing ${missing[*]} from Debian"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "install-tools: $(shellcheck --version | sed -n 2p), $(jq --version), $(curl --version | head -n 1 | cut -d' ' -f1-2)"
