#!/usr/bin/env bash
# Prints the path of an OpenTofu binary and makes sure the OpenStack provider that infra/ uses
# sits in a local provider mirror beside it, building both from the Go module proxy into the
# project's tool cache (.tools/, git-ignored) when they are missing. Idempotent: a second run
# builds nothing. Why build: this machine reaches the Go module proxy but no provider registry,
# and `tofu validate` / `tofu test` need the provider's schema (infra/README.md).
#   .tools/bin/tofu
#   .tools/tofu-plugins/registry.opentofu.org/terraform-provider-openstack/openstack/<v>/linux_amd64/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tofu_version=${CAIRN_TOFU_VERSION:-v1.10.10}
provider_version=${CAIRN_OPENSTACK_PROVIDER_VERSION:-v3.4.0}
bin="$root/.tools/bin"
plugins="$root/.tools/tofu-plugins"
command -v go >/dev/null || { echo "ensure-tofu: go is needed to build OpenTofu" >&2; exit 1; }
provider_dir="$plugins/registry.opentofu.org/terraform-provider-openstack/openstack/${provider_version#v}/$(go env GOOS)_$(go env GOARCH)"
mkdir -p "$bin" "$provider_dir"

stamp="$bin/.tofu-version"
if [ ! -x "$bin/tofu" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$tofu_version" ]; then
  # `go install tofu@version` refuses: OpenTofu's go.mod has a replace directive, which only
  # applies when it is the main module, so build inside a copy of the module instead.
  echo "ensure-tofu: building OpenTofu $tofu_version into $bin (a few minutes)" >&2
  src=$(GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$tofu_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { echo "ensure-tofu: module download of OpenTofu $tofu_version failed" >&2; exit 1; }
  work="$root/.tools/src/opentofu-$tofu_version"
  rm -rf "$work" && mkdir -p "$(dirname "$work")" && cp -r "$src" "$work" && chmod -R u+w "$work"
  # -buildvcs=false: the copy sits inside our git checkout, and stamping would ask git about it.
  (cd "$work" && go build -trimpath -buildvcs=false -o "$bin/tofu" ./cmd/tofu) >&2
  rm -rf "$work"
  echo "$tofu_version" > "$stamp"
fi

if [ ! -x "$provider_dir/terraform-provider-openstack" ]; then
  echo "ensure-tofu: building terraform-provider-openstack $provider_version into $provider_dir" >&2
  GOBIN="$provider_dir" GOFLAGS="-mod=mod -trimpath" go install "github.com/terraform-provider-openstack/terraform-provider-openstack/v3@$provider_version" >&2
fi

"$bin/tofu" version >/dev/null 2>&1 || { echo "ensure-tofu: built tofu does not run" >&2; exit 1; }
echo "$bin/tofu"
