#!/usr/bin/env bash
# The fleet checks (full tier; docs/fleet.md): the alert rules with promtool (syntax and unit
# tests), the receiver's unit tests, then the end-to-end run of 20 simulated devices against
# Prometheus, the Pushgateway and the receiver on loopback (tests/fleet/fleet_test.py).
# Usage: tests/fleet/run.sh <prefix of the library built with the test hooks, e.g. target/capi>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$(cd "${1:?usage: run.sh <library prefix with lib/ and include/>}" && pwd)
cd "$root"
promtool check rules fleet/prometheus/alerts.yml
promtool check config fleet/prometheus/prometheus.yml
promtool test rules fleet/prometheus/alerts_test.yml
python3 tests/fleet/test_receiver.py
python3 tests/fleet/fleet_test.py --lib "$prefix" --work "$root/target/fleet"
