#!/usr/bin/python3
"""load_complaints.py: files demonstration complaints into a running simpul-complaints and takes
each one to a different point of its lifecycle, so the inbox, the public list and the tracking
view all have something to show.

  /usr/bin/python3 deploy/demo/load_complaints.py [--addr 127.0.0.1:7102]
      [--key-file var/keys/gateway.key] [--token-tool build/tools/simpul-token]
      [--state-file var/demo/complaints.json] [--quiet]

Needs the registry demo data (deploy/demo/load_demo.py) loaded first: complaints are routed
through the registry's services. Every complaint is filed with an idempotency key of its own,
and the tracking code and secret of each are kept in the state file, so a re-run files nothing
twice and a complaint that exists is left as it is. The complainants are fictitious.
"""

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import simpul_grpc  # noqa: E402
from load_demo import Loader  # noqa: E402  (token minting and logging)

# Each scenario: who files, what, and the steps that take it to its demo state. Step tuples
# are (method, acting token name, request fields); "id" is filled in.
SCENARIOS = [
    {
        "name": "akta-terlambat",
        "caller": "sms",
        "request": {
            "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_SMS",
            "service_id": "akta-kelahiran-padang-pariaman",
            "attributes": [{"code": "application_number", "values": ["1305-AK-2026-000123"]},
                           {"code": "submitted_via", "values": ["loket"]}],
            "title": "Akta kelahiran belum terbit",
            "description": "Saya mengurus akta kelahiran anak di Disdukcapil Padang Pariaman. "
                           "Berkas lengkap diserahkan 6 hari kerja lalu, dijanjikan selesai 1 hari "
                           "kerja, tetapi sampai hari ini akta belum terbit dan petugas tidak "
                           "memberi kepastian.",
            "remedy_requested": "Akta diterbitkan dan ada penjelasan keterlambatan.",
            "location": {"address": "Parit Malintang, Kabupaten Padang Pariaman",
                         "region_code": "13.05"},
            "complainant": {"name": "Rahmat Hidayat", "phone": "+62 812 6600 1234"},
            "confidentiality": "CONFIDENTIALITY_SECRET",
        },
        "steps": [
            ("VerifyComplaint", "pp", {"resolution_class": "normatif",
                                       "note": "Berkas pemohon lengkap; keterlambatan di SIAK."}),
            ("DisposeComplaint", "pp", {"note": "Ke Bidang Pelayanan Pencatatan Sipil."}),
            ("StartWork", "pp", {}),
            ("PostFollowUp", "pp", {"message": "Mohon maaf atas keterlambatan. Akta kelahiran "
                                               "sudah ditandatangani elektronik dan dapat diambil "
                                               "atau dicetak mandiri mulai besok."}),
        ],
    },
    {
        "name": "pungutan-pbg",
        "caller": "public",
        "request": {
            "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_WEB",
            "service_id": "pbg-kota-bogor",
            "title": "Diminta biaya di luar retribusi PBG",
            "description": "Saat konsultasi PBG di Mal Pelayanan Publik, seorang oknum "
                           "menawarkan 'jalur cepat' dengan biaya tambahan di luar retribusi "
                           "resmi dalam SKRD.",
            "remedy_requested": "Oknum ditindak dan proses PBG sesuai standar.",
            "location": {"address": "Mal Pelayanan Publik Kota Bogor", "region_code": "32.71"},
            "complainant": {"name": "Dewi Anggraini", "email": "dewi.anggraini@example.org"},
            "confidentiality": "CONFIDENTIALITY_PUBLIC",
        },
        "steps": [
            ("VerifyComplaint", "bogor", {"resolution_class":
                                          "memerlukan pemeriksaan atau investigasi"}),
            ("DisposeComplaint", "bogor", {}),
            ("StartWork", "bogor", {"note": "Diteruskan juga ke Inspektorat Kota Bogor."}),
        ],
    },
    {
        "name": "blangko-ktp",
        "caller": "public",
        "request": {
            "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_MOBILE_APP",
            "service_id": "ktp-el-padang-pariaman",
            "title": "Blangko KTP-el kosong",
            "description": "Sudah tiga kali datang untuk mencetak KTP-el, selalu dijawab "
                           "blangko habis.",
            "confidentiality": "CONFIDENTIALITY_ANONYMOUS",
        },
        "steps": [
            ("VerifyComplaint", "pp", {"resolution_class": "ringan"}),
            ("DisposeComplaint", "pp", {}),
            ("StartWork", "pp", {}),
            ("PostFollowUp", "pp", {"message": "Blangko sudah tersedia kembali sejak hari ini; "
                                               "silakan datang dengan membawa KK."}),
            ("CompleteComplaint", "pp", {}),
            ("RateComplaint", "complainant", {"rating": 4, "comment": "Cepat ditanggapi."}),
        ],
    },
    {
        "name": "nib-oss",
        "caller": "partner",
        "request": {
            "report_type": "REPORT_TYPE_INFORMATION_REQUEST", "channel": "CHANNEL_PARTNER_SYSTEM",
            "service_id": "nib-umk-kota-bogor",
            "title": "Status NIB usaha mikro",
            "description": "Pelaku usaha menanyakan mengapa NIB belum terbit setelah data "
                           "diisi di OSS.",
            "complainant": {"name": "Agus Salim", "phone": "0251 8321 000"},
        },
        "steps": [],
    },
    {
        "name": "jalan-rusak",
        "caller": "public",
        "request": {
            "report_type": "REPORT_TYPE_ASPIRATION", "channel": "CHANNEL_WEB",
            "target_text": "Dinas PUPR atau kecamatan: jalan rusak di depan kantor camat",
            "description": "Jalan berlubang besar di depan kantor kecamatan sudah dua bulan dan "
                           "membahayakan pengendara motor.",
            "location": {"address": "Jl. Raya Pakuan, Kota Bogor", "region_code": "32.71"},
        },
        "steps": [],  # unrouted: waits for a coordinator
    },
    {
        "name": "kk-kurang-data",
        "caller": "pp-desk",
        "request": {
            "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_WALK_IN",
            "service_id": "kartu-keluarga-padang-pariaman",
            "description": "Nama anggota keluarga salah ketik pada KK baru.",
            "complainant": {"name": "Yusuf Maulana", "phone": "0812 7788 9900"},
            "confidentiality": "CONFIDENTIALITY_SECRET",
        },
        "steps": [
            ("HoldComplaint", "pp", {"message": "Mohon kirim foto KK lama dan akta kelahiran "
                                               "anggota keluarga yang salah ketik."}),
        ],
    },
    {
        "name": "salah-alamat",
        "caller": "sms",
        "request": {
            "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_SMS",
            "service_id": "akta-kelahiran-padang-pariaman",
            "attributes": [{"code": "application_number", "values": ["tidak ada"]},
                           {"code": "submitted_via", "values": ["online"]}],
            "description": "Izin usaha saya di Kota Bogor ditolak OSS tanpa alasan yang jelas.",
            "complainant": {"phone": "+62 813 1111 2222"},
        },
        "steps": [
            ("ForwardComplaint", "pp", {"to_agency_id": "kota-bogor",
                                        "to_unit_id": "dpmptsp-kota-bogor",
                                        "reason": "Perizinan berusaha di Kota Bogor adalah "
                                                  "kewenangan DPMPTSP Kota Bogor."}),
        ],
    },
]

DUPLICATE = {
    "name": "pungutan-pbg-ulang",
    "caller": "public",
    "request": {
        "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_WEB",
        "service_id": "pbg-kota-bogor",
        "description": "Ada oknum menawarkan jalur cepat PBG dengan biaya tambahan.",
        "confidentiality": "CONFIDENTIALITY_ANONYMOUS",
    },
    "duplicate_of": "pungutan-pbg",
}


class ComplaintLoader(Loader):
    def __init__(self, client, token_tool, key_file, state_file, quiet=False):
        super().__init__(client, token_tool, key_file, quiet=quiet, audience="simpul-complaints")
        self.state_file = state_file
        self.state = {}
        if os.path.exists(state_file):
            with open(state_file) as f:
                self.state = json.load(f)

    def save(self):
        os.makedirs(os.path.dirname(self.state_file), exist_ok=True)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=2)
        os.replace(tmp, self.state_file)

    def caller_token(self, name):
        if name == "public" or name == "complainant":
            return None
        if name == "sms":
            return self.channel("sms-1708")
        if name == "partner":
            return self.channel("oss-kota-bogor")
        if name == "pp-desk":
            return self.token("agency_operator", "kab-padang-pariaman")
        if name == "pp":
            return self.admin("kab-padang-pariaman")
        if name == "bogor":
            return self.admin("kota-bogor")
        raise ValueError(name)

    def channel(self, channel):
        return self.token("channel", channel=channel)

    def known(self, name):
        """True when the scenario's complaint exists (tracked with its stored secret)."""
        saved = self.state.get(name)
        if not saved:
            return False
        try:
            self.client.call("TrackComplaint", {"tracking_code": saved["tracking_code"],
                                                "secret": saved["secret"]})
            return True
        except simpul_grpc.CallError as e:
            if e.code_name != "NOT_FOUND":
                raise
            return False  # the data was wiped: file it again

    def file(self, scenario):
        name = scenario["name"]
        if self.known(name):
            self.count("complaint", "present")
            self.log(f"  = complaint {name} ({self.state[name]['tracking_code']}) already filed")
            return None
        request = dict(scenario["request"], idempotency_key=f"demo-{name}")
        filed = self.client.call("FileComplaint", request,
                                 token=self.caller_token(scenario["caller"]))
        self.state[name] = {"tracking_code": filed["tracking_code"], "secret": filed["secret"]}
        self.save()
        self.count("complaint", "filed")
        self.log(f"  + complaint {name} {filed['tracking_code']}")
        return filed

    def run(self):
        for scenario in SCENARIOS:
            if self.file(scenario) is None:
                continue
            saved = self.state[scenario["name"]]
            for method, actor, fields in scenario["steps"]:
                if actor == "complainant":
                    request = dict(fields, tracking_code=saved["tracking_code"],
                                   secret=saved["secret"])
                else:
                    request = dict(fields, id=saved["tracking_code"])
                self.client.call(method, request, token=self.caller_token(actor))
                self.log(f"    > {method}")
        if self.file(DUPLICATE) is not None:
            original = self.state[DUPLICATE["duplicate_of"]]["tracking_code"]
            self.client.call("ArchiveComplaint",
                             {"id": self.state[DUPLICATE["name"]]["tracking_code"],
                              "reason": "ARCHIVE_REASON_DUPLICATE", "duplicate_of": original},
                             token=self.caller_token("bogor"))
            self.log("    > ArchiveComplaint (duplicate)")

    def summary(self):
        c = self.counts.get("complaint", {})
        done = ", ".join(f"{n} {k}" for k, n in sorted(c.items())) or "nothing to do"
        follow = self.state.get("akta-terlambat", {})
        return "\n".join([
            f"Demo complaints in {self.client.addr}: {done} (codes and secrets: "
            f"{os.path.relpath(self.state_file, REPO)})",
            f"  follow one: tracking code {follow.get('tracking_code')} "
            f"secret {follow.get('secret')}",
        ])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--addr", default="127.0.0.1:7102")
    p.add_argument("--key-file", default=os.path.join(REPO, "var", "keys", "gateway.key"))
    p.add_argument("--token-tool", default=os.path.join(REPO, "build", "tools", "simpul-token"))
    p.add_argument("--state-file", default=os.path.join(REPO, "var", "demo", "complaints.json"))
    p.add_argument("--timeout", type=float, default=simpul_grpc.DEFAULT_TIMEOUT)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    try:
        with simpul_grpc.Client(args.addr, timeout=args.timeout) as client:
            loader = ComplaintLoader(client, args.token_tool, args.key_file, args.state_file,
                                     quiet=args.quiet)
            loader.run()
            print(loader.summary())
    except simpul_grpc.CallError as e:
        print("load_complaints: " + e.format(), file=sys.stderr)
        return 1
    except simpul_grpc.SimpulGrpcError as e:
        print(f"load_complaints: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
