#!/usr/bin/env bash
# Prints the path of a nats-server that supports JetStream atomic batch publishing (>= 2.12),
# installing one into the project's tool cache (.tools/bin, git-ignored) with `go install` if
# neither NATS_SERVER_BIN, the cache nor PATH has one. Idempotent: a second run installs nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${CAIRN_NATS_VERSION:-v2.15.2}
min_minor=12
cache="$root/.tools/bin"

ok() { # why: Debian's 2.9 lacks atomic batches, so any nats-server we find must be new enough
  local bin=$1 v
  [ -x "$bin" ] || return 1
  v=$("$bin" --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge "$min_minor" ]; }
}

for cand in "${NATS_SERVER_BIN:-}" "$cache/nats-server" "$(command -v nats-server || true)"; do
  if [ -n "$cand" ] && ok "$cand"; then echo "$cand"; exit 0; fi
done

command -v go >/dev/null || { echo "ensure-nats: go is needed to install nats-server $version" >&2; exit 1; }
mkdir -p "$cache"
# Test processes may run this at once: one installs, the others wait and find its binary. The
# install goes to a directory of its own and is moved in whole, never seen half-written.
exec 9>"$cache/.ensure-nats.lock"
flock -w 900 9 || { echo "ensure-nats: another install holds the lock" >&2; exit 1; }
if ok "$cache/nats-server"; then echo "$cache/nats-server"; exit 0; fi
echo "ensure-nats: installing nats-server $version into $cache (go install)" >&2
staging=$(mktemp -d "$cache/.install.XXXXXX")
GOBIN="$staging" GOFLAGS=-mod=mod go install "github.com/nats-io/nats-server/v2@$version" >&2
mv -f "$staging/nats-server" "$cache/nats-server" && rmdir "$staging"
ok "$cache/nats-server" || { echo "ensure-nats: installed binary does not work" >&2; exit 1; }
echo "$cache/nats-server"
