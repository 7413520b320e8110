// Registry test data shared by unit, integration and end-to-end tests: a complete standard
// (all 14 components filled), agencies and units shaped like the real ones.
#ifndef SIMPUL_TESTS_TESTING_REGISTRY_FIXTURES_H_
#define SIMPUL_TESTS_TESTING_REGISTRY_FIXTURES_H_

#include <string>

#include "simpul/common/v1/common.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::testing {

namespace rv1 = ::simpul::registry::v1;

inline common::v1::Date MakeDate(int y, int m, int d) {
  common::v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

// CompleteComponents is a birth-certificate standard with all 14 components filled.
inline rv1::StandardComponents CompleteComponents() {
  rv1::StandardComponents c;
  auto* law = c.add_legal_basis();
  law->set_citation("UU No. 24 Tahun 2013");
  law->set_title("Perubahan atas UU No. 23 Tahun 2006 tentang Administrasi Kependudukan");
  auto* r1 = c.add_requirements();
  r1->set_description("Surat keterangan kelahiran dari rumah sakit atau bidan");
  r1->set_kind(rv1::REQUIREMENT_KIND_ADMINISTRATIVE);
  auto* r2 = c.add_requirements();
  r2->set_description("Kartu keluarga orang tua");
  r2->set_kind(rv1::REQUIREMENT_KIND_ADMINISTRATIVE);
  c.add_procedure("Pemohon mengisi formulir F-2.01 dan menyerahkan persyaratan");
  c.add_procedure("Petugas memverifikasi berkas");
  c.add_procedure("Kepala dinas menandatangani akta kelahiran");
  c.mutable_completion_time()->set_amount(1);
  c.mutable_completion_time()->set_unit(rv1::TIME_UNIT_WORKING_DAY);
  c.mutable_fee()->set_amount_idr(0);
  c.mutable_fee()->set_note("Tidak dipungut biaya");
  c.add_products("Kutipan akta kelahiran");
  auto* f = c.add_facilities();
  f->set_description("Loket prioritas dan kursi roda");
  f->set_for_vulnerable_groups(true);
  c.add_staff_competences("Memahami administrasi kependudukan");
  c.set_internal_supervision("Pengawasan oleh kepala bidang dan inspektorat");
  auto* h = c.mutable_complaint_handling();
  h->add_channels("SP4N-LAPOR! (lapor.go.id, SMS 1708)");
  h->add_channels("Kotak pengaduan di ruang tunggu");
  h->set_procedure("Pengaduan dicatat, diverifikasi dan ditindaklanjuti");
  h->set_response_working_days(5);
  auto* rc = h->add_resolution_classes();
  rc->set_name("ringan");
  rc->set_working_days(2);
  c.set_staff_count(12);
  c.set_service_guarantee("Akta selesai dalam 1 hari kerja");
  c.set_security_guarantee("Data pemohon dijaga kerahasiaannya");
  c.set_staff_evaluation("Evaluasi kinerja pelaksana setiap semester");
  return c;
}

inline rv1::Agency MakeAgency(const std::string& id, rv1::AgencyKind kind,
                              const std::string& region) {
  rv1::Agency a;
  a.set_id(id);
  a.set_name("Pemerintah " + id);
  a.set_kind(kind);
  a.set_region_code(region);
  return a;
}

// MakeWibUnit is service unit `id` of `agency`, named `name`, in WIB.
inline rv1::ServiceUnit MakeWibUnit(const std::string& id, const std::string& agency,
                                    const std::string& name) {
  rv1::ServiceUnit u;
  u.set_id(id);
  u.set_agency_id(agency);
  u.set_name(name);
  u.set_time_zone(common::v1::TIME_ZONE_WIB);
  return u;
}

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_REGISTRY_FIXTURES_H_
