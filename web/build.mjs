// web/build.mjs: builds Simpul's web front into static files that simpul-gateway serves
// (--web_root). Usage: node build.mjs [--out DIR] (default ../build/web).
//
// Output:
//   index.html                 the one page shell; every path of the front is served with it
//   assets/<name>-<hash>.js    the code, split per page (a page loads only its own chunk)
//   assets/<name>-<hash>.css
//   favicon.svg
//   <file>.gz                  a gzip copy of every text file, served to clients that accept it
//   manifest.json              each file with its size and gzip size, and per page the
//                              JavaScript it loads (the 300 KB budget is checked from it)
// Nothing is fetched at run time: every dependency is bundled from node_modules (package-lock).
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let out = path.resolve(here, '../build/web');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' && i + 1 < args.length) out = path.resolve(args[++i]);
  else {
    console.error(`usage: node build.mjs [--out DIR]; unknown argument "${args[i]}"`);
    process.exit(2);
  }
}

// Only what this script writes is removed, so --out may hold other files (openapi.json).
for (const name of ['assets', 'index.html', 'index.html.gz', 'favicon.svg', 'favicon.svg.gz',
                    'manifest.json']) {
  fs.rmSync(path.join(out, name), { recursive: true, force: true });
}
fs.mkdirSync(out, { recursive: true });

const result = await esbuild.build({
  entryPoints: { main: path.join(here, 'src/main.js') },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  outdir: out,
  entryNames: 'assets/[name]-[hash]',
  chunkNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

const outputs = result.metafile.outputs;
const rel = (p) => path.relative(out, path.resolve(p)).split(path.sep).join('/');
let mainJs = '';
let mainCss = '';
for (const [file, meta] of Object.entries(outputs)) {
  if (meta.entryPoint?.endsWith('src/main.js') && file.endsWith('.js')) {
    mainJs = rel(file);
    if (meta.cssBundle) mainCss = rel(meta.cssBundle);
  }
}
if (!mainJs) throw new Error('esbuild wrote no entry point');

// esbuild writes the CSS of every lazily loaded page into the entry's stylesheet as well as into
// a file of its own that nothing loads: those copies are removed (each checked to be in the
// entry's stylesheet first, rule by rule).
if (mainCss) {
  const main = fs.readFileSync(path.join(out, mainCss), 'utf8');
  for (const file of Object.keys(outputs)) {
    const name = rel(file);
    if (!name.endsWith('.css') || name === mainCss) continue;
    const rules = fs.readFileSync(path.join(out, name), 'utf8').match(/[^{}]+\{[^{}]*\}/g) ?? [];
    if (rules.every((rule) => main.includes(rule.trim()))) {
      fs.rmSync(path.join(out, name));
      delete outputs[file];
    } else {
      console.warn(`web: ${name} is not in ${mainCss}; kept`);
    }
  }
}

const shell = fs.readFileSync(path.join(here, 'src/index.html'), 'utf8')
  .replaceAll('%APP_JS%', `/${mainJs}`)
  .replaceAll('%APP_CSS%', mainCss ? `/${mainCss}` : '');
fs.writeFileSync(path.join(out, 'index.html'), shell);
fs.copyFileSync(path.join(here, 'src/favicon.svg'), path.join(out, 'favicon.svg'));

// The JavaScript each page loads: the entry and its static imports, plus the page's own chunk
// (a dynamic import in src/main.js) with everything it imports, statically or on demand (the
// dashboard's charting library is a chunk of its own, loaded by the page).
const keyOf = (importPath) =>
  Object.keys(outputs).find((k) => path.resolve(k) === path.resolve(importPath));
const closure = (file, kinds, seen = new Set()) => {
  if (!file || seen.has(file)) return seen;
  seen.add(file);
  for (const imp of outputs[file]?.imports ?? []) {
    if (kinds.includes(imp.kind) && imp.path.endsWith('.js')) closure(keyOf(imp.path), kinds, seen);
  }
  return seen;
};
const entryFile = Object.keys(outputs).find((k) => rel(k) === mainJs);
const pages = {};
for (const imp of outputs[entryFile].imports) {
  if (imp.kind !== 'dynamic-import') continue;
  const key = keyOf(imp.path);
  const page = outputs[key]?.entryPoint ?? key;
  const files = new Set([...closure(entryFile, ['import-statement']),
                         ...closure(key, ['import-statement', 'dynamic-import'])]);
  pages[path.basename(page).replace(/\.js$/, '')] = [...files].map(rel).sort();
}

// gzip copies and the manifest, of this script's own files only: another file of --out (the
// build's openapi.json) is served as it is, never from a stale copy.
const files = {};
const walk = (dir, only) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (only && entry.name !== only) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (/\.(js|css|html|svg)$/.test(entry.name)) {
      const bytes = fs.readFileSync(full);
      const gz = zlib.gzipSync(bytes, { level: 9 });
      fs.writeFileSync(`${full}.gz`, gz);
      files[rel(full)] = {
        bytes: bytes.length,
        gzip_bytes: gz.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    }
  }
};
walk(path.join(out, 'assets'));
for (const name of ['index.html', 'favicon.svg']) walk(out, name);
const pageBudget = {};
for (const [page, list] of Object.entries(pages)) {
  pageBudget[page] = {
    files: list,
    js_gzip_bytes: list.reduce((n, f) => n + (files[f]?.gzip_bytes ?? 0), 0),
  };
}
fs.writeFileSync(path.join(out, 'manifest.json'),
                 JSON.stringify({ entry: mainJs, css: mainCss, files, pages: pageBudget }, null, 2));
const worst = Math.max(...Object.values(pageBudget).map((p) => p.js_gzip_bytes));
console.log(`web: built ${Object.keys(files).length} files into ${out}; ` +
            `the heaviest page loads ${(worst / 1024).toFixed(1)} KB of JavaScript gzipped`);
