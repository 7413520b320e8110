// The front's two languages: Bahasa Indonesia by default, English on request. The choice comes
// from ?lang= (kept for later visits) or from the last choice (localStorage), never from the
// browser alone: public services in Indonesia speak Indonesian first.
//
// Every module keeps its own texts: const TEXT = { id: {...}, en: {...} }, where a value is a
// string or a function of arguments; t = texts(TEXT) then t('key', ...args). A key missing in
// English falls back to Indonesian, a key missing in both shows itself (a visible bug).
const KEY = 'simpul.lang';
const listeners = new Set();

function initial() {
  const asked = new URLSearchParams(window.location.search).get('lang');
  if (asked === 'id' || asked === 'en') {
    try { window.localStorage.setItem(KEY, asked); } catch { /* private mode */ }
    return asked;
  }
  try { return window.localStorage.getItem(KEY) === 'en' ? 'en' : 'id'; } catch { return 'id'; }
}

let current = initial();
document.documentElement.lang = current;

export function lang() { return current; }

// setLang switches the language of the whole front (the shell re-renders every page).
export function setLang(next) {
  if (next !== 'id' && next !== 'en') throw new Error(`unknown language "${next}"`);
  current = next;
  document.documentElement.lang = next;
  try { window.localStorage.setItem(KEY, next); } catch { /* private mode */ }
  for (const listener of listeners) listener(next);
}

// onLang calls `listener` after every switch; returns the function that stops it.
export function onLang(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// texts returns t(key, ...args) over one module's dictionary in the current language.
export function texts(dict) {
  return (key, ...args) => {
    const value = dict[current]?.[key] ?? dict.id?.[key];
    if (value === undefined) return key;
    return typeof value === 'function' ? value(...args) : value;
  };
}

// locale is the Intl locale of the current language (numbers, dates).
export function locale() { return current === 'en' ? 'en-GB' : 'id-ID'; }
