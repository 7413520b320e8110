// Small shared pieces of the pages: the html template tag (htm over Preact: no build step for
// templates, no inline script), an error box, a loading line and formatting in the current
// language.
import htm from 'htm';
import { h } from 'preact';
import { locale, texts } from './i18n.js';

export const html = htm.bind(h);

const TEXT = {
  id: { loading: 'Memuat…', error: 'Terjadi kesalahan', request: (id) => `ID permintaan: ${id}` },
  en: { loading: 'Loading…', error: 'Something went wrong', request: (id) => `Request ID: ${id}` },
};

export function Loading() {
  const t = texts(TEXT);
  return html`<p class="loading" role="status">${t('loading')}</p>`;
}

// ErrorBox shows an ApiError (or any Error): the message, each field violation and the
// request id to quote to support.
export function ErrorBox({ error }) {
  const t = texts(TEXT);
  if (!error) return null;
  return html`<div class="error" role="alert">
    <strong>${t('error')}:</strong> ${error.message}
    ${error.fieldViolations?.length ? html`<ul>${error.fieldViolations.map(
      (v) => html`<li><code>${v.field}</code>: ${v.description}</li>`)}</ul>` : null}
    ${error.requestId ? html`<p class="muted">${t('request', error.requestId)}</p>` : null}
  </div>`;
}

// date formats an RFC 3339 timestamp (proto3 JSON) as a date and time in the current language.
export function date(rfc3339, { time = true } = {}) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  return d.toLocaleString(locale(), time ? { dateStyle: 'medium', timeStyle: 'short' }
                                           : { dateStyle: 'medium' });
}

// number formats a number in the current language (e.g. 82,51 in Indonesian).
export function number(value, digits = 2) {
  if (value === undefined || value === null || value === '') return '–';
  return Number(value).toLocaleString(locale(), { maximumFractionDigits: digits,
                                                   minimumFractionDigits: digits });
}
