#!/usr/bin/env bash
# `lint`: tofu fmt -check and tofu validate; `test`: tofu test against the mocked provider.
# OpenTofu and the OpenStack provider come from scripts/ensure-tofu.sh (built once into .tools/);
# the provider is installed from that local mirror only, so nothing here needs a registry.
set -euo pipefail
infra=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$infra/.." && pwd)
what=${1:-test}
tofu=$(bash "$root/scripts/ensure-tofu.sh")

export TF_DATA_DIR="$root/.tools/tofu-data/infra" TF_CLI_CONFIG_FILE="$root/.tools/tofu.rc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
cat > "$TF_CLI_CONFIG_FILE" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$root/.tools/tofu-plugins"
    include = ["registry.opentofu.org/terraform-provider-openstack/openstack"]
  }
}
RC

cd "$infra"
color=()
[ -t 1 ] || color=(-no-color)
init_log=$(mktemp)
trap 'rm -f "$init_log"' EXIT
# The lock file it writes names the locally built provider's hashes: git-ignored (README), and
# written anew each time, since a provider rebuilt into .tools/ (another Go) hashes differently.
rm -f "$infra/.terraform.lock.hcl"
"$tofu" init "${color[@]}" -backend=false -input=false >"$init_log" 2>&1 || { cat "$init_log" >&2; exit 1; }
case "$what" in
  lint)
    "$tofu" fmt -check -recursive -diff
    "$tofu" validate "${color[@]}"
    ;;
  test)
    "$tofu" test "${color[@]}"
    ;;
  *) echo "check.sh: lint or test, not $what" >&2; exit 2 ;;
esac
