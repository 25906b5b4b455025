#!/usr/bin/env python3
"""Peers of the screening engine, measured on the same names and queries as `stackport bench
screening` (see BENCHMARKS.md and ../shared/eval/screening/README.md for the definitions).

- rapidfuzz baseline: every primary and alias name, normalised (case folded, accents,
  apostrophes and punctuation stripped), deduplicated; per query
  process.extract(query, names, scorer=fuzz.WRatio, processor=None, limit=4*K), names mapped back
  to entities (best score per entity), top K, score = WRatio / 100.
- nomenklatura logic-v2 (OpenSanctions' matcher): candidates = the rapidfuzz baseline's top 50
  entities, each scored with LogicV2.compare on followthemoney entities; ranked by that score.

For each peer the threshold is the lowest one whose FP rate stays within each cap (the one
that maximises recall@1 under that cap), as in the eval README.

Usage: bench-screening-peers.py NAMES.tsv QUERIES.csv EXPECTED.csv [--no-logic-v2] [--limit N]
(NAMES.tsv comes from `stackport bench screening --export-names`.)
"""
import csv
import re
import sys
import time
import unicodedata
from collections import defaultdict

from rapidfuzz import fuzz, process

K = 10
CONFIG = None


def norm(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.casefold().replace("'", "").replace("\u2019", "")
    s = re.sub(r"[^\w\s]", " ", s)
    return " ".join(s.split())


def load(names_tsv, queries_csv, expected_csv):
    names_of = defaultdict(list)
    entity = {}
    with open(names_tsv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            e = row["entity"]
            entity.setdefault(e, {"type": row["type"], "countries": [c for c in row["countries"].split(",") if c], "names": []})
            entity[e]["names"].append(row["name"])
            names_of[norm(row["name"])].append(e)
    with open(queries_csv, newline="", encoding="utf-8") as f:
        queries = list(csv.DictReader(f))
    with open(expected_csv, newline="", encoding="utf-8") as f:
        expected = {r["id"]: (r["family"], [x for x in r["expected_entity"].split("|") if x]) for r in csv.DictReader(f)}
    return names_of, entity, queries, expected


def rapidfuzz_hits(qname, names, names_of, limit):
    res = process.extract(norm(qname), names, scorer=fuzz.WRatio, processor=None, limit=limit)
    best = {}
    for name, score, _ in res:
        for e in names_of[name]:
            if score / 100.0 > best.get(e, -1):
                best[e] = score / 100.0
    return sorted(best.items(), key=lambda kv: -kv[1])


def metrics(results, expected, threshold):
    pos = r1 = neg = fp = 0
    fam = defaultdict(lambda: [0, 0])
    for qid, hits in results.items():
        family, exp = expected[qid]
        hits = [h for h in hits if h[1] >= threshold]
        fam[family][0] += 1
        if not exp:
            neg += 1
            if hits:
                fp += 1
                fam[family][1] += 1
        else:
            pos += 1
            if hits and hits[0][0] in exp:
                r1 += 1
                fam[family][1] += 1
    return r1 / max(pos, 1), fp / max(neg, 1), {k: v[1] / v[0] for k, v in sorted(fam.items())}


def calibrate(results, expected, cap):
    """Lowest threshold whose FP rate is within the cap: try every distinct score."""
    scores = sorted({round(h[1], 6) for hits in results.values() for h in hits[:1]})
    best = None
    for t in scores:
        r, f, fam = metrics(results, expected, t)
        if f <= cap:
            return t, r, f, fam
        best = (t, r, f, fam)
    return best


def report(label, results, expected, qps):
    print(f"\n### {label}: {qps:.1f} queries/s")
    print("| FP cap | threshold | recall@1 | FP rate |")
    print("|---|---|---|---|")
    fams = {}
    for cap in (0.05, 0.02, 0.01):
        t, r, f, fam = calibrate(results, expected, cap)
        fams[cap] = fam
        print(f"| {cap:.0%} | {t:.4f} | {r:.4f} | {f:.4f} |")
    print("per family at the 1% cap:", ", ".join(f"{k} {v:.4f}" for k, v in fams[0.01].items()))


def logic_v2_hits(q, cands, entity):
    global CONFIG
    from followthemoney import model
    from nomenklatura.matching import LogicV2
    from nomenklatura.matching.types import ScoringConfig

    if CONFIG is None:
        CONFIG = ScoringConfig.defaults()

    qt = q.get("type") or ""
    schema = {"individual": "Person", "entity": "Organization", "vessel": "Vessel", "aircraft": "Airplane"}.get(qt, "LegalEntity")
    out = []
    for e, _ in cands:
        info = entity[e]
        cschema = {"individual": "Person", "entity": "Organization", "vessel": "Vessel", "aircraft": "Airplane"}.get(info["type"], "LegalEntity")
        qs = schema
        if cschema in ("Vessel", "Airplane") and qt == "":
            qs = cschema
        qe = model.make_entity(qs)
        qe.id = "query-" + q["id"]
        qe.add("name", q["name"])
        if q.get("country"):
            qe.add("country", q["country"].lower())
        ce = model.make_entity(cschema)
        ce.id = "cand-" + q["id"] + "-" + e
        ce.add("name", info["names"][0])
        for n in info["names"][1:]:
            ce.add("alias", n)
        for c in info["countries"]:
            ce.add("country", c.lower())
        res = LogicV2.compare(qe, ce, CONFIG)
        out.append((e, float(res.score)))
    return sorted(out, key=lambda kv: -kv[1])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    limit = None
    if "--limit" in sys.argv:
        limit = int(sys.argv[sys.argv.index("--limit") + 1])
        args = [a for a in args if a != str(limit)]
    names_of, entity, queries, expected = load(*args[:3])
    if limit:
        queries = queries[:limit]
    names = list(names_of.keys())
    print(f"{len(names)} distinct normalised names, {len(entity)} entities, {len(queries)} queries")

    t = time.perf_counter()
    rf = {q["id"]: rapidfuzz_hits(q["name"], names, names_of, 4 * K)[:K] for q in queries}
    qps = len(queries) / (time.perf_counter() - t)
    report("rapidfuzz WRatio baseline", rf, expected, qps)

    if "--no-logic-v2" not in sys.argv:
        t = time.perf_counter()
        lv = {}
        for q in queries:
            cands = rapidfuzz_hits(q["name"], names, names_of, 200)[:50]
            lv[q["id"]] = logic_v2_hits(q, cands, entity)[:K]
        qps = len(queries) / (time.perf_counter() - t)
        report("nomenklatura logic-v2", lv, expected, qps)


if __name__ == "__main__":
    main()
