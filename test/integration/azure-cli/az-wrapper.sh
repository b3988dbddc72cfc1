#!/usr/bin/env bash
# Stands in front of the real `az` ($REAL_AZ) for test/integration/azure-cli.test.ts and passes
# every command through, with one exception. Debian's azure-cli 2.45 package cannot run
# `az webapp hybrid-connection add` against any cloud: it pairs the CLI with a newer Relay SDK
# ("cannot import name 'RelayManagementClient'"). When, and only when, the real command fails
# with that error, this does what the command does with `az rest` (find the namespace, read the
# hybrid connection's endpoint, list the defaultSender keys, PUT the app's hybrid connection),
# and writes why to $AZ_WRAPPER_NOTES so that the test can say so. Any other failure stays one.
set -euo pipefail

if [[ "${1:-} ${2:-} ${3:-}" != "webapp hybrid-connection add" ]]; then exec "$REAL_AZ" "$@"; fi

err=$(mktemp)
trap 'rm -f "$err"' EXIT
if "$REAL_AZ" "$@" 2>"$err"; then exit 0; fi
if ! grep -q "cannot import name 'RelayManagementClient'" "$err"; then cat "$err" >&2; exit 1; fi
echo "az webapp hybrid-connection add: Debian's azure-cli package cannot run it (ImportError: cannot import name 'RelayManagementClient'); attached with az rest instead" >>"$AZ_WRAPPER_NOTES"

shift 3
while (($#)); do
  case "$1" in
    -g | --resource-group) group=$2; shift 2 ;;
    -n | --name) app=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    --hybrid-connection) hc=$2; shift 2 ;;
    -o | --output) shift 2 ;;
    *) echo "az-wrapper: unexpected argument $1" >&2; exit 2 ;;
  esac
done
relay='api-version=2021-11-01'
ns_id=$("$REAL_AZ" rest --url "/subscriptions/{subscriptionId}/providers/Microsoft.Relay/namespaces?$relay" \
  --query "value[?name=='$namespace'].id | [0]" -o tsv)
[[ -n "$ns_id" ]] || { echo "Azure Service Bus Relay namespace $namespace was not found." >&2; exit 3; }
hc_id="$ns_id/hybridConnections/$hc"
endpoint=$("$REAL_AZ" rest --url "$hc_id?$relay" --query properties.userMetadata -o tsv |
  python3 -c 'import json,sys; print(next(m["value"] for m in json.load(sys.stdin) if m["key"] == "endpoint"))')
key=$("$REAL_AZ" rest --method post --url "$hc_id/authorizationRules/defaultSender/listKeys?$relay" --query primaryKey -o tsv)
body=$(python3 -c 'import json,sys; ns,hc,uri,ep,key=sys.argv[1:]; host,port=ep.rsplit(":",1); print(json.dumps({"properties": {
  "serviceBusNamespace": ns, "relayName": hc, "relayArmUri": uri, "hostname": host, "port": int(port),
  "sendKeyName": "defaultSender", "sendKeyValue": key, "serviceBusSuffix": ".servicebus.windows.net"}}))' \
  "$namespace" "$hc" "$hc_id" "$endpoint" "$key")
"$REAL_AZ" rest --method put -o none \
  --url "/subscriptions/{subscriptionId}/resourceGroups/$group/providers/Microsoft.Web/sites/$app/hybridConnectionNamespaces/$namespace/relays/$hc?api-version=2022-03-01" \
  --body "$body"
