#!/usr/bin/python3
"""load_monitoring.py: loads demonstration survey responses (SKM) and service deliveries into a
running simpul-monitoring, so the dashboards show real figures for the two demo units.

  /usr/bin/python3 deploy/demo/load_monitoring.py [--addr 127.0.0.1:7103]
      [--key-file var/keys/gateway.key] [--token-tool build/tools/simpul-token] [--quiet]

Needs the registry demo data (deploy/demo/load_demo.py) loaded first. The data are generated
from a fixed seed, with fixed idempotency keys, so a re-run applies nothing twice. For each
unit and each month of 2026 so far: 15-40 questionnaires (answers 1-4, now and then an element
left unanswered) and 20-60 applications to its services, most completed within the promised
time, some late, a few still open.
"""

import argparse
import datetime
import os
import random
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import simpul_grpc  # noqa: E402
from load_demo import Loader  # noqa: E402

WIB = datetime.timezone(datetime.timedelta(hours=7))

# unit -> (agency, services with their promised time in hours of work, answer profile)
UNITS = {
    "disdukcapil-padang-pariaman": {
        "agency": "kab-padang-pariaman",
        "services": ["akta-kelahiran-padang-pariaman", "ktp-el-padang-pariaman",
                     "kartu-keluarga-padang-pariaman"],
        "weights": [1, 2, 5, 4],  # answers 1..4: mostly good
        "late_share": 0.12,
    },
    "dpmptsp-kota-bogor": {
        "agency": "kota-bogor",
        "services": ["pbg-kota-bogor", "nib-umk-kota-bogor", "izin-usaha-oss-kota-bogor"],
        "weights": [1, 3, 5, 2],  # answers 1..4: fair
        "late_share": 0.25,
    },
}


def iso(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def months_so_far(now):
    return range(1, now.month + 1) if now.year == 2026 else range(1, 13)


def office_time(rng, year, month, last_day):
    day = rng.randint(1, last_day)
    return datetime.datetime(year, month, day, rng.randint(8, 14), rng.randint(0, 59), tzinfo=WIB)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--addr", default="127.0.0.1:7103")
    p.add_argument("--key-file", default=os.path.join(REPO, "var", "keys", "gateway.key"))
    p.add_argument("--token-tool", default=os.path.join(REPO, "build", "tools", "simpul-token"))
    p.add_argument("--timeout", type=float, default=simpul_grpc.DEFAULT_TIMEOUT)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    now = datetime.datetime.now(WIB) - datetime.timedelta(hours=1)
    totals = {"applied": 0, "repeated": 0}
    try:
        with simpul_grpc.Client(args.addr, timeout=args.timeout) as client:
            loader = Loader(client, args.token_tool, args.key_file, quiet=args.quiet,
                            audience="simpul-monitoring")
            for unit, spec in UNITS.items():
                token = loader.admin(spec["agency"])
                rng = random.Random(f"simpul-demo-{unit}")
                for month in months_so_far(now):
                    first = datetime.datetime(2026, month, 1, tzinfo=WIB)
                    nxt = datetime.datetime(2026 + month // 12, month % 12 + 1, 1, tzinfo=WIB)
                    last_day = (nxt - first).days
                    if month == now.month and now.year == 2026:
                        last_day = now.day
                    responses = []
                    for i in range(rng.randint(15, 40)):
                        answers = [rng.choices([1, 2, 3, 4], spec["weights"])[0] for _ in range(9)]
                        if rng.random() < 0.1:
                            answers[rng.randrange(9)] = 0  # an element left unanswered
                        t = office_time(rng, 2026, month, last_day)
                        if t > now:
                            continue
                        responses.append({"idempotency_key": f"demo-skm-{unit}-{month:02d}-{i:03d}",
                                          "unit_id": unit, "response_time": iso(t),
                                          "answers": answers})
                    deliveries = []
                    for i in range(rng.randint(20, 60)):
                        received = office_time(rng, 2026, month, last_day)
                        if received > now:
                            continue
                        d = {"idempotency_key": f"demo-dlv-{unit}-{month:02d}-{i:03d}",
                             "application_id": f"{unit[:8].upper()}-2026{month:02d}-{i:04d}",
                             "service_id": rng.choice(spec["services"]),
                             "received_time": iso(received)}
                        if rng.random() < spec["late_share"]:
                            done = received + datetime.timedelta(days=rng.randint(8, 20))
                        else:
                            done = received + datetime.timedelta(hours=rng.randint(1, 6))
                        if done < now - datetime.timedelta(days=1) or rng.random() < 0.5:
                            if done < now:
                                d["completed_time"] = iso(done)
                        deliveries.append(d)
                    for method, field, items in (("SubmitSurveyResponses", "responses", responses),
                                                 ("RecordDeliveries", "deliveries", deliveries)):
                        if not items:
                            continue
                        out = client.call(method, {field: items}, token=token)
                        totals["applied"] += int(out.get("applied", 0))
                        totals["repeated"] += int(out.get("repeated", 0))
                    loader.log(f"  {unit} 2026-{month:02d}: {len(responses)} responses, "
                               f"{len(deliveries)} deliveries")
    except simpul_grpc.CallError as e:
        print("load_monitoring: " + e.format(), file=sys.stderr)
        return 1
    except simpul_grpc.SimpulGrpcError as e:
        print(f"load_monitoring: {e}", file=sys.stderr)
        return 1
    print(f"Demo surveys and deliveries in {args.addr}: {totals['applied']} applied, "
          f"{totals['repeated']} already present")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
