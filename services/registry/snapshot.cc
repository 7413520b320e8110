#include "services/registry/snapshot.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/backoff.h"
#include "common/logging.h"
#include "common/status.h"

namespace simpul::registry {
namespace {

bool Contains(const std::vector<std::string>& sorted, const std::string& value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

}  // namespace

v1::StandardVersion PublicView(v1::StandardVersion version) {
  version.set_view(v1::STANDARD_VIEW_PUBLIC);
  auto* c = version.mutable_components();
  c->clear_legal_basis();
  c->clear_facilities();
  c->clear_staff_competences();
  c->clear_internal_supervision();
  c->clear_staff_count();
  c->clear_service_guarantee();
  c->clear_security_guarantee();
  c->clear_staff_evaluation();
  return version;
}

RegistrySnapshot::RegistrySnapshot(RegistryStore& store, const Clock& clock,
                                   SnapshotOptions options)
    : store_(store), clock_(clock), options_(options) {}

RegistrySnapshot::~RegistrySnapshot() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void RegistrySnapshot::Start() {
  thread_ = std::thread([this] { Run(); });
}

void RegistrySnapshot::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (!stop_.HasBeenNotified()) stop_.Notify();
}

void RegistrySnapshot::Run() {
  Backoff backoff(Backoff::Options{.initial = absl::Milliseconds(50), .max = absl::Seconds(1)});
  absl::StatusCode last_code = absl::StatusCode::kOk;
  while (!stop_.HasBeenNotified()) {
    absl::Status status = Poll(options_.poll_block);
    if (status.ok()) {
      if (last_code != absl::StatusCode::kOk) Log(LogLevel::kInfo, "registry snapshot in sync");
      last_code = absl::StatusCode::kOk;
      backoff.Reset();
      continue;
    }
    if (status.code() != last_code) {
      Log(LogLevel::kWarn, "registry snapshot cannot follow the change feed",
          {{"error", status.ToString()}});
    }
    last_code = status.code();
    // OUT_OF_RANGE dropped the snapshot: load again at once.
    if (status.code() == absl::StatusCode::kOutOfRange) continue;
    stop_.WaitForNotificationWithTimeout(backoff.Next());
  }
}

bool RegistrySnapshot::ServingLocked() const {
  return state_ != nullptr && !stopped_ && clock_.Now() - synced_at_ <= options_.max_staleness;
}

bool RegistrySnapshot::Serving() const {
  absl::ReaderMutexLock lock(&mu_);
  return ServingLocked();
}

absl::Status RegistrySnapshot::Poll(absl::Duration block) {
  bool loaded;
  {
    absl::ReaderMutexLock lock(&mu_);
    loaded = state_ != nullptr;
  }
  if (!loaded) SIMPUL_RETURN_IF_ERROR(Load());
  const absl::Time started = clock_.Now();
  absl::StatusOr<std::vector<v1::ChangeEvent>> events =
      store_.ReadChanges(cursor_, options_.feed_batch, block);
  if (!events.ok()) {
    if (events.status().code() == absl::StatusCode::kOutOfRange) {
      absl::MutexLock lock(&mu_);
      state_.reset();  // a gap or a feed that went backwards: never serve what may be stale
    }
    return events.status();
  }
  Prepared prepared;
  for (const v1::ChangeEvent& event : *events) {
    for (const v1::ChangedObject& object : event.objects()) Prepare(object, prepared);
  }
  absl::MutexLock lock(&mu_);
  if (state_ == nullptr) return absl::OkStatus();  // dropped meanwhile: load next time
  ApplyLocked(std::move(prepared));
  if (!events->empty()) cursor_ = events->back().cursor();
  // Fewer events than asked for: everything committed before `started` is applied.
  if (static_cast<int>(events->size()) < options_.feed_batch) synced_at_ = started;
  return absl::OkStatus();
}

absl::Status RegistrySnapshot::Load() {
  // The cursor first: whatever changes while the listings run is in the feed after it, and
  // applying it again is harmless (older revisions are ignored).
  SIMPUL_ASSIGN_OR_RETURN(std::string cursor, store_.LatestCursor());
  auto state = std::make_unique<State>();
  std::string after;
  while (true) {
    SIMPUL_ASSIGN_OR_RETURN(std::vector<v1::Service> page,
                            store_.ListServices(ServiceFilter{}, after, options_.load_batch));
    for (const v1::Service& s : page) ApplyService(*state, s);
    if (static_cast<int>(page.size()) < options_.load_batch) break;
    after = page.back().id();
  }
  after.clear();
  while (true) {
    SIMPUL_ASSIGN_OR_RETURN(std::vector<v1::StandardVersion> page,
                            store_.SearchStandards(StandardQuery{}, after, options_.load_batch));
    for (const v1::StandardVersion& v : page) {
      ApplyVersion(
          *state, PreparedVersion{
                      .id = v.id(),
                      .revision = v.revision(),
                      .published = v.state() == v1::STANDARD_STATE_ADOPTED ? Publish(v) : nullptr});
    }
    if (static_cast<int>(page.size()) < options_.load_batch) break;
    after = page.back().id();
  }
  absl::MutexLock lock(&mu_);
  state_ = std::move(state);
  synced_at_ = absl::InfinitePast();  // serves once the feed after `cursor` is applied
  cursor_ = std::move(cursor);
  return absl::OkStatus();
}

std::shared_ptr<const PublishedStandard> RegistrySnapshot::Publish(
    const v1::StandardVersion& version) {
  auto standard = std::make_shared<PublishedStandard>();
  standard->id = version.id();
  standard->agency_id = version.agency_id();
  standard->unit_id = version.unit_id();
  v1::StandardVersion full = version;
  full.set_view(v1::STANDARD_VIEW_FULL);
  standard->full_bytes = full.SerializeAsString();
  standard->public_bytes = PublicView(std::move(full)).SerializeAsString();
  standard->tokens = KeywordTokens(version);
  standard->regions = RegionPrefixes(version.region_code());
  return standard;
}

void RegistrySnapshot::ApplyService(State& state, const v1::Service& service) {
  ServiceEntry& entry = state.services[service.id()];
  if (entry.revision >= service.revision()) return;
  entry.revision = service.revision();
  entry.current_version_id = service.current_version_id();
}

void RegistrySnapshot::Index(State& state, std::string_view id, const PublishedStandard& s) {
  for (const std::string& t : s.tokens) state.by_token[t].insert(id);
  for (const std::string& r : s.regions) state.by_region[r].insert(id);
  state.by_agency[s.agency_id].insert(id);
  state.by_unit[s.unit_id].insert(id);
}

void RegistrySnapshot::Unindex(State& state, std::string_view id, const PublishedStandard& s) {
  auto drop = [id](std::map<std::string, Postings, std::less<>>& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second.erase(id);
    if (it->second.empty()) index.erase(it);
  };
  for (const std::string& t : s.tokens) drop(state.by_token, t);
  for (const std::string& r : s.regions) drop(state.by_region, r);
  drop(state.by_agency, s.agency_id);
  drop(state.by_unit, s.unit_id);
}

void RegistrySnapshot::ApplyVersion(State& state, PreparedVersion version) {
  int64_t& revision = state.version_revisions[version.id];
  if (revision >= version.revision) return;
  revision = version.revision;
  auto it = state.published.find(version.id);
  if (it != state.published.end()) {
    Unindex(state, it->first, *it->second);
    if (version.published == nullptr) {
      state.published.erase(it);
      return;
    }
    it->second = std::move(version.published);
  } else {
    if (version.published == nullptr) return;
    it = state.published.emplace(version.id, std::move(version.published)).first;
  }
  Index(state, it->first, *it->second);  // views of the map's key, stable while it stays
}

void RegistrySnapshot::Prepare(const v1::ChangedObject& object, Prepared& out) {
  if (object.has_service()) {
    out.services.push_back(object.service());
  } else if (object.has_standard_version()) {
    const v1::StandardVersion& v = object.standard_version();
    out.versions.push_back(PreparedVersion{
        .id = v.id(),
        .revision = v.revision(),
        .published = v.state() == v1::STANDARD_STATE_ADOPTED ? Publish(v) : nullptr});
  }
}

void RegistrySnapshot::Apply(const std::vector<v1::ChangedObject>& objects) {
  Prepared prepared;
  for (const v1::ChangedObject& object : objects) Prepare(object, prepared);
  absl::MutexLock lock(&mu_);
  ApplyLocked(std::move(prepared));
}

void RegistrySnapshot::ApplyLocked(Prepared prepared) {
  if (state_ == nullptr) return;  // loading: the load and the feed after it bring the change
  // Services and versions are separate maps and each object is judged by its own revision,
  // so the order between the two kinds does not matter.
  for (const v1::Service& s : prepared.services) ApplyService(*state_, s);
  for (PreparedVersion& v : prepared.versions) ApplyVersion(*state_, std::move(v));
}

std::optional<RegistrySnapshot::CurrentLookup> RegistrySnapshot::Current(
    std::string_view service_id) const {
  absl::ReaderMutexLock lock(&mu_);
  if (!ServingLocked()) return std::nullopt;
  CurrentLookup out;
  auto service = state_->services.find(AbslView(service_id));
  if (service == state_->services.end()) return out;
  out.service_found = true;
  out.current_version_id = service->second.current_version_id;
  if (out.current_version_id.empty()) return out;
  auto standard = state_->published.find(out.current_version_id);
  if (standard != state_->published.end()) out.standard = standard->second;
  return out;
}

std::optional<std::vector<std::shared_ptr<const PublishedStandard>>>
RegistrySnapshot::SearchPublished(const StandardQuery& query, std::string_view after_id,
                                  int limit) const {
  for (v1::StandardState s : query.states) {
    if (s != v1::STANDARD_STATE_ADOPTED) return std::nullopt;
  }
  std::vector<std::shared_ptr<const PublishedStandard>> out;
  absl::ReaderMutexLock lock(&mu_);
  if (!ServingLocked()) return std::nullopt;
  if (query.states.empty()) return std::nullopt;  // every state: only the store has them all
  // The smallest posting list drives the walk, as in the store; every candidate is then
  // checked against the whole query.
  const Postings* driver = nullptr;
  bool none = false;
  auto consider = [&](const std::map<std::string, Postings, std::less<>>& index,
                      const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) {
      none = true;
      return;
    }
    if (driver == nullptr || it->second.size() < driver->size()) driver = &it->second;
  };
  if (!query.agency_id.empty()) consider(state_->by_agency, query.agency_id);
  if (!query.unit_id.empty()) consider(state_->by_unit, query.unit_id);
  if (!query.region_code_prefix.empty()) consider(state_->by_region, query.region_code_prefix);
  for (const std::string& t : query.keyword_tokens) consider(state_->by_token, t);
  if (none || limit <= 0) return out;
  auto matches = [&](const PublishedStandard& s) {
    if (!query.agency_id.empty() && s.agency_id != query.agency_id) return false;
    if (!query.unit_id.empty() && s.unit_id != query.unit_id) return false;
    if (!query.region_code_prefix.empty() && !Contains(s.regions, query.region_code_prefix)) {
      return false;
    }
    for (const std::string& t : query.keyword_tokens) {
      if (!Contains(s.tokens, t)) return false;
    }
    return true;
  };
  if (driver == nullptr) {
    for (auto it = state_->published.upper_bound(after_id);
         it != state_->published.end() && static_cast<int>(out.size()) < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  for (auto it = driver->upper_bound(after_id);
       it != driver->end() && static_cast<int>(out.size()) < limit; ++it) {
    auto entry = state_->published.find(*it);
    if (entry != state_->published.end() && matches(*entry->second)) out.push_back(entry->second);
  }
  return out;
}

RegistrySnapshot::Stats RegistrySnapshot::stats() const {
  absl::ReaderMutexLock lock(&mu_);
  Stats stats;
  if (state_ == nullptr) return stats;
  stats.services = state_->services.size();
  stats.versions = state_->version_revisions.size();
  stats.published = state_->published.size();
  // Heap estimates: a map or set node ~48 bytes plus its payload, a hash slot ~1.2x its pair.
  size_t bytes = 0;
  for (const auto& [id, s] : state_->services) {
    bytes += 64 + id.capacity() + s.current_version_id.capacity();
  }
  bytes += state_->version_revisions.size() * 64;
  for (const auto& [id, v] : state_->version_revisions) bytes += id.capacity();
  for (const auto& [id, p] : state_->published) {
    bytes += 48 + id.capacity() + sizeof(PublishedStandard) + p->id.capacity() +
             p->agency_id.capacity() + p->unit_id.capacity() + p->full_bytes.capacity() +
             p->public_bytes.capacity();
    for (const std::string& t : p->tokens) bytes += sizeof(std::string) + t.capacity();
    for (const std::string& r : p->regions) bytes += sizeof(std::string) + r.capacity();
  }
  for (const auto* index :
       {&state_->by_token, &state_->by_agency, &state_->by_unit, &state_->by_region}) {
    for (const auto& [key, postings] : *index) {
      bytes += 96 + key.capacity() + postings.size() * 48;
    }
  }
  stats.approx_bytes = bytes;
  return stats;
}

}  // namespace simpul::registry
