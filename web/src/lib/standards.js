// Shared pieces of the standards pages (search, one standard): how a promised time, a fee and
// a state read in each language, and the names of agencies and units, read once per visit.
import { api } from './api.js';
import { locale, texts } from './i18n.js';

const TEXT = {
  id: {
    TIME_UNIT_MINUTE: (n) => `${n} menit`,
    TIME_UNIT_HOUR: (n) => `${n} jam`,
    TIME_UNIT_WORKING_DAY: (n) => `${n} hari kerja`,
    TIME_UNIT_CALENDAR_DAY: (n) => `${n} hari kalender`,
    timeMissing: 'Belum diisi',
    free: 'Tidak dipungut biaya (gratis)',
    feeMissing: 'Belum diisi',
    STANDARD_STATE_DRAFT: 'Rancangan',
    STANDARD_STATE_PUBLIC_CONSULTATION: 'Konsultasi publik',
    STANDARD_STATE_ADOPTED: 'Berlaku',
    STANDARD_STATE_SUPERSEDED: 'Digantikan',
    STANDARD_STATE_WITHDRAWN: 'Dicabut',
    sandbox: 'uji coba',
  },
  en: {
    TIME_UNIT_MINUTE: (n) => `${n} minute${n === 1 ? '' : 's'}`,
    TIME_UNIT_HOUR: (n) => `${n} hour${n === 1 ? '' : 's'}`,
    TIME_UNIT_WORKING_DAY: (n) => `${n} working day${n === 1 ? '' : 's'}`,
    TIME_UNIT_CALENDAR_DAY: (n) => `${n} calendar day${n === 1 ? '' : 's'}`,
    timeMissing: 'Not filled in',
    free: 'Free of charge',
    feeMissing: 'Not filled in',
    STANDARD_STATE_DRAFT: 'Draft',
    STANDARD_STATE_PUBLIC_CONSULTATION: 'Public consultation',
    STANDARD_STATE_ADOPTED: 'In force',
    STANDARD_STATE_SUPERSEDED: 'Superseded',
    STANDARD_STATE_WITHDRAWN: 'Withdrawn',
    sandbox: 'sandbox',
  },
};

// completionTime reads a CompletionTime ({amount, unit}) as "1 hari kerja".
export function completionTime(time) {
  const t = texts(TEXT);
  if (!time?.amount || !time.unit || time.unit === 'TIME_UNIT_UNSPECIFIED') return t('timeMissing');
  return t(time.unit, Number(time.amount));
}

// rupiah formats whole rupiah, e.g. "Rp 50.000".
export function rupiah(amount) {
  return Number(amount).toLocaleString(locale(), { style: 'currency', currency: 'IDR',
                                                    maximumFractionDigits: 0 });
}

// fee reads a Fee: unset is "not filled in", amount 0 (absent in JSON) is free.
export function fee(f) {
  const t = texts(TEXT);
  if (!f) return t('feeMissing');
  const amount = Number(f.amount_idr ?? 0);
  return amount === 0 ? t('free') : rupiah(amount);
}

export function stateName(state) { return texts(TEXT)(state || 'STANDARD_STATE_UNSPECIFIED'); }

// sandboxLabel is the mark after the name of a sandbox agency or unit.
export function sandboxLabel() { return texts(TEXT)('sandbox'); }

// Agencies and units change rarely: one read per visit, shared by the pages.
let agenciesPromise = null;
const unitPromises = new Map();
const agencyPromises = new Map();

// agencies lists every agency (the registry holds a few hundred), sorted by name.
export function agencies() {
  if (!agenciesPromise) {
    agenciesPromise = (async () => {
      const all = [];
      let token = '';
      do {
        const page = await api('/v1/agencies', { query: { 'page.page_size': 500,
                                                          'page.page_token': token } });
        all.push(...(page?.agencies ?? []));
        token = page?.next_page_token ?? '';
      } while (token);
      return all.sort((a, b) => a.name.localeCompare(b.name, 'id'));
    })();
    agenciesPromise.catch(() => { agenciesPromise = null; });
  }
  return agenciesPromise;
}

function cached(map, key, load) {
  if (!map.has(key)) {
    const p = load();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return map.get(key);
}

// unit reads one service unit (cached).
export function unit(id) {
  return cached(unitPromises, id, () => api(`/v1/units/${encodeURIComponent(id)}`)
    .then((r) => r.unit));
}

// agency reads one agency (cached).
export function agency(id) {
  return cached(agencyPromises, id, () => api(`/v1/agencies/${encodeURIComponent(id)}`)
    .then((r) => r.agency));
}

// unitsOf lists the units of one agency (first 500), sorted by name.
export function unitsOf(agencyId) {
  return cached(unitPromises, `agency:${agencyId}`, () => api('/v1/units', {
    query: { agency_id: agencyId, 'page.page_size': 500 },
  }).then((r) => (r?.units ?? []).sort((a, b) => a.name.localeCompare(b.name, 'id'))));
}

// unitsIn lists the units whose region code starts with `prefix` (first 500), sorted by name.
export function unitsIn(prefix) {
  return cached(unitPromises, `region:${prefix}`, () => api('/v1/units', {
    query: { region_code_prefix: prefix, 'page.page_size': 500 },
  }).then((r) => (r?.units ?? []).sort((a, b) => a.name.localeCompare(b.name, 'id'))));
}

// unitNames finds the names of units (id → name) with as few calls as the public rate limit
// asks for: one listing of the agency's or region's units when given one, then the units not
// in it one after another (never a burst of parallel reads). `onName` gets each name found.
export async function unitNames(ids, { agencyId, regionPrefix, onName, signal }) {
  const missing = new Set(ids);
  try {
    const list = agencyId ? await unitsOf(agencyId) : regionPrefix ? await unitsIn(regionPrefix)
      : [];
    for (const u of list) {
      if (missing.delete(u.id)) onName(u.id, u.name);
    }
  } catch { /* fall back to one read per unit */ }
  for (const id of missing) {
    if (signal?.aborted) return;
    try {
      const u = await unit(id);
      if (u?.name) onName(id, u.name);
    } catch { /* the id stays as the name */ }
  }
}
