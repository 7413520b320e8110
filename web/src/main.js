// The shell of Simpul's web front: header, navigation, language switch, and the page of the
// current path, loaded on demand (each page is its own chunk).
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { lang, onLang, setLang, texts } from './lib/i18n.js';
import { match, navigate, onNavigate } from './lib/router.js';
import { ErrorBox, html, Loading } from './lib/ui.js';

const PAGES = {
  standards: () => import('./pages/standards.js'),
  standard: () => import('./pages/standard.js'),
  dashboard: () => import('./pages/dashboard.js'),
  complaints: () => import('./pages/complaints.js'),
  file: () => import('./pages/file.js'),
  track: () => import('./pages/track.js'),
  officer: () => import('./pages/officer.js'),
  reference: () => import('./pages/reference.js'),
};

const TEXT = {
  id: {
    skip: 'Langsung ke isi',
    tagline: 'Standar, pengaduan dan kinerja pelayanan publik',
    nav: 'Menu utama',
    standards: 'Standar pelayanan',
    dashboard: 'Kinerja',
    complaints: 'Pengaduan',
    file: 'Ajukan pengaduan',
    track: 'Lacak pengaduan',
    officer: 'Petugas',
    reference: 'API',
    switchTo: 'English',
    switchLabel: 'Switch to English',
    notFound: 'Halaman tidak ditemukan.',
    footer: 'Simpul: sesuai Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik.',
  },
  en: {
    skip: 'Skip to content',
    tagline: 'Public service standards, complaints and performance',
    nav: 'Main menu',
    standards: 'Service standards',
    dashboard: 'Performance',
    complaints: 'Complaints',
    file: 'File a complaint',
    track: 'Track a complaint',
    officer: 'Officers',
    reference: 'API',
    switchTo: 'Bahasa Indonesia',
    switchLabel: 'Ganti ke Bahasa Indonesia',
    notFound: 'Page not found.',
    footer: 'Simpul: under Law 25 of 2009 on Public Services.',
  },
};

const NAV = [['/', 'standards'], ['/kinerja', 'dashboard'], ['/pengaduan', 'complaints'],
             ['/pengaduan/baru', 'file'], ['/lacak', 'track'], ['/petugas', 'officer'],
             ['/api', 'reference']];

function usePage(pathname) {
  const [state, setState] = useState({ pathname: null, module: null, error: null });
  useEffect(() => {
    const found = match(pathname);
    if (!found) {
      setState({ pathname, module: null, error: null });
      return;
    }
    let live = true;
    PAGES[found.page]().then(
      (module) => live && setState({ pathname, module, error: null }),
      (error) => live && setState({ pathname, module: null, error }));
    return () => { live = false; };
  }, [pathname]);
  return state;
}

function App() {
  const [, setLangState] = useState(lang());
  const [location, setLocation] = useState(
    { pathname: window.location.pathname, search: window.location.search });
  useEffect(() => onLang(setLangState), []);
  useEffect(() => onNavigate(() => {
    setLocation({ pathname: window.location.pathname, search: window.location.search });
    window.scrollTo(0, 0);
  }), []);
  const t = texts(TEXT);
  const page = usePage(location.pathname);
  const found = match(location.pathname);
  const section = NAV.filter(([href]) => href === '/' ? location.pathname === '/' ||
      location.pathname.startsWith('/standar/') : location.pathname === href ||
      (href !== '/pengaduan' && location.pathname.startsWith(`${href}/`)))
    .map(([href]) => href)[0];
  let body;
  if (!found) body = html`<h1>${t('notFound')}</h1>`;
  else if (page.error) body = html`<${ErrorBox} error=${page.error} />`;
  else if (!page.module || page.pathname !== location.pathname) body = html`<${Loading} />`;
  else {
    const Page = page.module.default;
    body = html`<${Page} params=${found.params}
                  query=${new URLSearchParams(location.search)} />`;
  }
  return html`
    <a class="skip" href="#main">${t('skip')}</a>
    <header class="site">
      <div class="brand">
        <a href="/" class="logo"><img src="/favicon.svg" alt="" width="28" height="28" />Simpul</a>
        <span class="tagline">${t('tagline')}</span>
      </div>
      <button type="button" class="lang" aria-label=${t('switchLabel')}
              lang=${lang() === 'id' ? 'en' : 'id'} data-testid="lang-switch"
              onClick=${() => setLang(lang() === 'id' ? 'en' : 'id')}>${t('switchTo')}</button>
      <nav aria-label=${t('nav')}>
        <ul>${NAV.map(([href, key]) => html`<li><a href=${href}
          aria-current=${section === href ? 'page' : undefined}>${t(key)}</a></li>`)}</ul>
      </nav>
    </header>
    <main id="main" tabindex="-1">${body}</main>
    <footer class="site"><p>${t('footer')}</p></footer>`;
}

// Same-origin links navigate in place; new tabs, downloads and other origins are left alone.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey) return;
  const a = event.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.origin !== window.location.origin) return;
  if (a.pathname.startsWith('/v1/') || a.pathname.startsWith('/open311/') ||
      a.pathname === '/openapi.json' || a.getAttribute('href').startsWith('#')) return;
  event.preventDefault();
  navigate(a.pathname + a.search + a.hash);
});

render(html`<${App} />`, document.getElementById('app'));
