#!/usr/bin/env bash
# Removes the Palisade agent from this host: stops the service, removes the nftables table
# inet palisade, the program files, the unit and the state (keep the host identity and
# activation with --keep-state). Running this script is the confirmation.
# See docs/deployment.md, "Uninstall".
set -euo pipefail
agent=/opt/palisade-agent/current/palisade-agent
if [[ ! -x "$agent" ]]; then
  echo "palisade-agent uninstall: $agent is missing; nothing to uninstall here" >&2
  exit 1
fi
exec "$agent" uninstall --yes "$@"
