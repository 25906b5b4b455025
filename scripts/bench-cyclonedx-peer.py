#!/usr/bin/env python3
"""The peer for CycloneDX conformance and validation speed: Python `jsonschema` (Draft 7 with
format assertions, the schema's $refs resolved locally), on the same documents Stackport checks.

    scripts/bench-cyclonedx-peer.py SCHEMA_DIR VECTORS_DIR [SYNTHETIC_PROPOSAL.json [ROUNDS]]

Prints, as JSON: how many valid-*.json it accepts and invalid-*.json it rejects, and the median
and best time to validate the package of the synthetic proposal (`stackport bench proposals
--write FILE` writes it)."""
import json, pathlib, sys, time

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

schema_dir = pathlib.Path(sys.argv[1])
vectors = pathlib.Path(sys.argv[2])
docs = {p.name: json.loads(p.read_text()) for p in schema_dir.glob("*.schema.json")}
bom = docs["bom-1.6.schema.json"]
# The BOM schema refers to its companions by file name; register them under it and their $id.
pairs = [(name, Resource.from_contents(d, default_specification=DRAFT7)) for name, d in docs.items()]
pairs += [(d["$id"], Resource.from_contents(d, default_specification=DRAFT7)) for d in docs.values() if "$id" in d]
registry = Registry().with_resources(pairs)
validator = jsonschema.Draft7Validator(bom, registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)

result = {"valid_accepted": 0, "valid_total": 0, "invalid_rejected": 0, "invalid_total": 0, "disagreements": []}
for p in sorted(vectors.glob("*.json")):
    doc = json.loads(p.read_text())
    ok = not any(True for _ in validator.iter_errors(doc))
    if p.name.startswith("valid-"):
        result["valid_total"] += 1
        result["valid_accepted"] += ok
        if not ok:
            result["disagreements"].append(p.name)
    elif p.name.startswith("invalid-"):
        result["invalid_total"] += 1
        result["invalid_rejected"] += not ok
        if ok:
            result["disagreements"].append(p.name)

if len(sys.argv) > 3:
    package = json.loads(pathlib.Path(sys.argv[3]).read_text())["package"]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        errors = list(validator.iter_errors(package))
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    result["synthetic_package"] = {
        "components": len(package.get("components", [])),
        "errors": len(errors),
        "ms_median": times[len(times) // 2],
        "ms_best": times[0],
        "rounds": rounds,
        "peer": "python jsonschema " + __import__("importlib.metadata").metadata.version("jsonschema"),
    }
print(json.dumps(result, indent=2))
