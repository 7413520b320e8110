#!/usr/bin/env python3
"""bench/capacity: Simpul's capacity plan for Indonesia (issue #18 point 6). Not part of CI.

1. A model of the nation's load (NATION below: every figure with its source or stated as an
   assumption) gives the yearly volume of each kind of call, the peak-hour rate of each and the
   mix of the peak hour.
2. A load run on this machine backs the per-call costs: build/bench/simpul-soak runs the whole
   system as deploy/run lays it out (Redis with AOF and ACL users, internal mutual TLS, the
   three services and the gateway) with that mix, at --fraction of the national peak-hour rate,
   with the gateway's read cache off (so every registry read reaches the registry, as reads
   spread over a million services would), and prints each process's CPU per call and the Redis
   memory the run added per key family.
3. From those measured figures: cores of each process at the national peak and at a surge
   (--surge x the peak), replicas, the Redis topology, and memory per year of data.

Writes var/bench/capacity.{md,json} and prints the markdown.

  bench/capacity                         # 3 minutes at the national peak hour (fraction 1.0)
  bench/capacity --fraction 0.5 --minutes 5
  bench/capacity --from var/bench/capacity-soak.txt   # recompute from a saved soak output
"""

import argparse
import datetime
import json
import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---- the nation ------------------------------------------------------------------------------
# Public figures (shared/docs/domain.md section 6) and stated assumptions. Every volume is per
# year; the assumptions are deliberately high (a design load, not a forecast).
NATION = {
    "provinces": 38,                 # public figure
    "regencies_and_cities": 514,     # public figure (416 regencies, 98 cities)
    "districts": 7300,               # public figure (about 7,300 kecamatan)
    "villages": 83000,               # public figure (about 83,000 desa and kelurahan)
    # Service units: "tens of thousands" (domain.md); the design counts every village office
    # as a unit besides the regional offices, clinics, district offices and the central
    # agencies' local offices: 150,000 units.
    "service_units": 150000,
    "services_per_unit": 6,          # assumption: 900,000 services, each with a standard
    # Public-service transactions a year: assumption, about 3.5 per resident (280 million).
    "transactions": 1_000_000_000,
    # Registry reads: one uncached GetCurrentStandard per transaction by the agency system that
    # serves it (worst case: the client library's cache would absorb most of them).
    "registry_reads_per_transaction": 1.0,
    # Public look-ups on the web front: 100 million page views a year, each one search and one
    # standard (counted as two reads).
    "public_page_views": 100_000_000,
    "reads_per_page_view": 2,
    # Complaints: SP4N-LAPOR! had received 600,000 complaints in all by 2020 (domain.md); the
    # design takes 5 million a year, every channel of every agency filing into Simpul.
    "complaints": 5_000_000,
    # Each complaint: verify, dispose, start work, a follow-up, complete (5 officer actions;
    # the mixed load's lifecycle) and 3 tracking reads by the complainant (counted as reads).
    "actions_per_complaint": 5,
    "tracking_reads_per_complaint": 3,
    # Survey responses (SKM): one in ten transactions answers the survey: 100 million a year.
    "survey_response_rate": 0.1,
    # Registry writes: every standard reviewed once a year (Permenpan-RB 15/2014 asks for a
    # periodic review), one update each.
    "registry_writes_per_service": 1,
    # The peak hour: 8 service hours a working day; the busiest hour carries 2.5 x an average
    # service hour (assumption: the Monday-morning queue).
    "service_hours_per_day": 8,
    "peak_hour_factor": 2.5,
}


def working_days(year=2026):
    """Monday-Friday of `year` minus the holidays and collective leave in deploy/holidays."""
    with open(os.path.join(ROOT, "deploy/holidays", f"{year}.json")) as f:
        off = {d["date"] for d in json.load(f)["days"]}
    day = datetime.date(year, 1, 1)
    n = 0
    while day.year == year:
        if day.weekday() < 5 and day.isoformat() not in off:
            n += 1
        day += datetime.timedelta(days=1)
    return n


def national_load(nation, days):
    """Yearly volumes and peak-hour calls/s of each kind of the mixed load."""
    services = nation["service_units"] * nation["services_per_unit"]
    yearly = {
        "reads": nation["transactions"] * nation["registry_reads_per_transaction"]
        + nation["public_page_views"] * nation["reads_per_page_view"]
        + nation["complaints"] * nation["tracking_reads_per_complaint"],
        "filings": nation["complaints"],
        "actions": nation["complaints"] * nation["actions_per_complaint"],
        "surveys": nation["transactions"] * nation["survey_response_rate"],
        "writes": services * nation["registry_writes_per_service"],
    }
    hours = days * nation["service_hours_per_day"]
    peak = {k: v / hours / 3600 * nation["peak_hour_factor"] for k, v in yearly.items()}
    return services, yearly, peak


# ---- the load run ----------------------------------------------------------------------------

def run_soak(args, rate, mix):
    binary = os.path.join(args.build, "bench/simpul-soak")
    argv = [binary, "--minutes", str(args.minutes), "--rate", f"{rate:.1f}",
            "--mix", ",".join(f"{k}={v:.5f}" for k, v in mix.items()),
            "--services", str(args.services), "--watch-streams", "8",
            "--gateway-flag=--read_cache=false"]
    print("bench/capacity: " + " ".join(argv), file=sys.stderr, flush=True)
    out = subprocess.run(argv, capture_output=True, text=True)
    sys.stderr.write(out.stdout[-6000:])
    if "costs over" not in out.stdout:
        raise SystemExit(f"simpul-soak failed ({out.returncode}): {out.stderr[-3000:]}")
    return out.stdout


def parse_soak(text):
    cpu = {m[0]: (float(m[1]), float(m[2]))
           for m in re.findall(r"^cpu (\S+)\s+([\d.]+) us/call\s+([\d.]+)% of a core", text, re.M)}
    memory = {m[0]: {"bytes": int(m[1]), "lasting_added": int(m[2]),
                     "expiring_added": int(m[3]), "ttl_s": int(m[4])}
              for m in re.findall(r"^memory (\S+)\s+(-?\d+) bytes\s+([+-]\d+) lasting\s+"
                                  r"([+-]\d+) expiring ttl (\d+) s", text, re.M)}
    acked = dict((k, int(v)) for k, v in re.findall(r"(filings|actions|surveys|reads|writes) (\d+)",
                                                     re.search(r"^acked .*$", text, re.M).group(0)))
    head = re.search(r"costs over (\d+) s, (\d+) acknowledged calls \(([\d.]+)/s\)", text)
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s", text, re.M)
    errors = re.search(r"errors: (\d+)", text)
    return {"cpu": cpu, "memory": memory, "acked": acked, "seconds": int(head.group(1)),
            "calls": int(head.group(2)), "rate": float(head.group(3)),
            "minutes": [{"minute": int(r[0]), "calls": int(r[1]), "errors": int(r[2]),
                         "shed": int(r[3]), "p50_ms": float(r[4]), "p99_ms": float(r[5])}
                        for r in rows],
            "errors": int(errors.group(1)) if errors else None}


# ---- the plan --------------------------------------------------------------------------------

GiB = 1024 ** 3
# Redis memory families and what each holds per item of the load.
FAMILIES = {
    "simpul:cmp:{c}": ("complaints (cases, history, indexes, events, idempotency)", "filings"),
    "simpul:mon:{m}": ("monitoring (survey aggregates, idempotency, deliveries)", "surveys"),
    "simpul:gw:{a}": ("gateway audit trail", "mutating"),
}
# A replica: 2 cores; planned at most 60% busy at the surge so one replica can fail.
CORES_PER_REPLICA = 2
TARGET_UTILISATION = 0.6
# Above this dataset a Redis primary's fork (AOF rewrite), a replica's full resync and a restart
# take minutes: the point to shard (or archive) rather than grow.
SHARD_AT_BYTES = 25 * GiB


def plan(args, soak, services, yearly, peak):
    total_peak = sum(peak.values())
    surge = total_peak * args.surge
    lines = []
    out = {"peak_calls_per_s": total_peak, "surge_calls_per_s": surge, "processes": {},
           "memory_per_year": {}}
    lines.append(f"National peak hour: **{total_peak:,.0f} calls/s** "
                 f"({', '.join(f'{k} {v:,.1f}' for k, v in peak.items())}); sized for a surge of "
                 f"{args.surge:g} x that: {surge:,.0f} calls/s.")
    lines.append("")
    lines.append("| process | CPU µs per call (measured) | cores at peak | cores at surge | "
                 "replicas (2 cores each) |")
    lines.append("|---|---|---|---|---|")
    for name in ("gateway", "registry", "complaints", "monitoring", "redis"):
        us, _ = soak["cpu"].get(name, (0.0, 0.0))
        at_peak = us * total_peak / 1e6
        at_surge = us * surge / 1e6
        if name == "redis":
            replicas = "one primary + one replica per service (below)"
        else:
            n = max(2, math.ceil(at_surge / (CORES_PER_REPLICA * TARGET_UTILISATION)))
            replicas = f"{n} (at least 2, in two zones)"
        out["processes"][name] = {"cpu_us_per_call": us, "cores_peak": at_peak,
                                  "cores_surge": at_surge}
        lines.append(f"| {name} | {us:,.0f} | {at_peak:.2f} | {at_surge:.2f} | {replicas} |")
    all_us = soak["cpu"].get("all", (0.0, 0.0))[0]
    lines.append(f"| all | {all_us:,.0f} | {all_us * total_peak / 1e6:.2f} | "
                 f"{all_us * surge / 1e6:.2f} | |")
    lines.append("")
    # Memory per year, from what the run added per item.
    acked = soak["acked"]
    acked["mutating"] = acked["filings"] + acked["actions"] + acked["surveys"] + acked["writes"]
    yearly_items = dict(yearly)
    yearly_items["mutating"] = (yearly["filings"] + yearly["actions"] + yearly["surveys"]
                                + yearly["writes"])
    lines.append("| Redis data | bytes per item kept (measured) | bytes per item expiring "
                 "(time to live) | items a year | memory after a year |")
    lines.append("|---|---|---|---|---|")
    year_s = 365 * 86400
    for family, (what, kind) in FAMILIES.items():
        m = soak["memory"].get(family, {"lasting_added": 0, "expiring_added": 0, "ttl_s": 0})
        n = acked.get(kind) or 0
        lasting = m["lasting_added"] / n if n else 0
        expiring = m["expiring_added"] / n if n else 0
        # Expiring data holds at most its time to live's worth of items (a year at most).
        year = (lasting + expiring * min(m["ttl_s"], year_s) / year_s) * yearly_items[kind]
        out["memory_per_year"][family] = {"bytes_per_item_kept": lasting,
                                          "bytes_per_item_expiring": expiring,
                                          "ttl_s": m["ttl_s"], "items": yearly_items[kind],
                                          "bytes": year}
        unit = {"filings": "complaint", "surveys": "survey response",
                "mutating": "audited call"}[kind]
        ttl = f"{m['ttl_s'] / 86400:,.0f} days" if m["ttl_s"] else "–"
        lines.append(f"| {what} | {lasting:,.0f} per {unit} | {expiring:,.0f} ({ttl}) | "
                     f"{yearly_items[kind]:,.0f} | {year / GiB:,.1f} GiB |")
    reg_bytes = soak["memory"].get("simpul:reg:{r}", {"bytes": 0})["bytes"]
    per_service = reg_bytes / args.services if args.services else 0
    registry_total = per_service * services
    out["memory_per_year"]["simpul:reg"] = {"bytes_per_service": per_service,
                                            "services": services, "bytes": registry_total}
    lines.append(f"| registry (units, services, standards, indexes; not per year) | "
                 f"{per_service:,.0f} per service | – | {services:,} services | "
                 f"{registry_total / GiB:,.1f} GiB in all |")
    lines.append("")
    cmp_year = out["memory_per_year"]["simpul:cmp:{c}"]["bytes"]
    years = SHARD_AT_BYTES / cmp_year if cmp_year else float("inf")
    out["complaints_years_to_shard"] = years
    lines.append(f"The complaint store reaches {SHARD_AT_BYTES // GiB} GiB, the size at which this "
                 f"plan shards it by tracking-code prefix (or archives closed cases), after "
                 f"**{years:,.1f} years** at this volume.")
    return "\n".join(lines), out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="the load run's rate as a fraction of the national peak hour")
    ap.add_argument("--surge", type=float, default=4.0,
                    help="size for this multiple of the peak hour")
    ap.add_argument("--minutes", type=int, default=3)
    ap.add_argument("--services", type=int, default=200,
                    help="units and services seeded for the run (reads rotate over them)")
    ap.add_argument("--from", dest="saved", help="a saved simpul-soak output to plan from")
    ap.add_argument("--out", default=os.path.join(ROOT, "var/bench/capacity"))
    args = ap.parse_args()

    days = working_days()
    services, yearly, peak = national_load(NATION, days)
    total = sum(peak.values())
    mix = {k: v / total for k, v in peak.items()}
    rate = total * args.fraction
    if args.saved:
        with open(args.saved) as f:
            text = f.read()
    else:
        text = run_soak(args, rate, mix)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out + "-soak.txt", "w") as f:
            f.write(text)
    soak = parse_soak(text)
    body, figures = plan(args, soak, services, yearly, peak)
    p99s = [m["p99_ms"] for m in soak["minutes"]]
    head = [f"{days} working days in 2026 (deploy/holidays), "
            f"{NATION['service_hours_per_day']} service hours each; "
            f"{NATION['service_units']:,} service units, {services:,} services.",
            "",
            "| kind | a year | peak hour calls/s | share |", "|---|---|---|---|"]
    for k in yearly:
        head.append(f"| {k} | {yearly[k]:,.0f} | {peak[k]:,.1f} | {100 * mix[k]:.1f}% |")
    head += ["", f"Load run on this machine ({os.cpu_count()} cores): {soak['rate']:,.1f} calls/s "
             f"for {soak['seconds']} s (fraction {args.fraction:g} of the national peak hour, "
             f"the peak hour's mix, gateway read cache off, {args.services} services seeded, "
             f"8 watch streams): {soak['calls']:,} calls, errors {soak['errors']}, "
             f"p99 per minute {', '.join(f'{p:.0f}' for p in p99s)} ms.", ""]
    md = "\n".join(head) + "\n" + body + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".md", "w") as f:
        f.write(md)
    with open(args.out + ".json", "w") as f:
        json.dump({"nation": NATION, "working_days": days, "yearly": yearly, "peak": peak,
                   "mix": mix, "fraction": args.fraction, "surge": args.surge, "soak": soak,
                   "plan": figures}, f, indent=2)
    print(md)


if __name__ == "__main__":
    main()
