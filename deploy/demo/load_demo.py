#!/usr/bin/python3
"""load_demo.py: loads demonstration data into a running simpul-registry, idempotently.

  /usr/bin/python3 deploy/demo/load_demo.py [--addr 127.0.0.1:7101]
      [--key-file var/keys/gateway.key] [--token-tool build/tools/simpul-token] [--quiet]

What it loads (all through the public gRPC API, discovered by server reflection with the same
client as tools/simpul-call):
- agencies: Pemerintah Kabupaten Padang Pariaman (13.05), Pemerintah Kota Bogor (32.71) and
  KemenPANRB (a ministry, no region);
- two service units: Disdukcapil Kabupaten Padang Pariaman and DPMPTSP / Mal Pelayanan Publik
  Kota Bogor, three services each;
- for every service a standard with all 14 components, taken through DRAFT ->
  StartPublicConsultation -> RecordConsultation -> AdoptStandardVersion;
  * kartu-keluarga-padang-pariaman also has a DRAFT v2 in progress (invisible to the public);
  * izin-usaha-oss-kota-bogor was adopted in early 2025, citing PP 5/2021, and is now overdue
    for its 12-monthly review (PP 5/2021 has since been replaced by PP 28/2025);
- an adopted and published maklumat pelayanan for each unit.

Re-running changes nothing: objects that exist are skipped (ALREADY_EXISTS), and a standard or
maklumat left half-way by an interrupted run is taken further from the state it is in.
Decree numbers and the names of signing officials are fictitious; the cited regulations are
real. Tokens are minted with simpul-token from the gateway's identity key: a platform admin for
the agencies, an agency admin of each agency for everything else.
"""

import argparse
import datetime
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.join(REPO, "tools"))
import simpul_grpc  # noqa: E402

SUBJECT = "demo-loader"

# Ids other tools (tests, deploy/run examples) rely on.
SCORE5_SERVICE = "akta-kelahiran-padang-pariaman"     # adopted, consulted, published, fresh
OVERDUE_SERVICE = "izin-usaha-oss-kota-bogor"         # adopted > 12 months ago
DRAFT_V2_SERVICE = "kartu-keluarga-padang-pariaman"   # adopted v1 + DRAFT v2
SEARCH_KEYWORD = "akta kelahiran"

TODAY = datetime.date.today()


def days_ago(n):
    return TODAY - datetime.timedelta(days=n)


def date_msg(d):
    return {"year": d.year, "month": d.month, "day": d.day}


# ---------------------------------------------------------------------------------------------
# Agencies and units

AGENCIES = [
    {"id": "kab-padang-pariaman", "name": "Pemerintah Kabupaten Padang Pariaman",
     "kind": "AGENCY_KIND_REGENCY", "region_code": "13.05",
     "website": "https://padangpariamankab.go.id"},
    {"id": "kota-bogor", "name": "Pemerintah Kota Bogor", "kind": "AGENCY_KIND_CITY",
     "region_code": "32.71", "website": "https://kotabogor.go.id"},
    {"id": "kemenpanrb",
     "name": "Kementerian Pendayagunaan Aparatur Negara dan Reformasi Birokrasi",
     "kind": "AGENCY_KIND_MINISTRY", "website": "https://www.menpan.go.id"},
]

UNITS = [
    {"id": "disdukcapil-padang-pariaman", "agency_id": "kab-padang-pariaman",
     "name": "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Padang Pariaman",
     "time_zone": "TIME_ZONE_WIB", "region_code": "13.05",
     "address": "Kawasan Perkantoran Pemerintah Kabupaten Padang Pariaman, Parit Malintang, "
                "Kabupaten Padang Pariaman, Sumatera Barat"},
    {"id": "dpmptsp-kota-bogor", "agency_id": "kota-bogor",
     "name": "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu (Mal Pelayanan Publik) "
             "Kota Bogor",
     "time_zone": "TIME_ZONE_WIB", "region_code": "32.71",
     "address": "Mal Pelayanan Publik Kota Bogor, Jl. Ir. H. Juanda, Kota Bogor, Jawa Barat"},
]

# ---------------------------------------------------------------------------------------------
# Shared parts of the standards

UU_25_2009 = {"citation": "UU No. 25 Tahun 2009", "title": "Pelayanan Publik"}
PP_96_2012 = {"citation": "PP No. 96 Tahun 2012",
              "title": "Pelaksanaan Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik"}
PERMENPANRB_15_2014 = {"citation": "Peraturan Menteri PANRB No. 15 Tahun 2014",
                       "title": "Pedoman Standar Pelayanan"}
UU_23_2006 = {"citation": "UU No. 23 Tahun 2006", "title": "Administrasi Kependudukan"}
UU_24_2013 = {"citation": "UU No. 24 Tahun 2013",
              "title": "Perubahan atas Undang-Undang Nomor 23 Tahun 2006 tentang Administrasi "
                       "Kependudukan"}
PERPRES_96_2018 = {"citation": "Perpres No. 96 Tahun 2018",
                   "title": "Persyaratan dan Tata Cara Pendaftaran Penduduk dan Pencatatan Sipil"}
PERMENDAGRI_108_2019 = {"citation": "Permendagri No. 108 Tahun 2019",
                        "title": "Peraturan Pelaksanaan Peraturan Presiden Nomor 96 Tahun 2018"}
PERMENDAGRI_19_2018 = {"citation": "Permendagri No. 19 Tahun 2018",
                       "title": "Peningkatan Kualitas Layanan Administrasi Kependudukan"}
UU_27_2022 = {"citation": "UU No. 27 Tahun 2022", "title": "Pelindungan Data Pribadi"}
UU_28_2002 = {"citation": "UU No. 28 Tahun 2002", "title": "Bangunan Gedung"}
UU_6_2023 = {"citation": "UU No. 6 Tahun 2023",
             "title": "Penetapan Perppu Nomor 2 Tahun 2022 tentang Cipta Kerja menjadi Undang-Undang"}
PP_16_2021 = {"citation": "PP No. 16 Tahun 2021",
              "title": "Peraturan Pelaksanaan Undang-Undang Nomor 28 Tahun 2002 tentang Bangunan "
                       "Gedung"}
UU_1_2022 = {"citation": "UU No. 1 Tahun 2022",
             "title": "Hubungan Keuangan antara Pemerintah Pusat dan Pemerintahan Daerah"}
PP_5_2021 = {"citation": "PP No. 5 Tahun 2021",
             "title": "Penyelenggaraan Perizinan Berusaha Berbasis Risiko"}
PP_6_2021 = {"citation": "PP No. 6 Tahun 2021",
             "title": "Penyelenggaraan Perizinan Berusaha di Daerah"}
PP_28_2025 = {"citation": "PP No. 28 Tahun 2025",
              "title": "Penyelenggaraan Perizinan Berusaha Berbasis Risiko"}
PP_7_2021 = {"citation": "PP No. 7 Tahun 2021",
             "title": "Kemudahan, Pelindungan, dan Pemberdayaan Koperasi dan Usaha Mikro, Kecil, "
                      "dan Menengah"}
PERPRES_89_2021 = {"citation": "Perpres No. 89 Tahun 2021",
                   "title": "Penyelenggaraan Mal Pelayanan Publik"}

ADMIN = "REQUIREMENT_KIND_ADMINISTRATIVE"
TECH = "REQUIREMENT_KIND_TECHNICAL"

RESOLUTION_CLASSES = [
    {"name": "ringan", "working_days": 2},
    {"name": "normatif", "working_days": 5},
    {"name": "tidak memerlukan pemeriksaan lapangan", "working_days": 14},
    {"name": "memerlukan pemeriksaan atau investigasi", "working_days": 60},
]


def complaint_handling(unit_place):
    return {
        "channels": [
            "SP4N-LAPOR! (www.lapor.go.id, SMS 1708, aplikasi LAPOR!)",
            f"Loket pengaduan di {unit_place}",
            "Kotak saran di ruang tunggu pelayanan",
            "Surat tertulis kepada Kepala Dinas",
        ],
        "procedure": (
            "Pengaduan diterima petugas pengelola pengaduan, dicatat dan diberi nomor register, "
            "diverifikasi paling lama 3 hari kerja, lalu diteruskan kepada bidang yang "
            "bertanggung jawab. Tindak lanjut disampaikan kepada pengadu melalui kanal yang "
            "digunakan; pengaduan melalui SP4N-LAPOR! ditindaklanjuti sesuai Perpres No. 76 "
            "Tahun 2013 dan Peraturan Menteri PANRB No. 62 Tahun 2018. Identitas pengadu "
            "dirahasiakan bila diminta."),
        "response_working_days": 5,
        "resolution_classes": RESOLUTION_CLASSES,
    }


DUKCAPIL_FACILITIES = [
    {"description": "Ruang tunggu ber-AC dengan kursi tunggu dan mesin nomor antrean"},
    {"description": "Loket prioritas bagi lansia, penyandang disabilitas, ibu hamil dan ibu "
                    "membawa balita", "for_vulnerable_groups": True},
    {"description": "Jalur landai (ramp), kursi roda dan toilet khusus penyandang disabilitas",
     "for_vulnerable_groups": True},
    {"description": "Ruang laktasi dan ruang bermain anak", "for_vulnerable_groups": True},
    {"description": "Anjungan Dukcapil Mandiri (ADM) dan komputer terhubung SIAK Terpusat"},
    {"description": "Papan informasi standar pelayanan dan alur pelayanan"},
]

DUKCAPIL_COMPETENCES = [
    "Memahami UU No. 24 Tahun 2013, Perpres No. 96 Tahun 2018 dan Permendagri No. 108 Tahun 2019",
    "Mampu mengoperasikan Sistem Informasi Administrasi Kependudukan (SIAK) Terpusat dan "
    "memiliki hak akses dari Ditjen Dukcapil",
    "Telah mengikuti bimbingan teknis pelayanan prima dan etika pelayanan publik",
    "Mampu berkomunikasi dengan bahasa isyarat dasar atau mendampingi pemohon disabilitas",
]

DUKCAPIL_MANAGEMENT = {
    "internal_supervision": (
        "Pengawasan melekat oleh atasan langsung (Kepala Bidang Pelayanan) setiap hari kerja, "
        "pengawasan fungsional oleh Inspektorat Kabupaten Padang Pariaman, dan penerapan "
        "Sistem Pengendalian Intern Pemerintah (SPIP)."),
    "service_guarantee": (
        "Pelayanan diberikan sesuai standar pelayanan ini, tidak dipungut biaya, dan dokumen "
        "diterbitkan dalam jangka waktu yang dijanjikan. Bila tidak sesuai, pemohon berhak "
        "mengadu dan dokumennya diselesaikan secara prioritas sesuai maklumat pelayanan."),
    "security_guarantee": (
        "Data pribadi penduduk dijaga kerahasiaannya sesuai UU No. 24 Tahun 2013 dan UU No. 27 "
        "Tahun 2022 tentang Pelindungan Data Pribadi; dokumen ditandatangani secara elektronik "
        "dan keasliannya dapat diperiksa melalui kode QR; ruang pelayanan dilengkapi CCTV, "
        "APAR dan jalur evakuasi."),
    "staff_evaluation": (
        "Kinerja pelaksana dievaluasi setiap bulan oleh atasan langsung berdasarkan Sasaran "
        "Kinerja Pegawai, hasil Survei Kepuasan Masyarakat (Peraturan Menteri PANRB No. 14 Tahun "
        "2017) setiap semester, dan rekapitulasi pengaduan."),
}

DPMPTSP_FACILITIES = [
    {"description": "Ruang tunggu Mal Pelayanan Publik dengan mesin antrean dan layar informasi"},
    {"description": "Meja konsultasi dan pojok pendampingan OSS / SIMBG dengan komputer dan "
                    "internet"},
    {"description": "Loket prioritas, jalur landai, kursi roda dan toilet disabilitas",
     "for_vulnerable_groups": True},
    {"description": "Ruang laktasi dan ruang bermain anak", "for_vulnerable_groups": True},
    {"description": "Papan informasi standar pelayanan, maklumat dan alur perizinan"},
]

DPMPTSP_MANAGEMENT = {
    "internal_supervision": (
        "Pengawasan melekat oleh Kepala Bidang Pelayanan Perizinan, pengawasan fungsional oleh "
        "Inspektorat Kota Bogor, dan pemantauan kepatuhan SLA perizinan melalui dasbor OSS dan "
        "SIMBG setiap minggu."),
    "service_guarantee": (
        "Permohonan yang lengkap dan benar diproses sesuai jangka waktu standar ini tanpa biaya "
        "di luar retribusi resmi; setiap pembayaran hanya melalui bank persepsi dengan bukti "
        "SKRD. Penyimpangan dapat diadukan dan ditindaklanjuti sesuai maklumat pelayanan."),
    "security_guarantee": (
        "Dokumen dan data pemohon hanya diakses petugas berwenang sesuai UU No. 27 Tahun 2022 "
        "tentang Pelindungan Data Pribadi; dokumen perizinan diterbitkan secara elektronik dan "
        "dapat diverifikasi; gedung MPP dilengkapi CCTV, petugas keamanan, APAR dan jalur "
        "evakuasi."),
    "staff_evaluation": (
        "Evaluasi kinerja pelaksana setiap bulan berdasarkan capaian SLA, hasil Survei Kepuasan "
        "Masyarakat per triwulan, dan penilaian perilaku pelayanan oleh atasan langsung."),
}

DPMPTSP_COMPETENCES = [
    "Memahami ketentuan perizinan berusaha berbasis risiko dan sistem OSS",
    "Mampu mengoperasikan OSS dan Sistem Informasi Manajemen Bangunan Gedung (SIMBG)",
    "Telah mengikuti pelatihan pelayanan prima dan budaya anti-gratifikasi",
]

ADMINDUK_FREE = {"amount_idr": "0", "legal_basis": "Pasal 79A UU No. 24 Tahun 2013",
                 "note": "Tidak dipungut biaya"}


def dukcapil(legal, requirements, procedure, time, products, staff_count, extra_fac=()):
    c = {"legal_basis": legal, "requirements": requirements, "procedure": procedure,
         "completion_time": time, "fee": ADMINDUK_FREE, "products": products,
         "facilities": DUKCAPIL_FACILITIES + list(extra_fac),
         "staff_competences": DUKCAPIL_COMPETENCES,
         "complaint_handling": complaint_handling("kantor Disdukcapil Kabupaten Padang Pariaman"),
         "staff_count": staff_count}
    c.update(DUKCAPIL_MANAGEMENT)
    return c


def dpmptsp(legal, requirements, procedure, time, fee, products, staff_count):
    c = {"legal_basis": legal, "requirements": requirements, "procedure": procedure,
         "completion_time": time, "fee": fee, "products": products,
         "facilities": DPMPTSP_FACILITIES, "staff_competences": DPMPTSP_COMPETENCES,
         "complaint_handling": complaint_handling("Mal Pelayanan Publik Kota Bogor"),
         "staff_count": staff_count}
    c.update(DPMPTSP_MANAGEMENT)
    return c


ADMINDUK_LEGAL = [UU_25_2009, UU_23_2006, UU_24_2013, PERPRES_96_2018, PERMENDAGRI_108_2019,
                  PERMENDAGRI_19_2018, PERMENPANRB_15_2014]

AKTA_KELAHIRAN = dukcapil(
    ADMINDUK_LEGAL,
    [{"description": "Surat keterangan kelahiran dari rumah sakit, puskesmas, dokter, bidan, "
                     "atau kepala desa/wali nagari", "kind": ADMIN},
     {"description": "Buku nikah atau kutipan akta perkawinan orang tua; bila tidak ada, Surat "
                     "Pernyataan Tanggung Jawab Mutlak (SPTJM) kebenaran sebagai pasangan suami "
                     "istri", "kind": ADMIN},
     {"description": "Kartu Keluarga tempat anak akan didaftarkan", "kind": ADMIN},
     {"description": "KTP-el orang tua atau pelapor", "kind": ADMIN},
     {"description": "Formulir pelaporan pencatatan sipil (F-2.01) yang telah diisi dan "
                     "ditandatangani pelapor", "kind": TECH}],
    ["Pemohon mengambil nomor antrean atau mengajukan permohonan melalui layanan daring",
     "Petugas loket memeriksa kelengkapan dan keabsahan berkas",
     "Operator merekam data kelahiran ke SIAK Terpusat",
     "Kepala Dinas menandatangani kutipan akta kelahiran secara elektronik",
     "Kutipan akta kelahiran dan Kartu Keluarga yang diperbarui diserahkan kepada pemohon atau "
     "dikirim sebagai berkas PDF untuk dicetak sendiri"],
    {"amount": 1, "unit": "TIME_UNIT_WORKING_DAY"},
    ["Kutipan Akta Kelahiran", "Kartu Keluarga yang telah diperbarui"],
    6)

KTP_EL = dukcapil(
    ADMINDUK_LEGAL,
    [{"description": "Telah berusia 17 tahun, sudah kawin atau pernah kawin", "kind": ADMIN},
     {"description": "Kartu Keluarga", "kind": ADMIN},
     {"description": "Untuk penggantian: KTP-el yang rusak, atau surat keterangan kehilangan "
                     "dari kepolisian", "kind": ADMIN},
     {"description": "Hadir langsung untuk perekaman sidik jari, iris mata, foto dan tanda "
                     "tangan", "kind": TECH}],
    ["Pemohon mengambil nomor antrean dan menyerahkan persyaratan",
     "Petugas memverifikasi NIK dan data Kartu Keluarga di SIAK",
     "Perekaman biometrik (foto, sidik jari, iris mata, tanda tangan) bagi yang belum merekam",
     "Verifikasi data biometrik secara nasional",
     "Pencetakan dan personalisasi KTP-el",
     "KTP-el diserahkan kepada pemohon dengan menandatangani tanda terima"],
    {"amount": 1, "unit": "TIME_UNIT_WORKING_DAY"},
    ["Kartu Tanda Penduduk Elektronik (KTP-el)"],
    8,
    extra_fac=[{"description": "Alat perekaman biometrik (kamera, pemindai sidik jari dan "
                               "iris) dan printer kartu"}])

KARTU_KELUARGA = dukcapil(
    ADMINDUK_LEGAL,
    [{"description": "Buku nikah / kutipan akta perkawinan, atau kutipan akta perceraian",
      "kind": ADMIN},
     {"description": "Surat keterangan pindah bagi penduduk yang pindah dalam wilayah NKRI",
      "kind": ADMIN},
     {"description": "Kartu Keluarga lama untuk perubahan data", "kind": ADMIN},
     {"description": "Formulir biodata keluarga (F-1.01) yang telah diisi", "kind": TECH}],
    ["Pemohon menyerahkan formulir dan persyaratan di loket",
     "Petugas memverifikasi berkas dan data di SIAK",
     "Operator merekam perubahan biodata keluarga",
     "Kartu Keluarga ditandatangani secara elektronik oleh Kepala Dinas",
     "Kartu Keluarga diserahkan kepada pemohon"],
    {"amount": 1, "unit": "TIME_UNIT_WORKING_DAY"},
    ["Kartu Keluarga (KK)"],
    5)

# v2 of the family card standard (in preparation): online submission and a one-hour promise.
KARTU_KELUARGA_V2 = dict(
    KARTU_KELUARGA,
    procedure=["Pemohon mengajukan permohonan di loket atau melalui layanan daring Disdukcapil",
               "Petugas memverifikasi berkas dan data di SIAK",
               "Operator merekam perubahan biodata keluarga",
               "Kartu Keluarga ditandatangani secara elektronik oleh Kepala Dinas",
               "Kartu Keluarga dikirim sebagai berkas PDF untuk dicetak sendiri di kertas HVS "
               "80 gram, atau dicetak di loket"],
    completion_time={"amount": 1, "unit": "TIME_UNIT_HOUR"},
    legal_basis=ADMINDUK_LEGAL + [{"citation": "Permendagri No. 7 Tahun 2019",
                                   "title": "Pelayanan Administrasi Kependudukan secara Daring"}])

PBG = dpmptsp(
    [UU_25_2009, UU_28_2002, UU_6_2023, PP_16_2021, UU_1_2022, PERPRES_89_2021,
     {"citation": "Peraturan Daerah Kota Bogor tentang Pajak Daerah dan Retribusi Daerah",
      "title": "Retribusi Persetujuan Bangunan Gedung"}, PERMENPANRB_15_2014],
    [{"description": "Data pemohon dan pemilik bangunan (KTP-el, NPWP untuk badan usaha)",
      "kind": ADMIN},
     {"description": "Bukti kepemilikan hak atas tanah atau perjanjian pemanfaatan tanah",
      "kind": ADMIN},
     {"description": "Konfirmasi Kesesuaian Kegiatan Pemanfaatan Ruang (KKPR) atau informasi "
                     "tata ruang", "kind": ADMIN},
     {"description": "Dokumen rencana arsitektur, struktur, mekanikal, elektrikal dan "
                     "perpipaan sesuai fungsi dan klasifikasi bangunan", "kind": TECH},
     {"description": "Persetujuan lingkungan (SPPL, UKL-UPL atau AMDAL) sesuai skala",
      "kind": TECH}],
    ["Pemohon membuat akun dan mengajukan permohonan melalui SIMBG",
     "Petugas memeriksa kelengkapan dokumen administratif dan teknis",
     "Konsultasi perencanaan dan pemeriksaan standar teknis oleh Tim Profesi Ahli atau Tim "
     "Penilai Teknis",
     "Penerbitan pernyataan pemenuhan standar teknis",
     "Penghitungan retribusi dan penerbitan Surat Ketetapan Retribusi Daerah (SKRD)",
     "Pemohon membayar retribusi melalui bank persepsi",
     "Penerbitan PBG dan nomor registrasi secara elektronik melalui SIMBG"],
    {"amount": 28, "unit": "TIME_UNIT_WORKING_DAY"},
    {"amount_idr": "1750000",
     "legal_basis": "PP No. 16 Tahun 2021; UU No. 1 Tahun 2022; Peraturan Daerah Kota Bogor "
                    "tentang Pajak Daerah dan Retribusi Daerah",
     "note": "Retribusi PBG dihitung per permohonan dari luas total lantai, indeks terintegrasi, "
             "indeks bangunan gedung terbangun dan harga satuan retribusi; nilai ini contoh "
             "untuk rumah tinggal sederhana 1 lantai 45 m2. Nilai yang mengikat tercantum pada "
             "SKRD."},
    ["Persetujuan Bangunan Gedung (PBG) dan lampirannya", "Nomor registrasi PBG",
     "Surat Ketetapan Retribusi Daerah (SKRD)"],
    6)

IZIN_USAHA_OSS = dpmptsp(
    [UU_25_2009, UU_6_2023, PP_5_2021, PP_6_2021, PERPRES_89_2021, PERMENPANRB_15_2014],
    [{"description": "Akun OSS (hak akses) atas nama pelaku usaha", "kind": ADMIN},
     {"description": "NIK dan KTP-el penanggung jawab; akta pendirian dan SK pengesahan untuk "
                     "badan usaha", "kind": ADMIN},
     {"description": "NPWP pelaku usaha", "kind": ADMIN},
     {"description": "Data lokasi usaha dan Konfirmasi Kesesuaian Kegiatan Pemanfaatan Ruang "
                     "(KKPR)", "kind": TECH},
     {"description": "Dokumen pemenuhan standar atau persyaratan teknis sesuai tingkat risiko "
                     "kegiatan usaha (KBLI)", "kind": TECH}],
    ["Pelaku usaha datang ke meja pendampingan OSS di Mal Pelayanan Publik",
     "Petugas membantu membuat atau memulihkan akun OSS",
     "Pengisian data usaha dan pemilihan KBLI serta penetapan tingkat risiko",
     "Pengunggahan persyaratan dan pernyataan mandiri pemenuhan standar",
     "Penerbitan NIB dan perizinan berusaha sesuai tingkat risiko melalui OSS",
     "Verifikasi persyaratan oleh perangkat daerah teknis untuk risiko menengah tinggi dan "
     "tinggi"],
    {"amount": 1, "unit": "TIME_UNIT_WORKING_DAY"},
    {"amount_idr": "0", "note": "Pendampingan dan penerbitan melalui OSS tidak dipungut biaya; "
                                "retribusi atau PNBP sektor tertentu dibayar sesuai ketentuan "
                                "sektornya"},
    ["Nomor Induk Berusaha (NIB)",
     "Sertifikat Standar atau Izin sesuai tingkat risiko kegiatan usaha"],
    4)

NIB_UMK = dpmptsp(
    [UU_25_2009, UU_6_2023, PP_28_2025, PP_7_2021, PERPRES_89_2021, PERMENPANRB_15_2014],
    [{"description": "KTP-el pemilik usaha mikro atau kecil", "kind": ADMIN},
     {"description": "Alamat email dan nomor telepon aktif untuk akun OSS", "kind": ADMIN},
     {"description": "Keterangan lokasi dan jenis kegiatan usaha", "kind": TECH}],
    ["Pelaku usaha mikro atau kecil datang ke meja pendampingan UMK",
     "Petugas membantu membuat akun OSS",
     "Pengisian data usaha dan pemilihan KBLI",
     "Pernyataan mandiri kesanggupan memenuhi standar",
     "NIB terbit dan dicetak atau dikirim ke email pelaku usaha"],
    {"amount": 1, "unit": "TIME_UNIT_HOUR"},
    {"amount_idr": "0", "note": "Tidak dipungut biaya"},
    ["Nomor Induk Berusaha (NIB) usaha mikro dan kecil"],
    3)

# ---------------------------------------------------------------------------------------------
# Services with their standards. `adopt` gives (decree number, decree date, effective date,
# consultation date); dates are relative to today except for the overdue standard.

_OVERDUE_DECREE = min(datetime.date(2025, 2, 24), days_ago(400))

SERVICES = [
    {"id": "akta-kelahiran-padang-pariaman", "unit_id": "disdukcapil-padang-pariaman",
     "name": "Penerbitan Akta Kelahiran",
     "description": "Pencatatan kelahiran dan penerbitan kutipan akta kelahiran bagi penduduk "
                    "Kabupaten Padang Pariaman.",
     "components": AKTA_KELAHIRAN,
     "decree": "800/112/SK/Disdukcapil-PP/" + str(days_ago(45).year),
     "decree_date": days_ago(45), "effective": days_ago(38), "consulted": days_ago(60),
     # Intake questions a complaint about this service answers (Open311 service definition).
     "attributes": [
         {"code": "application_number", "variable": True, "required": True, "order": 1,
          "datatype": "ATTRIBUTE_DATATYPE_STRING", "max_length": 40,
          "description": "Nomor permohonan akta kelahiran (tertera di tanda terima berkas)",
          "datatype_description": "mis. 1305-AK-2026-000123"},
         {"code": "submitted_via", "variable": True, "required": True, "order": 2,
          "datatype": "ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST",
          "description": "Permohonan diajukan melalui",
          "values": [{"key": "loket", "name": "Loket Disdukcapil"},
                     {"key": "mpp", "name": "Mal Pelayanan Publik"},
                     {"key": "online", "name": "Aplikasi daring"}]},
         {"code": "bring_receipt", "variable": False, "order": 3,
          "description": "Simpan tanda terima berkas; petugas dapat memintanya saat verifikasi."},
     ]},
    {"id": "ktp-el-padang-pariaman", "unit_id": "disdukcapil-padang-pariaman",
     "name": "Penerbitan Kartu Tanda Penduduk Elektronik (KTP-el)",
     "description": "Perekaman dan pencetakan KTP-el baru, penggantian karena rusak atau hilang, "
                    "dan perubahan data.",
     "components": KTP_EL,
     "decree": "800/113/SK/Disdukcapil-PP/" + str(days_ago(45).year),
     "decree_date": days_ago(45), "effective": days_ago(38), "consulted": days_ago(60)},
    {"id": DRAFT_V2_SERVICE, "unit_id": "disdukcapil-padang-pariaman",
     "name": "Penerbitan Kartu Keluarga",
     "description": "Penerbitan Kartu Keluarga baru dan perubahan data anggota keluarga.",
     "components": KARTU_KELUARGA, "draft_v2": KARTU_KELUARGA_V2,
     "decree": "800/114/SK/Disdukcapil-PP/" + str(days_ago(150).year),
     "decree_date": days_ago(150), "effective": days_ago(143), "consulted": days_ago(170)},
    {"id": "pbg-kota-bogor", "unit_id": "dpmptsp-kota-bogor",
     "name": "Persetujuan Bangunan Gedung (PBG)",
     "description": "Pelayanan persetujuan untuk membangun baru, mengubah, memperluas, "
                    "mengurangi atau merawat bangunan gedung melalui SIMBG.",
     "components": PBG,
     "decree": "503/021/Kep-DPMPTSP/" + str(days_ago(80).year),
     "decree_date": days_ago(80), "effective": days_ago(73), "consulted": days_ago(95)},
    {"id": OVERDUE_SERVICE, "unit_id": "dpmptsp-kota-bogor",
     "name": "Pendampingan Perizinan Berusaha Berbasis Risiko melalui OSS",
     "description": "Pendampingan pelaku usaha untuk memperoleh NIB dan perizinan berusaha "
                    "berbasis risiko melalui sistem OSS.",
     "components": IZIN_USAHA_OSS,
     "decree": "503/007/Kep-DPMPTSP/" + str(_OVERDUE_DECREE.year),
     "decree_date": _OVERDUE_DECREE,
     "effective": _OVERDUE_DECREE + datetime.timedelta(days=7),
     "consulted": _OVERDUE_DECREE - datetime.timedelta(days=13)},
    {"id": "nib-umk-kota-bogor", "unit_id": "dpmptsp-kota-bogor",
     "name": "Pendampingan Penerbitan NIB bagi Usaha Mikro dan Kecil",
     "description": "Pendampingan pelaku usaha mikro dan kecil memperoleh Nomor Induk Berusaha "
                    "melalui OSS di Mal Pelayanan Publik.",
     "components": NIB_UMK,
     "decree": "503/022/Kep-DPMPTSP/" + str(days_ago(80).year),
     "decree_date": days_ago(80), "effective": days_ago(73), "consulted": days_ago(95)},
]

CONSULTATION = {
    "disdukcapil-padang-pariaman": {
        "participant_count": 34,
        "participants": "Wali nagari, tokoh masyarakat, bidan desa, perwakilan rumah sakit "
                        "dan puskesmas, organisasi penyandang disabilitas, Ombudsman RI "
                        "Perwakilan Sumatera Barat",
        "summary": "Forum Konsultasi Publik membahas rancangan standar pelayanan. Peserta "
                   "meminta layanan jemput bola ke nagari, penyampaian dokumen dalam bentuk "
                   "PDF, dan loket prioritas bagi lansia dan penyandang disabilitas; seluruh "
                   "usulan diakomodasi dalam rancangan akhir."},
    "dpmptsp-kota-bogor": {
        "participant_count": 41,
        "participants": "Asosiasi pengusaha, pelaku UMKM, Ikatan Arsitek Indonesia, perangkat "
                        "daerah teknis, akademisi, Ombudsman RI Perwakilan Jawa Barat",
        "summary": "Forum Konsultasi Publik membahas persyaratan, alur dan jangka waktu "
                   "perizinan. Peserta meminta kejelasan rumus retribusi, meja pendampingan "
                   "khusus UMK, dan notifikasi status permohonan; usulan dimasukkan ke dalam "
                   "standar dan rencana perbaikan layanan."},
}

PUBLICATIONS = {
    "disdukcapil-padang-pariaman": [
        {"medium": "PUBLICATION_MEDIUM_NOTICE_BOARD",
         "location": "Papan informasi ruang pelayanan Disdukcapil Kabupaten Padang Pariaman"},
        {"medium": "PUBLICATION_MEDIUM_WEBSITE", "location": "https://padangpariamankab.go.id"},
    ],
    "dpmptsp-kota-bogor": [
        {"medium": "PUBLICATION_MEDIUM_NOTICE_BOARD",
         "location": "Layar informasi dan papan standar pelayanan Mal Pelayanan Publik Kota Bogor"},
        {"medium": "PUBLICATION_MEDIUM_WEBSITE", "location": "https://kotabogor.go.id"},
    ],
}

MAKLUMAT_TEXT = (
    "MAKLUMAT PELAYANAN. Dengan ini kami menyatakan sanggup menyelenggarakan pelayanan sesuai "
    "standar pelayanan yang telah ditetapkan, memberikan pelayanan yang tidak diskriminatif, "
    "terbuka dan bebas pungutan liar, serta melakukan perbaikan secara terus-menerus. Apabila "
    "tidak menepati janji ini, kami siap menerima sanksi dan memberikan kompensasi sesuai "
    "peraturan perundang-undangan yang berlaku.")

MAKLUMAT = {
    "disdukcapil-padang-pariaman": {
        "signer_name": "Hendra Saputra, S.STP., M.Si.",
        "signer_position": "Kepala Dinas Kependudukan dan Pencatatan Sipil Kabupaten Padang "
                           "Pariaman",
        "signed_date": days_ago(40)},
    "dpmptsp-kota-bogor": {
        "signer_name": "Rina Marlina, S.T., M.T.",
        "signer_position": "Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Kota "
                           "Bogor",
        "signed_date": days_ago(70)},
}


# ---------------------------------------------------------------------------------------------

class Loader:
    def __init__(self, client, token_tool, key_file, quiet=False, audience="simpul-registry"):
        self.client = client
        self.token_tool = token_tool
        self.key_file = key_file
        self.audience = audience  # the service self.client talks to: tokens are for it only
        self.quiet = quiet
        self.tokens = {}
        self.counts = {}

    def log(self, text):
        if not self.quiet:
            print(text, flush=True)

    def count(self, what, outcome):
        self.counts.setdefault(what, {}).setdefault(outcome, 0)
        self.counts[what][outcome] += 1

    def token(self, role, agency="", channel=""):
        key = (role, agency, channel)
        if key not in self.tokens:
            cmd = [self.token_tool, f"--key_file={self.key_file}", f"--audience={self.audience}",
                   f"--role={role}", f"--subject={SUBJECT}" + (f"@{agency}" if agency else ""),
                   "--ttl=30m"]
            if agency:
                cmd.append(f"--agency={agency}")
            if channel:
                # The demo's channels (SMS 1708, partner systems) are national.
                cmd += [f"--channel={channel}", "--all_agencies=true"]
            env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL_TOKEN_")}
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
            except OSError as e:
                raise SystemExit(f"load_demo: cannot run {self.token_tool}: {e}")
            if out.returncode != 0 or not out.stdout.strip():
                raise SystemExit(f"load_demo: {' '.join(cmd)} failed: {out.stderr.strip()}")
            self.tokens[key] = out.stdout.strip()
        return self.tokens[key]

    def admin(self, agency):
        return self.token("agency_admin", agency)

    def create(self, what, method, request, token, label):
        try:
            self.client.call(method, request, token=token)
            self.count(what, "created")
            self.log(f"  + {what} {label}")
        except simpul_grpc.CallError as e:
            if e.code_name != "ALREADY_EXISTS":
                raise
            self.count(what, "present")
            self.log(f"  = {what} {label} (already present)")

    def ensure_questions(self, service, agency):
        """A service loaded before it had questions (issue #16) gets them, once."""
        if not service.get("attributes"):
            return
        token = self.admin(agency)
        current = self.client.call("GetService", {"id": service["id"]}, token=token)["service"]
        if current.get("attributes"):
            return
        self.client.call("UpdateService", {"service": {**current,
                                                       "attributes": service["attributes"]},
                                           "expected_revision": current["revision"]},
                         token=token)
        self.count("service", "given questions")
        self.log(f"  + questions of service {service['id']}")

    def ensure_standard(self, svc, agency):
        token = self.admin(agency)
        sid = svc["id"]
        versions = self.client.call("ListStandardVersions",
                                    {"service_id": sid, "page": {"page_size": 500}},
                                    token=token).get("versions", [])
        by_number = {v["version_number"]: v for v in versions}
        v1 = by_number.get(1)
        if v1 is None:
            v1 = self.client.call("CreateStandardVersion",
                                  {"service_id": sid, "components": svc["components"]},
                                  token=token)["version"]
            self.log(f"  + standard {v1['id']} DRAFT")
        elif v1.get("state") in ("STANDARD_STATE_DRAFT", "STANDARD_STATE_PUBLIC_CONSULTATION"):
            # Left half-way (by an interrupted run or by hand): make its components the demo's.
            v1 = self.client.call("UpdateStandardDraft",
                                  {"id": v1["id"], "expected_revision": v1["revision"],
                                   "components": svc["components"]}, token=token)["version"]
            self.log(f"  > standard {v1['id']} components updated")
        state = v1.get("state")
        if state == "STANDARD_STATE_DRAFT":
            v1 = self.client.call("StartPublicConsultation",
                                  {"id": v1["id"], "expected_revision": v1["revision"]},
                                  token=token)["version"]
            self.log(f"  > standard {v1['id']} PUBLIC_CONSULTATION")
            state = v1["state"]
        if state == "STANDARD_STATE_PUBLIC_CONSULTATION":
            if not v1.get("consultations"):
                consultation = dict(CONSULTATION[svc["unit_id"]],
                                    date=date_msg(svc["consulted"]))
                v1 = self.client.call("RecordConsultation",
                                      {"id": v1["id"], "expected_revision": v1["revision"],
                                       "consultation": consultation}, token=token)["version"]
                self.log(f"  > standard {v1['id']} consultation recorded")
            v1 = self.client.call("AdoptStandardVersion", {
                "id": v1["id"], "expected_revision": v1["revision"],
                "adoption": {"decree_number": svc["decree"],
                             "decree_date": date_msg(svc["decree_date"]),
                             "effective_from": date_msg(svc["effective"])},
                "publications": PUBLICATIONS[svc["unit_id"]]}, token=token)["version"]
            self.log(f"  > standard {v1['id']} ADOPTED (SK {svc['decree']})")
            self.count("standard", "adopted")
        elif state in ("STANDARD_STATE_ADOPTED", "STANDARD_STATE_SUPERSEDED"):
            self.count("standard", "present")
            self.log(f"  = standard {v1['id']} already adopted")
        else:
            self.log(f"  ! standard {v1['id']} is {state}; left as it is")
        if svc.get("draft_v2"):
            if 2 in by_number:
                self.log(f"  = standard {by_number[2]['id']} already exists "
                         f"({by_number[2].get('state')})")
            else:
                v2 = self.client.call("CreateStandardVersion",
                                      {"service_id": sid, "components": svc["draft_v2"]},
                                      token=token)["version"]
                self.log(f"  + standard {v2['id']} DRAFT (revision in progress)")
                self.count("standard", "draft")

    def ensure_maklumat(self, unit):
        token = self.admin(unit["agency_id"])
        uid = unit["id"]
        pledges = self.client.call("ListMaklumat", {"unit_id": uid, "page": {"page_size": 500}},
                                   token=token).get("maklumat", [])
        if any(m.get("state") == "MAKLUMAT_STATE_PUBLISHED" for m in pledges):
            self.count("maklumat", "present")
            self.log(f"  = maklumat of {uid} already published")
            return
        pending = [m for m in pledges
                   if m.get("state") in ("MAKLUMAT_STATE_DRAFT", "MAKLUMAT_STATE_ADOPTED")]
        if pending:
            m = pending[-1]
        else:
            m = self.client.call("CreateMaklumatDraft", {"unit_id": uid, "text": MAKLUMAT_TEXT},
                                 token=token)["maklumat"]
            self.log(f"  + maklumat {m['id']} DRAFT")
        if m.get("state") == "MAKLUMAT_STATE_DRAFT":
            if pending and m.get("text") != MAKLUMAT_TEXT:
                m = self.client.call("UpdateMaklumatDraft",
                                     {"id": m["id"], "expected_revision": m["revision"],
                                      "text": MAKLUMAT_TEXT}, token=token)["maklumat"]
                self.log(f"  > maklumat {m['id']} text updated")
            sign = MAKLUMAT[uid]
            m = self.client.call("AdoptMaklumat", {
                "id": m["id"], "expected_revision": m["revision"],
                "signer_name": sign["signer_name"], "signer_position": sign["signer_position"],
                "signed_date": date_msg(sign["signed_date"])}, token=token)["maklumat"]
            self.log(f"  > maklumat {m['id']} ADOPTED")
        m = self.client.call("PublishMaklumat", {
            "id": m["id"], "expected_revision": m["revision"],
            "publications": PUBLICATIONS[uid]}, token=token)["maklumat"]
        self.log(f"  > maklumat {m['id']} PUBLISHED")
        self.count("maklumat", "published")

    def run(self):
        platform = self.token("platform_admin")
        agency_of_unit = {u["id"]: u["agency_id"] for u in UNITS}
        for a in AGENCIES:
            self.create("agency", "CreateAgency", {"agency": a}, platform, a["id"])
        for u in UNITS:
            self.create("unit", "CreateServiceUnit", {"unit": u}, self.admin(u["agency_id"]),
                        u["id"])
        for s in SERVICES:
            service = {k: s[k] for k in ("id", "unit_id", "name", "description", "attributes")
                       if k in s}
            self.create("service", "CreateService", {"service": service},
                        self.admin(agency_of_unit[s["unit_id"]]), s["id"])
            self.ensure_questions(service, agency_of_unit[s["unit_id"]])
            self.ensure_standard(s, agency_of_unit[s["unit_id"]])
        for u in UNITS:
            self.ensure_maklumat(u)

    def summary(self):
        def part(what):
            c = self.counts.get(what, {})
            return ", ".join(f"{n} {k}" for k, n in sorted(c.items())) or "nothing to do"

        return "\n".join([
            f"Demo data loaded into {self.client.addr}:",
            f"  agencies:  {part('agency')}",
            f"  units:     {part('unit')}",
            f"  services:  {part('service')}",
            f"  standards: {part('standard')}",
            f"  maklumat:  {part('maklumat')}",
            f"  adopted and published: {SCORE5_SERVICE} (completeness 5); review overdue: "
            f"{OVERDUE_SERVICE}; draft v2 in progress: {DRAFT_V2_SERVICE}.v2",
        ])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--addr", default=os.environ.get("SIMPUL_CALL_ADDR", simpul_grpc.DEFAULT_ADDR))
    p.add_argument("--key-file", default=os.path.join(REPO, "var", "keys", "gateway.key"),
                   help="the gateway's Ed25519 private key, which the services trust")
    p.add_argument("--token-tool", default=os.path.join(REPO, "build", "tools", "simpul-token"),
                   help="path of the simpul-token binary")
    p.add_argument("--timeout", type=float, default=simpul_grpc.DEFAULT_TIMEOUT)
    p.add_argument("--quiet", action="store_true", help="print the summary only")
    args = p.parse_args(argv)
    if not os.path.exists(args.key_file):
        print(f"load_demo: key file {args.key_file} not found", file=sys.stderr)
        return 2
    try:
        with simpul_grpc.Client(args.addr, timeout=args.timeout) as client:
            loader = Loader(client, args.token_tool, args.key_file, quiet=args.quiet)
            loader.run()
            print(loader.summary())
    except simpul_grpc.CallError as e:
        print("load_demo: " + e.format(), file=sys.stderr)
        return 1
    except simpul_grpc.SimpulGrpcError as e:
        print(f"load_demo: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
