#!/usr/bin/env bash
# Updates a project's PublicAPI.Unshipped.txt from a build's diagnostics (the analyzer's own API lines, read from the
# compiler's SARIF log), for a deliberate public API change: RS0016 (new public symbol) adds its line, RS0017
# (a declared symbol is gone) adds it as *REMOVED*. Review the diff before committing;
# move lines to PublicAPI.Shipped.txt when a version ships.
# Usage: build/update-public-api.sh src/Core [src/Sqlite ...]
set -euo pipefail
cd "$(dirname "$0")/.."
for project in "$@"; do
  log=$(mktemp --suffix .sarif)
  dotnet build "$project" -c Release -p:TreatWarningsAsErrors=false "-p:ErrorLog=$log%2Cversion=2.1" >/dev/null || true
  python3 - "$log" "$project/PublicAPI.Unshipped.txt" <<'PY'
import json, sys
log, unshipped = sys.argv[1], sys.argv[2]
runs = json.load(open(log))["runs"]
lines = set(open(unshipped).read().splitlines()) if open(unshipped).read() else set()
for run in runs:
    for r in run.get("results", []):
        if r.get("ruleId") == "RS0016":
            lines.add(r["properties"]["customProperties"]["APIName"])
        elif r.get("ruleId") == "RS0017":
            text = r["message"]["text"]
            name = text[text.index("'") + 1:text.rindex("' is part of")]
            lines.add("*REMOVED*" + name)
body = sorted(l for l in lines if l and not l.startswith("#"))
with open(unshipped, "w") as f:
    f.write("#nullable enable\n" + "".join(l + "\n" for l in body))
print(f"{unshipped}: {len(body)} lines")
PY
  rm -f "$log"
done
