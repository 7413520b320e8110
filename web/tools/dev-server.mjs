// web/tools/dev-server.mjs: serves a built front (node build.mjs) for development, with the
// gateway behind it for the API. Not used by deploy/run or the tests (simpul-gateway serves the
// front itself, --web_root); it exists to work on the pages without restarting the gateway.
//
//   node tools/dev-server.mjs [--port 8090] [--dist ../build/web]
//                             [--gateway https://127.0.0.1:8100] [--ca ../var/pki/ca.crt]
//                             [--emulate-session]
//
// Paths under /v1/, /open311/, /web/ and /openapi.json go to the gateway unchanged (cookies
// included); everything else is a file of --dist, or index.html for a page path. The answers
// carry the same Content-Security-Policy as the gateway's.
//
// --emulate-session answers the officer console's sign-in (POST/GET/DELETE /web/session, the
// contract of issue #17) here, in memory, for a gateway that does not have it yet: the session
// cookie maps to the API key, and /v1/ calls that carry the cookie (and no Authorization or
// x-api-key header) go to the gateway with "Authorization: Bearer <key>"; calls other than
// GET/HEAD must carry X-CSRF-Token equal to the session's token. See session-emulation.mjs.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionEmulation } from './session-emulation.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = { port: 8090, dist: path.resolve(here, '../../build/web'),
               gateway: 'https://127.0.0.1:8100', ca: path.resolve(here, '../../var/pki/ca.crt') };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const name = argv[i].replace(/^--/, '');
  // A flag followed by another flag (or nothing) is a boolean (--emulate-session).
  if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) opts[name] = argv[++i];
  else opts[name] = true;
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
  "frame-ancestors 'none'; form-action 'self'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
                '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
                '.json': 'application/json', '.png': 'image/png' };
const gateway = new URL(opts.gateway);
const agent = gateway.protocol === 'https:'
  ? new https.Agent({ ca: fs.existsSync(opts.ca) ? fs.readFileSync(opts.ca) : undefined })
  : undefined;

const sessions = opts['emulate-session'] ? new SessionEmulation({ gateway, agent }) : null;

// sameOrigin makes a browser's request look as if the gateway served the page: the gateway
// refuses sign-in and cookie-authenticated changes whose Origin is not its own.
function sameOrigin(headers) {
  const out = { ...headers, host: gateway.host };
  if (out.origin) out.origin = gateway.origin;
  return out;
}

// proxy sends the request to the gateway with `headers`; `onAnswer(status)` (optional) sees the
// gateway's status before it is relayed.
function proxy(req, res, headers, onAnswer) {
  const client = gateway.protocol === 'https:' ? https : http;
  const upstream = client.request({ host: gateway.hostname, port: gateway.port, path: req.url,
                                    method: req.method, headers: sameOrigin(headers),
                                    agent }, (up) => {
    onAnswer?.(up.statusCode);
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  // A client that leaves (a page closing its stream) ends the upstream call too: otherwise
  // open streams pile up until the gateway's per-address cap refuses everyone.
  res.on('close', () => { if (!res.writableFinished) upstream.destroy(); });
  req.pipe(upstream);
}

http.createServer((req, res) => {
  const u = new URL(req.url, 'http://localhost');
  if (sessions && u.pathname === '/web/session') {
    sessions.handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 502, status: 'UNAVAILABLE', message: String(e) }));
    });
    return;
  }
  if (sessions && u.pathname.startsWith('/v1/')) {
    const decided = sessions.authorize(req);
    if (decided.refuse) {
      res.writeHead(decided.refuse.status, { 'Content-Type': 'application/json',
                                             'Cache-Control': 'no-store',
                                             ...decided.refuse.headers });
      res.end(JSON.stringify(decided.refuse.body));
      return;
    }
    proxy(req, res, decided.headers, decided.onAnswer);
    return;
  }
  if (/^\/(v1|open311|web)\//.test(u.pathname) || u.pathname === '/openapi.json') {
    proxy(req, res, req.headers);
    return;
  }
  let file = path.join(opts.dist, path.normalize(u.pathname));
  if (!file.startsWith(opts.dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    file = path.join(opts.dist, 'index.html');
  }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
                       'Content-Security-Policy': CSP });
  fs.createReadStream(file).pipe(res);
}).listen(Number(opts.port), '127.0.0.1', () => {
  console.log(`web dev server on http://127.0.0.1:${opts.port}/ (API: ${opts.gateway}` +
              `${sessions ? ', sessions emulated' : ''})`);
});
