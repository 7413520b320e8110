// Page "officer" (/petugas, /petugas/kasus/<id>): the complaint officers' console (issue #17,
// point 3). Sign-in with an agency API key (a session: the key stays with the gateway behind an
// HttpOnly cookie), the agency's inbox and one case with the actions its state allows.
import './officer.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { texts } from '../lib/i18n.js';
import { restore, session, sessionEnded, onSession, signIn, signOut } from '../lib/session.js';
import { ErrorBox, html, Loading } from '../lib/ui.js';
import { word } from './officer-common.js';
import Inbox from './officer-inbox.js';
import Case from './officer-case.js';

const TEXT = {
  id: {
    title: 'Konsol petugas pengaduan',
    intro: 'Untuk petugas pengaduan instansi: verifikasi, disposisi, tindak lanjut dan penyelesaian ' +
      'kasus di kotak masuk instansi Anda.',
    keyLabel: 'Kunci API instansi',
    keyHelp: 'Kunci API diterbitkan oleh admin instansi Anda (atau oleh operator Simpul) untuk ' +
      'setiap petugas; mintalah kepada admin bila belum punya. Kunci hanya dikirim sekali untuk ' +
      'membuka sesi: peramban tidak menyimpannya. Sesi berakhir setelah 30 menit tanpa ' +
      'aktivitas, paling lama 8 jam.',
    signIn: 'Masuk',
    signingIn: 'Memeriksa kunci…',
    ended: 'Sesi Anda telah berakhir. Silakan masuk lagi.',
    signedOut: 'Anda telah keluar.',
    who: 'Masuk sebagai',
    allAgencies: 'semua instansi',
    signOut: 'Keluar',
  },
  en: {
    title: 'Complaint officer console',
    intro: 'For an agency\'s complaint officers: verify, pass on, follow up and close the cases ' +
      'of your agency\'s inbox.',
    keyLabel: 'Agency API key',
    keyHelp: 'API keys are issued by your agency\'s admin (or by Simpul\'s operator) to each ' +
      'officer; ask your admin if you have none. The key is sent once to open a session: the ' +
      'browser does not keep it. A session ends after 30 minutes without activity, at most 8 ' +
      'hours.',
    signIn: 'Sign in',
    signingIn: 'Checking the key…',
    ended: 'Your session has ended. Please sign in again.',
    signedOut: 'You have signed out.',
    who: 'Signed in as',
    allAgencies: 'all agencies',
    signOut: 'Sign out',
  },
};

function SignIn({ signedOut }) {
  const t = texts(TEXT);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const form = useRef(null);
  const ended = sessionEnded();
  async function submit(event) {
    event.preventDefault();
    const input = form.current.elements.api_key;
    setBusy(true);
    setError(null);
    try {
      // The key goes from the field to the request and nowhere else; the field is emptied
      // whatever the answer.
      const pending = signIn(input.value.trim());
      input.value = '';
      await pending;
    } catch (e) {
      setError(e);
      setBusy(false);
      input.focus();
    }
  }
  const invalid = error?.fieldViolations?.some((v) => v.field === 'api_key') || error?.status === 401;
  return html`<section class="officer-signin">
    <h1>${t('title')}</h1>
    <p>${t('intro')}</p>
    ${ended ? html`<p class="notice" role="status" data-testid="session-ended">${t('ended')}</p>`
      : signedOut ? html`<p class="notice" role="status" data-testid="signed-out">${t('signedOut')}</p>` : null}
    <form ref=${form} onSubmit=${submit} data-testid="signin-form" autocomplete="off" novalidate>
      <label for="officer-key">${t('keyLabel')}</label>
      <input id="officer-key" name="api_key" type="password" autocomplete="off" spellcheck="false"
             autocapitalize="off" required aria-describedby="officer-key-help"
             aria-invalid=${invalid ? 'true' : undefined} data-testid="signin-key" />
      <p id="officer-key-help" class="muted">${t('keyHelp')}</p>
      <button type="submit" disabled=${busy} data-testid="signin-submit">
        ${busy ? t('signingIn') : t('signIn')}</button>
    </form>
    <${ErrorBox} error=${error} />
  </section>`;
}

function Who({ principal, onSignedOut }) {
  const t = texts(TEXT);
  const [error, setError] = useState(null);
  async function out() {
    setError(null);
    try {
      await signOut();
      onSignedOut();
    } catch (e) { setError(e); }
  }
  return html`<div class="officer-who">
    <p data-testid="who"><span class="muted">${t('who')}:</span>${' '}
      <strong>${word(principal.role)}</strong>${' · '}
      <span data-testid="who-agency">${principal.agency_id || t('allAgencies')}</span>
      ${' · '}<code>${principal.subject}</code></p>
    <button type="button" class="secondary" onClick=${out} data-testid="signout">${t('signOut')}</button>
    <${ErrorBox} error=${error} />
  </div>`;
}

export default function Page() {
  const [current, setCurrent] = useState(session());
  const [error, setError] = useState(null);
  const [signedOut, setSignedOut] = useState(false);
  useEffect(() => onSession((s) => setCurrent(s)), []);
  useEffect(() => {
    if (current === undefined) restore().then(setCurrent, setError);
  }, []);
  if (error) return html`<h1>${texts(TEXT)('title')}</h1><${ErrorBox} error=${error} />`;
  if (current === undefined) return html`<h1>${texts(TEXT)('title')}</h1><${Loading} />`;
  if (!current) return html`<${SignIn} signedOut=${signedOut} />`;
  const path = window.location.pathname;
  const caseMatch = /^\/petugas\/kasus\/([^/]+)$/.exec(path);
  return html`<div class="officer">
    <${Who} principal=${current.principal} onSignedOut=${() => setSignedOut(true)} />
    ${caseMatch
      ? html`<${Case} id=${decodeURIComponent(caseMatch[1])} principal=${current.principal} />`
      : html`<${Inbox} principal=${current.principal} />`}
  </div>`;
}
