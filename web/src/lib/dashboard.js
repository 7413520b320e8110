// The performance dashboard's model: scopes and periods as the URL keeps them
// (?scope=&id=&period=) and as the monitoring API takes them (scope.*, period.*), period
// arithmetic for the time series, and labels in the current language.
import { lang, locale } from './i18n.js';

export const SCOPES = ['national', 'region', 'agency', 'unit'];
export const KINDS = { M: 'PERIOD_KIND_MONTH', Q: 'PERIOD_KIND_QUARTER', S: 'PERIOD_KIND_SEMESTER',
                       Y: 'PERIOD_KIND_YEAR' };
const PER_YEAR = { M: 12, Q: 4, S: 2, Y: 1 };
// How many periods a time series shows, ending at the chosen one.
export const SERIES_LENGTH = { M: 12, Q: 8, S: 6, Y: 5 };
export const REGION_PATTERN = /^[1-9]\d(\.\d{2}(\.\d{2}(\.[123]\d{3})?)?)?$/;

// Today's date in WIB (UTC+7), the westernmost zone: a period that has begun there has begun
// for every unit and scope, so the default period is never refused as "in the future".
function todayWib() {
  const d = new Date(Date.now() + 7 * 3600 * 1000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1 };
}

// A period in the URL: "2026-M12", "2026-Q4", "2026-S2" or "2026".
export function parsePeriod(text) {
  const m = /^(\d{4})(?:-([MQS])(\d{1,2}))?$/.exec(text ?? '');
  if (!m) return null;
  const year = Number(m[1]);
  const k = m[2] ?? 'Y';
  const index = m[3] ? Number(m[3]) : 0;
  if (year < 2000 || (k !== 'Y' && (index < 1 || index > PER_YEAR[k]))) return null;
  return { k, year, index };
}

// periodBegun tells whether a period has begun in WIT (UTC+9), the easternmost zone, where
// the API counts the start of agency, region and national periods; a unit's own zone may be
// up to two hours behind, which the API then reports.
export function periodBegun(p) {
  const d = new Date(Date.now() + 9 * 3600 * 1000);
  const first = { M: p.index, Q: (p.index - 1) * 3 + 1, S: (p.index - 1) * 6 + 1, Y: 1 }[p.k];
  return p.year < d.getUTCFullYear() ||
    (p.year === d.getUTCFullYear() && first <= d.getUTCMonth() + 1);
}

export function periodKey(p) { return p.k === 'Y' ? String(p.year) : `${p.year}-${p.k}${p.index}`; }

export function currentPeriod(k = 'M') {
  const { year, month } = todayWib();
  const index = { M: month, Q: Math.ceil(month / 3), S: Math.ceil(month / 6), Y: 0 }[k];
  return { k, year, index };
}

// shift moves a period by n periods of its kind (n may be negative).
export function shift(p, n) {
  if (p.k === 'Y') return { ...p, year: p.year + n };
  const per = PER_YEAR[p.k];
  const flat = p.year * per + (p.index - 1) + n;
  return { k: p.k, year: Math.floor(flat / per), index: (flat % per) + 1 };
}

export function periodQuery(p, prefix = 'period') {
  return { [`${prefix}.kind`]: KINDS[p.k], [`${prefix}.year`]: p.year,
           [`${prefix}.index`]: p.k === 'Y' ? 0 : p.index };
}

// A scope in the URL ({ scope, id }) as the API's query parameters.
export function scopeQuery({ scope, id }) {
  switch (scope) {
    case 'unit': return { 'scope.unit_id': id };
    case 'agency': return { 'scope.agency_id': id };
    case 'region': return { 'scope.region_code_prefix': id };
    default: return { 'scope.national': 'true' };
  }
}

// A period from the API ({ kind, year, index }) in the URL's form.
export function fromApi(period) {
  const k = Object.keys(KINDS).find((key) => KINDS[key] === period?.kind) ?? 'Y';
  return { k, year: period?.year ?? 0, index: k === 'Y' ? 0 : period?.index ?? 1 };
}

const ROMAN = ['', 'I', 'II', 'III', 'IV'];
const monthFormats = new Map();
function monthFormat(short) {
  const key = `${locale()}|${short}`;
  if (!monthFormats.has(key)) {
    monthFormats.set(key, new Intl.DateTimeFormat(locale(), {
      month: short ? 'short' : 'long', year: 'numeric', timeZone: 'UTC' }));
  }
  return monthFormats.get(key);
}

// periodLabel: "Des 2026", "Triwulan IV 2026", "Semester 2 2026", "2026" (short: for axes).
export function periodLabel(p, { short = false } = {}) {
  const id = lang() === 'id';
  switch (p.k) {
    case 'M': return monthFormat(short).format(new Date(Date.UTC(p.year, p.index - 1, 1)));
    case 'Q': return short ? `${id ? 'TW' : 'Q'}${p.index} ${p.year}`
      : `${id ? 'Triwulan' : 'Quarter'} ${id ? ROMAN[p.index] : p.index} ${p.year}`;
    case 'S': return short ? `S${p.index} ${p.year}` : `Semester ${p.index} ${p.year}`;
    default: return String(p.year);
  }
}

// number from a decimal string of the API ("76.03"); null when empty.
export function decimal(text) {
  if (text === undefined || text === null || text === '') return null;
  const n = Number(text);
  return Number.isNaN(n) ? null : n;
}

// count from an int64 (a string in JSON; absent means 0).
export function count(text) { return Number(text ?? 0); }

// Number formats of the current language, made once: a dashboard formats a few hundred
// numbers per render (tables, cards, chart axes), and a new Intl.NumberFormat for each costs
// more than the rest of the render.
const formats = new Map();
function format(digits) {
  const key = `${locale()}|${digits}`;
  if (!formats.has(key)) {
    formats.set(key, new Intl.NumberFormat(locale(), digits === null ? {}
      : { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  }
  return formats.get(key);
}

// fixed formats a number with `digits` decimals ("82,51" in Indonesian); '–' when missing.
export function fixed(value, digits = 2) {
  if (value === undefined || value === null || value === '') return '–';
  return format(digits).format(Number(value));
}

// whole formats a count ("1.234" in Indonesian).
export function whole(value) { return format(null).format(Number(value ?? 0)); }
