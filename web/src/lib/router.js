// The front's paths. Every path below is served by the gateway with index.html; main.js picks
// the page. Links between pages are plain <a href> that the shell turns into history
// navigation; navigate() does the same from code.
export const ROUTES = [
  // [pattern, page module name, parameter names]
  [/^\/$/, 'standards', []],
  [/^\/standar\/([^/]+)$/, 'standard', ['serviceId']],
  [/^\/kinerja$/, 'dashboard', []],
  [/^\/pengaduan$/, 'complaints', []],
  [/^\/pengaduan\/baru$/, 'file', []],
  [/^\/lacak$/, 'track', []],
  [/^\/petugas(?:\/.*)?$/, 'officer', []],
  [/^\/api$/, 'reference', []],
];

// match returns { page, params } of a path, or null (the shell shows "not found").
export function match(pathname) {
  for (const [pattern, page, names] of ROUTES) {
    const m = pattern.exec(pathname);
    if (m) {
      const params = {};
      names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
      return { page, params };
    }
  }
  return null;
}

const listeners = new Set();

export function onNavigate(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// navigate goes to a same-origin path (with its query), adding a history entry unless
// `replace`.
export function navigate(to, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const listener of listeners) listener();
}

window.addEventListener('popstate', () => { for (const listener of listeners) listener(); });
