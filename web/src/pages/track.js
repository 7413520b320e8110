// Page "track" (/lacak): the complainant follows a case with its tracking code and secret
// (TrackComplaint), and replies, rates or reopens it. The code may come from ?code=; the
// secret lives only in this page's memory (never in the URL or in storage), so it is asked
// again after a reload. Every action reads the case again and says what happened.
import './track.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { actionWords, Deadlines, FieldError, fieldId, fieldProps, StateBadge, stateNote,
         stateWords, t as ct, useNames, violations } from '../lib/complaints.js';
import { onLang, texts } from '../lib/i18n.js';
import { navigate } from '../lib/router.js';
import { date, ErrorBox, html } from '../lib/ui.js';

const TEXT = {
  id: {
    title: 'Lacak pengaduan',
    intro: 'Masukkan kode pelacakan dan kode rahasia yang Anda terima saat mengajukan pengaduan.',
    code: 'Kode pelacakan',
    codeHint: 'Sepuluh huruf dan angka, misalnya 7KQ2M-XW9DT.',
    secret: 'Kode rahasia',
    secretHint: 'Kode rahasia tidak disimpan di peramban ini; masukkan lagi setiap kali.',
    show: 'Lihat pengaduan',
    loading: 'Memuat…',
    other: 'Lacak pengaduan lain',
    case: (code) => `Pengaduan ${code}`,
    state: 'Status',
    service: 'Layanan',
    agency: 'Instansi yang menangani',
    unrouted: 'menunggu diteruskan oleh koordinator',
    filed: 'Diajukan',
    confidentiality: 'Kerahasiaan',
    titleField: 'Judul',
    description: 'Uraian',
    rating: 'Penilaian Anda',
    ratingValue: (n) => `${n} dari 5`,
    history: 'Perkembangan dan percakapan',
    from: (a, b) => `${a} → ${b}`,
    reasonLabel: 'Keterangan',
    you: 'Anda',
    reply: 'Balas',
    replyHelp: {
      STATE_RESPONDED: 'Bila tanggapan unit belum menyelesaikan masalah, balas di sini: ' +
        'pengaduan kembali ditindaklanjuti.',
      STATE_ON_HOLD: 'Instansi meminta keterangan tambahan. Balasan Anda melengkapi laporan.',
    },
    replyDefault: 'Tambahkan keterangan untuk instansi yang menangani.',
    message: 'Pesan',
    send: 'Kirim balasan',
    replied: 'Balasan terkirim.',
    rate: 'Beri penilaian',
    rateHelp: 'Seberapa puas Anda dengan penanganan pengaduan ini? 1 = sangat tidak puas, ' +
      '5 = sangat puas.',
    stars: (n) => `${n}`,
    comment: 'Komentar (tidak wajib)',
    sendRating: 'Kirim penilaian',
    rated: 'Penilaian terkirim. Terima kasih.',
    reopen: 'Buka kembali',
    reopenHelp: (until) => `Bila masalah belum selesai, Anda dapat membuka kembali pengaduan ` +
      `sampai ${until}. Sebutkan alasannya.`,
    reason: 'Alasan',
    sendReopen: 'Buka kembali pengaduan',
    reopened: 'Pengaduan dibuka kembali.',
    sending: 'Mengirim…',
    attachments: 'Lampiran',
    attachmentsHint: 'Berkas yang diunggah untuk pengaduan ini.',
    open: (name) => `Unduh ${name}`,
    redacted: 'dihapus oleh instansi',
    published: 'ditampilkan untuk umum',
    bytes: (n) => `${(n / 1024).toFixed(1)} KB`,
    attachment: (n) => `Lampiran ${n}`,
  },
  en: {
    title: 'Track a complaint',
    intro: 'Enter the tracking code and the secret you received when you filed the complaint.',
    code: 'Tracking code',
    codeHint: 'Ten letters and digits, e.g. 7KQ2M-XW9DT.',
    secret: 'Secret',
    secretHint: 'The secret is not stored in this browser; enter it each time.',
    show: 'Show the complaint',
    loading: 'Loading…',
    other: 'Track another complaint',
    case: (code) => `Complaint ${code}`,
    state: 'Status',
    service: 'Service',
    agency: 'Handling agency',
    unrouted: 'waiting for a coordinator to route it',
    filed: 'Filed',
    confidentiality: 'Confidentiality',
    titleField: 'Title',
    description: 'Description',
    rating: 'Your rating',
    ratingValue: (n) => `${n} of 5`,
    history: 'Progress and conversation',
    from: (a, b) => `${a} → ${b}`,
    reasonLabel: 'Note',
    you: 'You',
    reply: 'Reply',
    replyHelp: {
      STATE_RESPONDED: "If the unit's response did not solve the problem, reply here: the " +
        'complaint goes back to the unit.',
      STATE_ON_HOLD: 'The agency asked for more information. Your reply completes the report.',
    },
    replyDefault: 'Add information for the agency handling it.',
    message: 'Message',
    send: 'Send the reply',
    replied: 'Your reply was sent.',
    rate: 'Rate the handling',
    rateHelp: 'How satisfied are you with how this complaint was handled? 1 = very dissatisfied, ' +
      '5 = very satisfied.',
    stars: (n) => `${n}`,
    comment: 'Comment (optional)',
    sendRating: 'Send the rating',
    rated: 'Your rating was sent. Thank you.',
    reopen: 'Reopen',
    reopenHelp: (until) => `If the problem is not solved, you may reopen the complaint until ` +
      `${until}. Say why.`,
    reason: 'Reason',
    sendReopen: 'Reopen the complaint',
    reopened: 'The complaint was reopened.',
    sending: 'Sending…',
    attachments: 'Attachments',
    attachmentsHint: 'Files uploaded for this complaint.',
    open: (name) => `Download ${name}`,
    redacted: 'deleted by the agency',
    published: 'shown to the public',
    bytes: (n) => `${(n / 1024).toFixed(1)} KB`,
    attachment: (n) => `Attachment ${n}`,
  },
};

function path(code, verb) { return `/v1/complaints/${encodeURIComponent(code)}:${verb}`; }

// ActionForm is one of the complainant's actions (reply, rate, reopen): its own fields, the
// API's errors by them, a busy state.
function useAction(creds, verb, onDone) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async (body) => {
    setBusy(true);
    setError(null);
    try {
      await api(path(creds.code, verb), { method: 'POST',
                                          body: { secret: creds.secret, ...body } });
      await onDone(verb);
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, errors: violations(error), busy, run };
}

function Reply({ creds, state, onDone }) {
  const t = texts(TEXT);
  const [message, setMessage] = useState('');
  const a = useAction(creds, 'reply', onDone);
  const help = t('replyHelp')[state] ?? t('replyDefault');
  const submit = async (e) => {
    e.preventDefault();
    if (await a.run({ message })) setMessage('');
  };
  return html`<section class="tr-action" aria-labelledby="tr-reply-h">
    <h3 id="tr-reply-h">${t('reply')}</h3>
    <p class="muted" id="tr-reply-help">${help}</p>
    <form onSubmit=${submit} novalidate data-testid="reply-form">
      <label for=${fieldId('message')}>${t('message')}</label>
      <textarea ...${fieldProps('message', a.errors, 'tr-reply-help')} maxlength="4000"
                data-testid="reply-message" value=${message}
                onInput=${(e) => setMessage(e.currentTarget.value)}></textarea>
      <${FieldError} path="message" errors=${a.errors} />
      ${a.error && !a.error.fieldViolations?.length ? html`<${ErrorBox} error=${a.error} />`
        : null}
      <p><button type="submit" disabled=${a.busy} data-testid="reply-send">${
        a.busy ? t('sending') : t('send')}</button></p>
    </form>
  </section>`;
}

function Rate({ creds, onDone }) {
  const t = texts(TEXT);
  const [rating, setRating] = useState(0);
  const [comment, setComment] = useState('');
  const a = useAction(creds, 'rate', onDone);
  const submit = (e) => {
    e.preventDefault();
    a.run({ rating, comment });
  };
  return html`<section class="tr-action" aria-labelledby="tr-rate-h">
    <h3 id="tr-rate-h">${t('rate')}</h3>
    <form onSubmit=${submit} novalidate data-testid="rate-form">
      <fieldset id=${fieldId('rating')} aria-describedby=${[a.errors.rating ? 'f-rating-error' : '',
                                                            'tr-rate-help'].join(' ').trim()}>
        <legend>${t('rate')}</legend>
        <p class="muted" id="tr-rate-help">${t('rateHelp')}</p>
        <div class="tr-stars">${[1, 2, 3, 4, 5].map((n) => html`<span>
          <input type="radio" id=${`tr-rate-${n}`} name="rating" value=${n}
                 checked=${rating === n} onChange=${() => setRating(n)} />
          <label for=${`tr-rate-${n}`}>${t('stars', n)}</label></span>`)}</div>
        <${FieldError} path="rating" errors=${a.errors} />
      </fieldset>
      <label for=${fieldId('comment')}>${t('comment')}</label>
      <textarea ...${fieldProps('comment', a.errors)} maxlength="1000" value=${comment}
                onInput=${(e) => setComment(e.currentTarget.value)}></textarea>
      <${FieldError} path="comment" errors=${a.errors} />
      ${a.error && !a.error.fieldViolations?.length ? html`<${ErrorBox} error=${a.error} />`
        : null}
      <p><button type="submit" disabled=${a.busy}>${a.busy ? t('sending')
                                                           : t('sendRating')}</button></p>
    </form>
  </section>`;
}

function Reopen({ creds, until, onDone }) {
  const t = texts(TEXT);
  const [reason, setReason] = useState('');
  const a = useAction(creds, 'reopen', onDone);
  const submit = async (e) => {
    e.preventDefault();
    if (await a.run({ reason })) setReason('');
  };
  return html`<section class="tr-action" aria-labelledby="tr-reopen-h">
    <h3 id="tr-reopen-h">${t('reopen')}</h3>
    <p class="muted" id="tr-reopen-help">${t('reopenHelp', date(until))}</p>
    <form onSubmit=${submit} novalidate data-testid="reopen-form">
      <label for=${fieldId('reason')}>${t('reason')}</label>
      <textarea ...${fieldProps('reason', a.errors, 'tr-reopen-help')} maxlength="1000"
                value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>
      <${FieldError} path="reason" errors=${a.errors} />
      ${a.error && !a.error.fieldViolations?.length ? html`<${ErrorBox} error=${a.error} />`
        : null}
      <p><button type="submit" disabled=${a.busy}>${a.busy ? t('sending')
                                                           : t('sendReopen')}</button></p>
    </form>
  </section>`;
}

// Attachments lists the case's uploads the complainant may see (ListAttachments with the
// secret, a POST so the secret stays out of URLs); each opens as a download (GetAttachment).
function Attachments({ creds, revision }) {
  const t = texts(TEXT);
  const [list, setList] = useState([]);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    api(`/v1/complaints/${encodeURIComponent(creds.code)}/attachments:list`,
        { method: 'POST', body: { secret: creds.secret } })
      .then((r) => live && setList(r?.attachments ?? []), (e) => live && setError(e));
    return () => { live = false; };
  }, [creds.code, creds.secret, revision]);
  const download = async (a, n) => {
    setError(null);
    try {
      const r = await api(`/v1/complaints/${encodeURIComponent(creds.code)}/attachments/${
        encodeURIComponent(a.id)}:get`, { method: 'POST', body: { secret: creds.secret } });
      const raw = atob(r?.content ?? '');
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      const url = URL.createObjectURL(new Blob([bytes], { type: r?.attachment?.media_type ||
                                                          'application/octet-stream' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `${creds.code}-${n}.${(r?.attachment?.media_type ?? '').split('/')[1] ||
                                              'bin'}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      setError(e);
    }
  };
  if (!list.length && !error) return null;
  return html`<section aria-labelledby="tr-att-h" data-testid="attachments">
    <h2 id="tr-att-h">${t('attachments')}</h2>
    <p class="muted">${t('attachmentsHint')}</p>
    <${ErrorBox} error=${error} />
    <ul class="tr-attachments">${list.map((a, i) => {
      const name = a.description || t('attachment', i + 1);
      return html`<li key=${a.id}>
        ${a.redacted ? html`<span>${name} <span class="muted">(${t('redacted')})</span></span>`
          : html`<button type="button" class="secondary" data-testid="attachment"
                         onClick=${() => download(a, i + 1)}
                         aria-label=${t('open', name)}>${name}</button>`}
        <span class="muted"> ${a.media_type} · ${t('bytes', Number(a.size_bytes ?? 0))}${
          a.published ? ` · ${t('published')}` : ''}</span></li>`;
    })}</ul>
  </section>`;
}

function History({ entries }) {
  const t = texts(TEXT);
  return html`<section aria-labelledby="tr-history-h">
    <h2 id="tr-history-h">${t('history')}</h2>
    <ol class="tr-history" data-testid="history">${entries.map((e) => html`
      <li key=${e.sequence} data-action=${e.action}
          class=${e.actor_kind === 'ACTOR_KIND_COMPLAINANT' ? 'tr-mine' : ''}>
        <p class="tr-when"><time datetime=${e.time}>${date(e.time)}</time>${' · '}<strong>${actionWords(e.action)}</strong>
          ${e.to_state && e.from_state !== e.to_state ? html` · ${e.from_state
            ? t('from', stateWords(e.from_state), stateWords(e.to_state))
            : stateWords(e.to_state)}` : null}
          ${e.rating ? html` · ${e.rating}/5` : null}</p>
        ${e.message ? html`<p class="tr-message">${e.message}</p>` : null}
        ${e.reason ? html`<p class="tr-reason"><span class="muted">${t('reasonLabel')}:</span> ${
          e.reason}</p>` : null}
      </li>`)}</ol>
  </section>`;
}

function CaseView({ data, creds, onDone, notice }) {
  const t = texts(TEXT);
  const c = data.complaint ?? {};
  const names = useNames([c.service_id]);
  const heading = useRef(null);
  useEffect(() => { heading.current?.focus(); }, [c.id]);
  const reopenOpen = c.state === 'STATE_COMPLETED' && c.deadlines?.reopen_until &&
    new Date(c.deadlines.reopen_until) > new Date();
  const canReply = c.state && c.state !== 'STATE_COMPLETED' && c.state !== 'STATE_ARCHIVED';
  return html`<section class="tr-case" data-testid="case" aria-labelledby="tr-case-h">
    <h2 id="tr-case-h" ref=${heading} tabindex="-1">${t('case', c.id)}</h2>
    <p role="status" class="tr-notice" data-testid="notice">${notice}</p>
    <div class="tr-state card">
      <p>${t('state')}: <${StateBadge} state=${c.state} /></p>
      <p data-testid="state-note">${stateNote(c, data.status_note)}</p>
    </div>
    <dl class="cp-facts tr-facts">
      ${c.title ? html`<div><dt>${t('titleField')}</dt><dd>${c.title}</dd></div>` : null}
      ${c.description ? html`<div><dt>${t('description')}</dt><dd class="cp-text">${
        c.description}</dd></div>` : null}
      ${c.service_id ? html`<div><dt>${t('service')}</dt><dd>${names.service(c.service_id)}</dd>
        </div>` : null}
      <div><dt>${t('agency')}</dt><dd>${c.agency_id ? names.agency(c.agency_id)
                                                      : t('unrouted')}</dd></div>
      ${c.file_time ? html`<div><dt>${t('filed')}</dt><dd>${date(c.file_time)}</dd></div>` : null}
      ${c.confidentiality ? html`<div><dt>${t('confidentiality')}</dt><dd>${
        ct(c.confidentiality)}</dd></div>` : null}
      ${c.rating ? html`<div><dt>${t('rating')}</dt><dd>${t('ratingValue', c.rating)}</dd></div>`
        : null}
    </dl>
    <${Deadlines} deadlines=${c.deadlines} overdue=${c.overdue} />
    <${History} entries=${data.history ?? []} />
    <${Attachments} creds=${creds} revision=${c.update_time} />
    ${canReply ? html`<${Reply} creds=${creds} state=${c.state} onDone=${onDone} />` : null}
    ${c.state === 'STATE_COMPLETED' && !c.rating
      ? html`<${Rate} creds=${creds} onDone=${onDone} />` : null}
    ${reopenOpen ? html`<${Reopen} creds=${creds} until=${c.deadlines.reopen_until}
                                   onDone=${onDone} />` : null}
  </section>`;
}

export default function Page({ query }) {
  const t = texts(TEXT);
  const [code, setCode] = useState(query.get('code') ?? '');
  const [secret, setSecret] = useState('');
  const [creds, setCreds] = useState(null);  // { code, secret } of the case shown
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState('');
  const errorRef = useRef(null);
  const credsRef = useRef(null);
  const queryCode = query.get('code') ?? '';
  // A link to /lacak?code=… while this page is open fills the code in (the secret stays).
  useEffect(() => { if (!credsRef.current) setCode(queryCode); }, [queryCode]);
  credsRef.current = creds;

  const load = async (c) => {
    const r = await api(path(c.code, 'track'), { method: 'POST', body: { secret: c.secret } });
    setData(r);
    return r;
  };
  // The API's texts follow the language: read the case again after a switch.
  useEffect(() => onLang(() => { if (credsRef.current) load(credsRef.current).catch(() => {}); }),
            []);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNotice('');
    const c = { code: code.trim().toUpperCase(), secret: secret.trim() };
    try {
      await load(c);
      setCreds(c);
      navigate(`/lacak?code=${encodeURIComponent(c.code)}`, { replace: true });
    } catch (err) {
      setData(null);
      setCreds(null);
      setError(err);
      setTimeout(() => errorRef.current?.querySelector('[role=alert]')?.focus(), 0);
    } finally {
      setBusy(false);
    }
  };
  const done = async (verb) => {
    await load(credsRef.current);
    setNotice(t(verb === 'reply' ? 'replied' : verb === 'rate' ? 'rated' : 'reopened'));
  };
  const other = () => {
    setCreds(null); setData(null); setSecret(''); setCode(''); setNotice('');
    navigate('/lacak', { replace: true });
  };
  const errors = violations(error);

  return html`<section class="tr-page">
    <h1>${t('title')}</h1>
    ${creds && data ? html`
      <p><button type="button" class="secondary" onClick=${other}>${t('other')}</button></p>
      <${CaseView} data=${data} creds=${creds} onDone=${done} notice=${notice} />` : html`
      <p>${t('intro')}</p>
      <form onSubmit=${submit} novalidate data-testid="track-form" class="tr-form">
        <label for=${fieldId('tracking_code')}>${t('code')}</label>
        <p class="muted" id="tr-code-hint">${t('codeHint')}</p>
        <input ...${fieldProps('tracking_code', errors, 'tr-code-hint')} autocomplete="off"
               spellcheck="false" autocapitalize="characters" data-testid="track-code"
               value=${code} onInput=${(e) => setCode(e.currentTarget.value)} />
        <${FieldError} path="tracking_code" errors=${errors} />
        <label for=${fieldId('secret')}>${t('secret')}</label>
        <p class="muted" id="tr-secret-hint">${t('secretHint')}</p>
        <input ...${fieldProps('secret', errors, 'tr-secret-hint')} type="password"
               autocomplete="off" spellcheck="false" data-testid="track-secret" value=${secret}
               onInput=${(e) => setSecret(e.currentTarget.value)} />
        <${FieldError} path="secret" errors=${errors} />
        <div ref=${errorRef}>${error ? html`<${ErrorBox} error=${error} />` : null}</div>
        <p><button type="submit" disabled=${busy} data-testid="track-submit">${
          busy ? t('loading') : t('show')}</button></p>
      </form>`}
  </section>`;
}
