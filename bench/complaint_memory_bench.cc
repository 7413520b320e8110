// complaint_memory_bench: measures the Redis memory one stored complaint costs (issue #6 target:
// at most 2 KB per complaint, INFO used_memory divided by the count, with history, indexes,
// the deadline queue, the event stream and the idempotency records included).
//
// It starts its own redis-server with deploy/redis.conf (the production settings: AOF on,
// default encodings) on a free loopback port, files `--count` complaints with realistic
// Indonesian content through the real ComplaintDesk over RedisComplaintStore (the wiring of
// services/complaints/main.cc, with a fixed in-process router of 30 agencies, 3 units each and
// 2 services per unit instead of the registry), and moves them through the lifecycle: 10% stay
// RECEIVED, 60% are verified, disposed, started and answered with one follow-up (RESPONDED),
// 30% are completed after that. It then prints used_memory before and after, the bytes per
// complaint, and a breakdown by key family (SCAN + MEMORY USAGE of every key of the store).
// Not run by CI; nothing is asserted.
//
// By default a consumer group reads and acknowledges the events as the monitoring service does
// (the stream then holds only what is not yet acknowledged); --consumer=0 runs without one, so
// every event stays in the stream.
//
//   build/bench/complaint_memory_bench [--count=20000] [--config=deploy/redis.conf]
//                                      [--consumer=1]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/identity.h"
#include "common/logging.h"
#include "common/redis.h"
#include "services/complaints/complaints.h"
#include "services/complaints/redis_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/redis_server.h"

namespace {

using namespace simpul;
using namespace simpul::complaints;

constexpr int kAgencies = 30;
constexpr int kUnitsPerAgency = 3;
constexpr int kServicesPerUnit = 2;

const char* const kRegencies[] = {
    "kota-bogor",    "kota-depok",     "kota-bekasi",    "kab-bandung",   "kota-bandung",
    "kota-cimahi",   "kab-garut",      "kab-sukabumi",   "kota-cirebon",  "kab-karawang",
    "kota-semarang", "kota-surakarta", "kab-banyumas",   "kota-surabaya", "kab-sidoarjo",
    "kota-malang",   "kab-jember",     "kota-medan",     "kab-deli",      "kota-padang",
    "kab-agam",      "kota-palembang", "kota-makassar",  "kab-gowa",      "kota-manado",
    "kota-denpasar", "kab-badung",     "kota-pontianak", "kota-jayapura", "kota-mataram"};
const char* const kUnitKinds[] = {"dpmptsp", "disdukcapil", "dinkes"};
const char* const kServiceKinds[][2] = {
    {"pbg", "oss-rba"}, {"ktp-el", "akta-kelahiran"}, {"bpjs-kesehatan", "puskesmas"}};

const char* const kTitles[] = {
    "Permohonan PBG tidak diproses tiga bulan",  "Antrean KTP elektronik sangat panjang",
    "Petugas puskesmas meminta biaya tambahan",  "Akta kelahiran anak belum juga terbit",
    "Jalan rusak di depan sekolah dasar negeri", "Lampu penerangan jalan mati sejak sebulan",
    "Pelayanan BPJS di loket lambat dan kasar",  "Sampah menumpuk di pasar tidak diangkut",
    "Izin usaha OSS ditolak tanpa alasan jelas", "Kartu keluarga salah cetak nama anggota"};
const char* const kSentences[] = {
    "Saya sudah mengajukan permohonan sejak awal bulan lalu dan sampai hari ini belum ada kabar "
    "dari petugas.",
    "Ketika saya datang ke kantor, petugas di loket mengatakan bahwa berkas saya hilang dan "
    "harus diulang dari awal.",
    "Kami warga sekitar sudah berkali-kali melapor ke kelurahan tetapi tidak ada tindak lanjut.",
    "Petugas meminta uang tambahan di luar tarif resmi dengan alasan mempercepat proses.",
    "Antrean dibuka pukul tujuh pagi tetapi nomor antrean sudah habis sebelum pukul delapan.",
    "Situs web layanan sering tidak dapat diakses sehingga kami terpaksa datang langsung.",
    "Kondisi ini sangat merugikan karena usaha kami tidak dapat berjalan tanpa izin tersebut.",
    "Mohon agar pimpinan unit memeriksa pelayanan di loket dan menegur petugas yang "
    "bersangkutan.",
    "Anak saya membutuhkan dokumen ini untuk mendaftar sekolah minggu depan.",
    "Kerusakan ini sudah menyebabkan beberapa pengendara sepeda motor terjatuh."};
const char* const kRemedies[] = {"Permohonan diproses sesuai standar pelayanan",
                                 "Pungutan liar dihentikan dan petugas ditegur",
                                 "Perbaikan segera dilakukan", ""};
const char* const kNames[] = {"Siti Nurhaliza", "Budi Santoso", "Dewi Lestari", "Agus Salim",
                              "Rina Marlina",   "Joko Susilo",  "Putu Ayu",     "Andi Pratama"};
const char* const kStreets[] = {"Jl. Ir. H. Juanda", "Jl. Pajajaran",  "Jl. Merdeka",
                                "Jl. Sudirman",      "Jl. Diponegoro", "Gg. Kenari"};

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  return fallback;
}

std::string AgencyOf(int a) { return kRegencies[a]; }
std::string UnitOf(int a, int u) { return absl::StrCat(kUnitKinds[u], "-", kRegencies[a]); }
std::string ServiceOf(int a, int u, int s) {
  return absl::StrCat(kServiceKinds[u][s], "-", kRegencies[a]);
}

// AddRoutes routes every bench service to its unit and agency (WIB, no standard terms for odd
// services, a 5-working-day standard for even ones).
void AddRoutes(testing::FakeRouter& router) {
  for (int a = 0; a < kAgencies; ++a) {
    for (int u = 0; u < kUnitsPerAgency; ++u) {
      Route unit;
      unit.unit_id = UnitOf(a, u);
      unit.agency_id = AgencyOf(a);
      unit.time_zone = common::v1::TIME_ZONE_WIB;
      unit.region_code = absl::StrFormat("%02d.%02d", 32 + a / 10, 1 + a % 10);
      router.AddUnit(unit);
      for (int s = 0; s < kServicesPerUnit; ++s) {
        Route service = unit;
        service.service_id = ServiceOf(a, u, s);
        if (s == 0) {
          service.standard_version_id = service.service_id + ".v1";
          service.response_working_days = 5;
        }
        router.AddService(service);
      }
    }
  }
}

Identity ChannelCaller(const std::string& channel) {
  Identity id;
  id.principal.set_role(common::v1::ROLE_CHANNEL);
  id.principal.set_scope_all_agencies(true);
  id.principal.set_channel(channel);
  id.principal.set_subject(channel + "-gateway-key");
  return id;
}
Identity AgencyCaller(common::v1::Role role, const std::string& agency, const char* who) {
  Identity id;
  id.principal.set_role(role);
  id.principal.set_agency_id(agency);
  id.principal.set_subject(absl::StrCat(who, "@", agency));
  return id;
}

template <typename T>
T Must(absl::StatusOr<T> result, const char* what) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, result.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(result);
}

RedisReply MustCommand(RedisPool& pool, const std::vector<std::string>& argv) {
  RedisReply reply = Must(pool.Command(argv), argv[0].c_str());
  if (reply.type == RedisReply::Type::kError) {
    std::fprintf(stderr, "%s: %s\n", argv[0].c_str(), reply.str.c_str());
    std::exit(1);
  }
  return reply;
}

// InfoField reads one numeric field of INFO `section`.
int64_t InfoField(RedisPool& pool, const std::string& section, const std::string& field) {
  RedisReply reply = MustCommand(pool, {"INFO", section});
  for (absl::string_view line : absl::StrSplit(reply.str, "\r\n")) {
    if (absl::StartsWith(line, field + ":")) {
      int64_t value = 0;
      if (absl::SimpleAtoi(line.substr(field.size() + 1), &value)) return value;
    }
  }
  std::fprintf(stderr, "INFO %s has no %s\n", section.c_str(), field.c_str());
  std::exit(1);
}

// Family names a group of keys by what follows the store's key prefix. The first match wins,
// so longer prefixes come first. Keep in step with the key layout in redis_store.h.
struct Family {
  const char* label;
  const char* suffix_prefix;
};
const Family kFamilies[] = {
    {"case: record + history (c:<id>)", "c:"},  {"index: all", "ix:all"},
    {"index: by state (s:)", "ix:s:"},          {"index: by agency and state (a:)", "ix:a:"},
    {"index: by unit and state (u:)", "ix:u:"}, {"index: public", "ix:public"},
    {"index: unrouted", "ix:unrouted"},         {"deadline queue (due)", "due"},
    {"idempotency (idem:)", "idem:"},           {"event stream (events)", "events"},
};

struct Tally {
  int64_t keys = 0;
  int64_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int64_t count = 0;
  if (!absl::SimpleAtoi(Flag(argc, argv, "count", "20000"), &count) || count <= 0) {
    std::fprintf(stderr, "--count must be a positive number\n");
    return 2;
  }
  const std::string config = Flag(argc, argv, "config", SIMPUL_REDIS_CONF);
  const bool consumer = Flag(argc, argv, "consumer", "1") != "0";
  SetLogSink([](std::string_view) {});  // one log line per filing otherwise

  auto redis = Must(testing::RedisServer::StartWithConfig(config), "redis-server");
  RedisOptions redis_options;
  redis_options.port = redis->port();
  RedisPool pool(redis_options);
  RedisComplaintStore store(&pool, RedisComplaintStore::Options{});
  testing::FakeRouter router;
  AddRoutes(router);
  auto calendars = Must(CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR), "holidays");
  // Monday 2026-04-06 09:00 WIB.
  FakeClock clock(
      absl::FromCivil(absl::CivilSecond(2026, 4, 6, 9, 0, 0), absl::FixedTimeZone(7 * 3600)));
  ComplaintDesk desk(store, router, *calendars, clock, ComplaintOptions{});

  // The monitoring service's consumer group (services/monitoring/main.cc): it reads from the
  // start and acknowledges what it applied. Simulated here by reading and acknowledging every
  // 50 filings, so it lags by a few hundred events as a busy consumer would.
  const std::string stream = store.EventStreamKey();
  auto consume = [&] {
    RedisReply reply = MustCommand(pool, {"XREADGROUP", "GROUP", "monitoring", "bench", "COUNT",
                                          "100000", "STREAMS", stream, ">"});
    if (reply.is_nil()) return;
    std::vector<std::string> ack = {"XACK", stream, "monitoring"};
    for (const RedisReply& entry : reply.elements[0].elements[1].elements) {
      ack.push_back(entry.elements[0].str);
    }
    if (ack.size() > 3) MustCommand(pool, ack);
  };
  if (consumer) MustCommand(pool, {"XGROUP", "CREATE", stream, "monitoring", "0", "MKSTREAM"});

  const int64_t used_before = InfoField(pool, "memory", "used_memory");
  // Parts of used_memory that are not data, for the "not in MEMORY USAGE" row.
  const char* const kOverheads[] = {"used_memory_overhead", "mem_clients_normal", "mem_aof_buffer",
                                    "used_memory_scripts", "mem_cluster_links"};
  std::map<std::string, int64_t> overhead_before;
  for (const char* field : kOverheads) overhead_before[field] = InfoField(pool, "memory", field);
  std::mt19937_64 rng(20260406);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  int64_t received = 0, responded = 0, completed = 0, history_entries = 0;
  int64_t request_bytes = 0;
  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < count; ++i) {
    // A real clock has nanoseconds, which take room in every stored timestamp.
    clock.Advance(absl::Seconds(pick(60)) +
                  absl::Nanoseconds(static_cast<int64_t>(rng() % 1000000000)));
    if (consumer && i % 50 == 0) consume();
    const int a = pick(kAgencies), u = pick(kUnitsPerAgency), s = pick(kServicesPerUnit);
    v1::FileComplaintRequest req;
    Identity caller;
    switch (i % 3) {
      case 0:  // the public web form: a UUID as the idempotency key
        req.set_channel(v1::CHANNEL_WEB);
        req.set_idempotency_key(absl::StrFormat("%08x-%04x-4%03x-a%03x-%012x", rng() >> 32,
                                                rng() & 0xffff, rng() & 0xfff, rng() & 0xfff,
                                                rng() & 0xffffffffffffULL));
        break;
      case 1:
        req.set_channel(v1::CHANNEL_SMS);
        req.set_idempotency_key(absl::StrCat("sms-1708-msg-", 4000000 + i));
        caller = ChannelCaller("sms-1708");
        break;
      default:
        req.set_channel(v1::CHANNEL_MOBILE_APP);
        req.set_idempotency_key(absl::StrFormat("app-%016x", rng()));
        caller = ChannelCaller("app-lapor");
        break;
    }
    req.set_report_type(i % 10 == 9 ? v1::REPORT_TYPE_ASPIRATION : v1::REPORT_TYPE_COMPLAINT);
    req.set_service_id(ServiceOf(a, u, s));
    req.set_title(kTitles[pick(10)]);
    // Distinct sentences: a repeated one would compress unrealistically well.
    std::string description;
    const size_t target = 200 + static_cast<size_t>(pick(100));
    int order[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::shuffle(std::begin(order), std::end(order), rng);
    for (int k = 0; k < 10 && description.size() < target; ++k) {
      if (!description.empty()) description += " ";
      description += kSentences[order[k]];
    }
    if (description.size() > 300) description.resize(300);
    req.set_description(description);
    req.set_remedy_requested(kRemedies[pick(4)]);
    if (i % 2 == 0) {
      req.mutable_location()->set_address(
          absl::StrCat(kStreets[pick(6)], " No. ", 1 + pick(200), ", ", AgencyOf(a)));
      req.mutable_location()->set_region_code(
          absl::StrFormat("%02d.%02d.%02d", 32 + a / 10, 1 + a % 10, 1 + pick(12)));
    }
    if (i % 3 == 1) {  // a third give their identity (SECRET unless they ask for PUBLIC)
      const char* name = kNames[pick(8)];
      req.mutable_complainant()->set_name(name);
      req.mutable_complainant()->set_phone(
          absl::StrFormat("+62 812-%04d-%04d", pick(10000), pick(10000)));
      std::string first(name);
      first = absl::AsciiStrToLower(first.substr(0, first.find(' ')));
      req.mutable_complainant()->set_email(absl::StrCat(first, pick(1000), "@example.id"));
      if (pick(4) == 0) req.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
    }
    request_bytes += static_cast<int64_t>(req.ByteSizeLong());
    v1::FileComplaintResponse filed = Must(desk.FileComplaint(caller, req), "FileComplaint");
    history_entries += 1;

    const std::string& id = filed.tracking_code();
    const std::string agency = AgencyOf(a);
    const Identity admin = AgencyCaller(common::v1::ROLE_AGENCY_ADMIN, agency, "admin");
    const Identity op = AgencyCaller(common::v1::ROLE_AGENCY_OPERATOR, agency, "operator");
    const int fate = static_cast<int>(i % 10);  // 0: RECEIVED, 1-3: COMPLETED, 4-9: RESPONDED
    if (fate == 0) {
      ++received;
      continue;
    }
    v1::VerifyComplaintRequest verify;
    verify.set_id(id);
    verify.set_note("Berkas lengkap, diteruskan ke unit");
    // Each step a while after the previous one (the clock only moves forward; the next filing
    // follows the last step).
    auto later = [&] {
      clock.Advance(absl::Seconds(1 + pick(300)) +
                    absl::Nanoseconds(static_cast<int64_t>(rng() % 1000000000)));
    };
    later();
    Must(desk.VerifyComplaint(admin, verify), "VerifyComplaint");
    v1::DisposeComplaintRequest dispose;
    dispose.set_id(id);
    later();
    Must(desk.DisposeComplaint(admin, dispose), "DisposeComplaint");
    v1::StartWorkRequest start_work;
    start_work.set_id(id);
    later();
    Must(desk.StartWork(op, start_work), "StartWork");
    v1::PostFollowUpRequest follow_up;
    follow_up.set_id(id);
    follow_up.set_message(
        "Terima kasih atas laporan Anda. Petugas kami sudah memeriksa berkas dan akan "
        "menghubungi Anda dalam tiga hari kerja.");
    later();
    Must(desk.PostFollowUp(op, follow_up), "PostFollowUp");
    history_entries += 4;
    if (fate <= 3) {
      v1::CompleteComplaintRequest complete;
      complete.set_id(id);
      complete.set_note("Permohonan telah diproses dan diterbitkan");
      later();
      Must(desk.CompleteComplaint(op, complete), "CompleteComplaint");
      history_entries += 1;
      ++completed;
    } else {
      ++responded;
    }
  }
  const double load_s = absl::ToDoubleSeconds(absl::Now() - start);
  const int64_t used_after = InfoField(pool, "memory", "used_memory");
  std::map<std::string, int64_t> overhead_delta;
  for (const char* field : kOverheads) {
    overhead_delta[field] = InfoField(pool, "memory", field) - overhead_before[field];
  }
  const int64_t delta = used_after - used_before;

  // Breakdown: every key of the store, grouped by family.
  const std::string prefix = store.KeyPrefix();
  std::map<std::string, Tally> tally;
  std::string cursor = "0";
  std::vector<std::string> keys;
  do {
    RedisReply reply = MustCommand(pool, {"SCAN", cursor, "COUNT", "1000"});
    cursor = reply.elements[0].str;
    for (const RedisReply& k : reply.elements[1].elements) keys.push_back(k.str);
  } while (cursor != "0");
  for (size_t begin = 0; begin < keys.size(); begin += 500) {
    const size_t end = std::min(keys.size(), begin + 500);
    std::vector<std::vector<std::string>> commands;
    for (size_t k = begin; k < end; ++k) {
      commands.push_back({"MEMORY", "USAGE", keys[k], "SAMPLES", "0"});
    }
    RedisConnection conn = Must(pool.Acquire(), "acquire");
    std::vector<RedisReply> replies = Must(conn.Pipeline(commands), "MEMORY USAGE");
    for (size_t k = begin; k < end; ++k) {
      std::string label = "other keys";
      if (absl::StartsWith(keys[k], prefix)) {
        const std::string suffix = keys[k].substr(prefix.size());
        for (const Family& f : kFamilies) {
          if (absl::StartsWith(suffix, f.suffix_prefix)) {
            label = f.label;
            break;
          }
        }
      }
      Tally& t = tally[label];
      t.keys += 1;
      t.bytes += replies[k - begin].integer;
    }
  }

  std::printf(
      "complaint_memory_bench: %lld complaints (%lld RECEIVED, %lld RESPONDED, %lld "
      "COMPLETED; %.2f history entries each) filed and handled in %.1f s\n",
      static_cast<long long>(count), static_cast<long long>(received),
      static_cast<long long>(responded), static_cast<long long>(completed),
      static_cast<double>(history_entries) / count, load_s);
  std::printf("redis-server with %s; mean FileComplaintRequest %.0f bytes\n", config.c_str(),
              static_cast<double>(request_bytes) / count);
  std::printf("event consumer: %s\n", consumer
                                          ? "a monitoring group acknowledging every 50 filings"
                                          : "none (--consumer=0: every event stays in the stream)");
  std::printf("used_memory before %lld, after %lld, delta %lld bytes\n",
              static_cast<long long>(used_before), static_cast<long long>(used_after),
              static_cast<long long>(delta));
  std::printf("BYTES PER COMPLAINT: %.0f (target <= 2048)\n\n", static_cast<double>(delta) / count);
  std::printf("| key family | keys | bytes (MEMORY USAGE) | bytes / complaint | share |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  int64_t accounted = 0;
  auto row = [&](const std::string& label, int64_t keys_n, int64_t bytes) {
    std::printf("| %s | %lld | %lld | %.0f | %.1f%% |\n", label.c_str(),
                static_cast<long long>(keys_n), static_cast<long long>(bytes),
                static_cast<double>(bytes) / count, 100.0 * static_cast<double>(bytes) / delta);
  };
  for (const Family& f : kFamilies) {
    auto it = tally.find(f.label);
    if (it == tally.end()) continue;
    row(f.label, it->second.keys, it->second.bytes);
    accounted += it->second.bytes;
  }
  if (auto it = tally.find("other keys"); it != tally.end()) {
    row("other keys", it->second.keys, it->second.bytes);
    accounted += it->second.bytes;
  }
  row("not in MEMORY USAGE (key table, expires table, scripts, buffers)", 0, delta - accounted);
  row("total (used_memory delta)", static_cast<int64_t>(keys.size()), delta);
  std::printf("\nINFO memory deltas:");
  for (const char* field : kOverheads) {
    std::printf(" %s %+lld", field, static_cast<long long>(overhead_delta[field]));
  }
  std::printf(
      "\n(used_memory_overhead counts the key and expires tables and the clients, "
      "besides the other fields)\n");
  // Mean serialized sizes of what the store keeps, from a sample of cases.
  {
    std::map<std::string, double> field_bytes;
    double record_bytes = 0, entry_bytes = 0, entries = 0;
    const int sample = static_cast<int>(std::min<int64_t>(count, 500));
    auto page = Must(store.Scan(AllIndex(), 0, INT64_MAX, std::nullopt, sample), "Scan");
    for (const IndexedRecord& item : page) {
      record_bytes += item.record.ByteSizeLong();
      const v1::Complaint& c = item.record.complaint();
      const auto* reflection = c.GetReflection();
      std::vector<const google::protobuf::FieldDescriptor*> fields;
      reflection->ListFields(c, &fields);
      for (const auto* f : fields) {
        v1::Complaint only = c;
        for (const auto* g : fields) {
          if (g != f) only.GetReflection()->ClearField(&only, g);
        }
        field_bytes[f->name()] += only.ByteSizeLong();
      }
      for (const v1::HistoryEntry& e : Must(store.History(c.id()), "History")) {
        entry_bytes += e.ByteSizeLong();
        entries += 1;
      }
    }
    std::printf("\nserialized sizes (mean of %zu cases): ComplaintRecord %.0f, HistoryEntry %.0f\n",
                page.size(), record_bytes / page.size(), entry_bytes / entries);
    std::vector<std::pair<double, std::string>> sorted;
    for (const auto& [name, bytes] : field_bytes) sorted.push_back({bytes / page.size(), name});
    std::sort(sorted.rbegin(), sorted.rend());
    std::printf("Complaint fields by mean bytes:");
    for (const auto& [bytes, name] : sorted) std::printf(" %s=%.0f", name.c_str(), bytes);
    std::printf("\n");
    RedisReply events =
        MustCommand(pool, {"XRANGE", store.EventStreamKey(), "-", "+", "COUNT", "1000"});
    double event_bytes = 0;
    for (const RedisReply& e : events.elements) event_bytes += e.elements[1].elements[3].str.size();
    if (!events.elements.empty()) {
      std::printf("ComplaintEvent payload %.0f bytes (mean of %zu)\n",
                  event_bytes / events.elements.size(), events.elements.size());
    }
  }
  std::printf("\nevents in the stream: %lld\n",
              static_cast<long long>(MustCommand(pool, {"XLEN", store.EventStreamKey()}).integer));
  return 0;
}
