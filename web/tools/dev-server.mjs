// web/tools/dev-server.mjs: serves a built front (node build.mjs) for development, with the
// gateway behind it for the API. Not used by deploy/run or the tests (simpul-gateway serves the
// front itself, --web_root); it exists to work on the pages without restarting the gateway.
//
//   node tools/dev-server.mjs [--port 8090] [--dist ../build/web]
//                             [--gateway https://127.0.0.1:8100] [--ca ../var/pki/ca.crt]
//
// Paths under /v1/, /open311/, /web/ and /openapi.json go to the gateway unchanged (cookies
// included); everything else is a file of --dist, or index.html for a page path. The answers
// carry the same Content-Security-Policy as the gateway's.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = { port: 8090, dist: path.resolve(here, '../../build/web'),
               gateway: 'https://127.0.0.1:8100', ca: path.resolve(here, '../../var/pki/ca.crt') };
const argv = process.argv.slice(2);
for (let i = 0; i + 1 < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];

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

http.createServer((req, res) => {
  const u = new URL(req.url, 'http://localhost');
  if (/^\/(v1|open311|web)\//.test(u.pathname) || u.pathname === '/openapi.json') {
    const client = gateway.protocol === 'https:' ? https : http;
    const upstream = client.request({ host: gateway.hostname, port: gateway.port, path: req.url,
                                      method: req.method, headers: { ...req.headers, host: gateway.host },
                                      agent }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(upstream);
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
  console.log(`web dev server on http://127.0.0.1:${opts.port}/ (API: ${opts.gateway})`);
});
