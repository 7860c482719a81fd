#!/usr/bin/env bash
# CLI checks with redis-cli against the real binary (filled in with the server).
set -euo pipefail
echo "cli checks: none yet"
