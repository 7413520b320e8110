// Page "reference" (/api): the API reference, rendered from the gateway's OpenAPI document
// (/openapi.json, written at build time by simpul-openapi from the route declarations).
// Operations are grouped by tag, each one a disclosure with its method, path, summary, roles,
// parameters and request/response schemas ($ref followed on demand, cycles shown as such);
// a search box filters them; /api#<operationId> opens one. The chrome is bilingual, the
// operation texts are the proto comments (English).
import './reference.css';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { texts } from '../lib/i18n.js';
import { ErrorBox, html, Loading } from '../lib/ui.js';

const TEXT = {
  id: {
    title: 'Referensi API',
    intro: 'API REST/JSON dan Open311 Simpul untuk integrasi instansi dan kanal pengaduan. ' +
      'Daftar ini dibuat dari dokumen OpenAPI 3.1 yang dihasilkan dari deklarasi rute; ' +
      'uraian operasi dalam bahasa Inggris (komentar proto).',
    download: 'Unduh dokumen OpenAPI (openapi.json)',
    count: (n) => `${n} operasi`,
    search: 'Cari operasi',
    searchHint: 'nama, jalur, metode atau ringkasan, mis. FileComplaint',
    matches: (n, all) => `${n} dari ${all} operasi cocok`,
    none: 'Tidak ada operasi yang cocok.',
    security: 'Autentikasi',
    securityIntro: 'Cara memanggil API. Operasi publik dapat dipanggil tanpa kredensial.',
    errors: 'Badan galat',
    errorsIntro: 'Setiap galat dijawab dengan badan JSON ini dan status HTTP yang sesuai.',
    scheme: 'Skema',
    type: 'Jenis',
    where: 'Letak',
    description: 'Keterangan',
    name: 'Nama',
    in: 'Di',
    required: 'Wajib',
    yes: 'ya',
    no: 'tidak',
    roles: 'Peran',
    nobody: 'tidak ada',
    anonymous: 'tanpa kredensial',
    credentials: 'Kredensial',
    parameters: 'Parameter',
    body: 'Badan permintaan',
    responses: 'Respons',
    status: 'Status',
    schema: 'Skema',
    showSchema: 'Tampilkan skema',
    recursive: 'rekursif, lihat di atas',
    values: 'Nilai',
    oneOf: 'Salah satu dari',
    link: 'Tautan ke operasi ini',
    grpc: 'Metode gRPC',
    stream: 'Aliran (NDJSON atau Server-Sent Events)',
  },
  en: {
    title: 'API reference',
    intro: "Simpul's REST/JSON and Open311 API for agency integrations and complaint " +
      'channels. This list is made from the OpenAPI 3.1 document generated from the route ' +
      'declarations; operation texts are the proto comments.',
    download: 'Download the OpenAPI document (openapi.json)',
    count: (n) => `${n} operations`,
    search: 'Search operations',
    searchHint: 'name, path, method or summary, e.g. FileComplaint',
    matches: (n, all) => `${n} of ${all} operations match`,
    none: 'No operation matches.',
    security: 'Authentication',
    securityIntro: 'How to call the API. Public operations can be called without credentials.',
    errors: 'Error body',
    errorsIntro: 'Every error is answered with this JSON body and the matching HTTP status.',
    scheme: 'Scheme',
    type: 'Type',
    where: 'Where',
    description: 'Description',
    name: 'Name',
    in: 'In',
    required: 'Required',
    yes: 'yes',
    no: 'no',
    roles: 'Roles',
    nobody: 'none',
    anonymous: 'no credentials',
    credentials: 'Credentials',
    parameters: 'Parameters',
    body: 'Request body',
    responses: 'Responses',
    status: 'Status',
    schema: 'Schema',
    showSchema: 'Show schema',
    recursive: 'recursive, see above',
    values: 'Values',
    oneOf: 'One of',
    link: 'Link to this operation',
    grpc: 'gRPC method',
    stream: 'Stream (NDJSON or Server-Sent Events)',
  },
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

let loading = null;  // the document, fetched once per visit of the front

function loadDocument() {
  if (!loading) {
    loading = fetch('/openapi.json', { headers: { Accept: 'application/json' } })
      .then((r) => {
        if (!r.ok) throw new Error(`/openapi.json: HTTP ${r.status}`);
        return r.json();
      });
    loading.catch(() => { loading = null; });
  }
  return loading;
}

// resolve follows a local $ref ("#/components/schemas/X") in the document.
function resolve(doc, ref) {
  let node = doc;
  for (const part of ref.replace(/^#\//, '').split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

const refName = (ref) => ref.split('/').pop();
const shortName = (name) => name.split('.').pop();

// operations lists the document's operations in its order, with their tag.
function operations(doc) {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) out.push({ id: op.operationId, method, path, op, tag: op.tags?.[0] ?? '' });
    }
  }
  return out;
}

// Text renders a description: paragraphs, `code` spans and "- " lists.
function Text({ text, className = '' }) {
  if (!text) return null;
  const bold = (s) => s.split('**').map((part, i) => (i % 2 ? html`<strong>${part}</strong>` : part));
  const inline = (s) => s.split('`').map((part, i) => (i % 2 ? html`<code>${part}</code>` : bold(part)));
  return html`<div class=${`text ${className}`}>${text.split('\n\n').map((para) => {
    const lines = para.split('\n');
    if (lines.every((l) => l.startsWith('- '))) {
      return html`<ul>${lines.map((l) => html`<li>${inline(l.slice(2))}</li>`)}</ul>`;
    }
    return html`<p>${inline(para)}</p>`;
  })}</div>`;
}

// typeLabel is a one-line name of a schema's type.
function typeLabel(schema) {
  if (!schema) return '';
  if (schema.$ref) return shortName(refName(schema.$ref));
  if (schema.oneOf) return schema.oneOf.map(typeLabel).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any');
  if (type === 'array') return `${typeLabel(schema.items)}[]`;
  if (type === 'object' && schema.additionalProperties &&
      typeof schema.additionalProperties === 'object') {
    return `map<string, ${typeLabel(schema.additionalProperties)}>`;
  }
  const format = schema.format ?? schema.contentEncoding;
  return format ? `${type} (${format})` : type;
}

// deref follows $refs and array items to the schema that has the details.
function deref(doc, schema) {
  let s = schema;
  for (let i = 0; s && i < 8; i++) {
    if (s.$ref) s = resolve(doc, s.$ref);
    else if (s.type === 'array' && s.items) s = s.items;
    else if (s.type === 'object' && s.additionalProperties &&
             typeof s.additionalProperties === 'object' && !s.properties) {
      s = s.additionalProperties;
    } else break;
  }
  return s;
}

const expandable = (doc, schema) => {
  const s = deref(doc, schema);
  return Boolean(s && (s.properties || s.enum || s.oneOf));
};

// refsOf names the components a schema reaches through $ref, items and maps (for cycles).
function refsOf(schema) {
  const out = [];
  for (let s = schema; s;) {
    if (s.$ref) { out.push(refName(s.$ref)); break; }
    s = s.items ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : null);
  }
  return out;
}

// SchemaBody shows a schema's content: its description, enum values, alternatives or
// properties (each expandable on demand). `seen` holds the components already open above:
// a component that refers to itself is shown, not expanded again.
function SchemaBody({ doc, schema, seen, t }) {
  const target = deref(doc, schema);
  if (!target) return null;
  const names = refsOf(schema);
  if (names.some((n) => seen.includes(n))) {
    return html`<p class="muted">${names[0]}: ${t('recursive')}</p>`;
  }
  const inner = [...seen, ...names];
  const required = new Set(target.required ?? []);
  return html`<div class="schema-body">
    ${schema.$ref || schema.items ? html`<${Text} text=${target.description} />` : null}
    ${target.enum ? html`<p><span class="muted">${t('values')}:</span> ${target.enum.map(
      (v, i) => html`${i ? ', ' : ''}<code>${String(v)}</code>`)}</p>` : null}
    ${target.oneOf ? html`<p class="muted">${t('oneOf')}:</p><ul class="props">${target.oneOf.map(
      (s, i) => html`<${Prop} doc=${doc} name=${`#${i + 1}`} schema=${s} seen=${inner} t=${t} />`)}
      </ul>` : null}
    ${target.properties ? html`<ul class="props">${Object.entries(target.properties).map(
      ([name, s]) => html`<${Prop} doc=${doc} name=${name} schema=${s} seen=${inner} t=${t}
                           required=${required.has(name)} />`)}</ul>` : null}
  </div>`;
}

function Prop({ doc, name, schema, seen, required, t }) {
  const [open, setOpen] = useState(false);
  const head = html`<code class="prop">${name}</code>${required ? html`<abbr
    title=${t('required')} class="req">*</abbr>` : null} <span class="type">${typeLabel(schema)}</span>`;
  if (!expandable(doc, schema)) {
    return html`<li>${head}<${Text} text=${schema.description} className="inline" /></li>`;
  }
  return html`<li><details onToggle=${(e) => setOpen(e.currentTarget.open)}>
    <summary>${head}</summary>
    <${Text} text=${schema.description} />
    ${open ? html`<${SchemaBody} doc=${doc} schema=${schema} seen=${seen} t=${t} />` : null}
  </details></li>`;
}

// SchemaBlock is a request or response schema: its type, and its content on demand.
function SchemaBlock({ doc, schema, t }) {
  const [open, setOpen] = useState(false);
  if (!schema) return null;
  if (!expandable(doc, schema)) {
    return html`<div><span class="type">${typeLabel(schema)}</span>
      <${Text} text=${schema.description} /></div>`;
  }
  return html`<details class="schema" onToggle=${(e) => setOpen(e.currentTarget.open)}>
    <summary>${t('showSchema')}: <span class="type">${typeLabel(schema)}</span></summary>
    <${Text} text=${schema.description} />
    ${open ? html`<${SchemaBody} doc=${doc} schema=${schema} seen=${[]} t=${t} />` : null}
  </details>`;
}

function Content({ doc, content, t }) {
  if (!content) return null;
  return html`${Object.entries(content).map(([type, media]) => html`<div class="media">
    <code class="media-type">${type}</code>
    <${SchemaBlock} doc=${doc} schema=${media.schema} t=${t} />
    ${media['x-simpul-item'] ? html`<${SchemaBlock} doc=${doc} schema=${media['x-simpul-item']}
        t=${t} />` : null}
  </div>`)}`;
}

function Security({ op, t }) {
  if (!op.security) return null;
  const alternatives = op.security.map((r) => {
    const names = Object.keys(r);
    return names.length ? names.join(' + ') : t('anonymous');
  });
  return html`<p><strong>${t('credentials')}:</strong> ${alternatives.join(' · ')}</p>`;
}

// withoutFacts drops the paragraphs of a description that the page shows apart (the roles
// and the gRPC method, which the document also writes in the description for other readers).
function withoutFacts(text) {
  return (text ?? '').split('\n\n')
    .filter((p) => !/^(Roles: |gRPC: `)/.test(p)).join('\n\n');
}

function OperationBody({ doc, entry, t }) {
  const { op } = entry;
  const params = (op.parameters ?? []).map((p) => (p.$ref ? resolve(doc, p.$ref) : p));
  const roles = op['x-simpul-roles'];
  return html`<div class="op-body">
    <p class="muted"><a href=${`#${entry.id}`} aria-label=${`${t('link')}: ${entry.id}`}
      >#${entry.id}</a>${op['x-simpul-grpc-method'] ? html` · ${t('grpc')}: <code>${
      op['x-simpul-grpc-method']}</code>` : null}${op['x-simpul-server-streaming'] ? html` · ${
      t('stream')}` : null}</p>
    <${Text} text=${withoutFacts(op.description)} />
    ${roles ? html`<p data-testid="roles"><strong>${t('roles')}:</strong> ${roles.length
      ? roles.map((r, i) => html`${i ? ', ' : ''}<code>${r}</code>`) : t('nobody')}</p>` : null}
    <${Security} op=${op} t=${t} />
    ${params.length ? html`<h3>${t('parameters')}</h3>
      <div class="scroll"><table>
        <thead><tr><th scope="col">${t('name')}</th><th scope="col">${t('in')}</th>
          <th scope="col">${t('type')}</th><th scope="col">${t('required')}</th>
          <th scope="col">${t('description')}</th></tr></thead>
        <tbody>${params.map((p) => html`<tr>
          <td><code>${p.name}</code></td><td>${p.in}</td>
          <td><span class="type">${typeLabel(p.schema)}</span>${
            deref(doc, p.schema)?.enum ? html`<br /><span class="muted">${
              deref(doc, p.schema).enum.join(', ')}</span>` : null}</td>
          <td>${p.required ? t('yes') : t('no')}</td>
          <td><${Text} text=${p.description} /></td></tr>`)}</tbody>
      </table></div>` : null}
    ${op.requestBody ? html`<h3>${t('body')}</h3>
      <${Text} text=${op.requestBody.description} />
      <${Content} doc=${doc} content=${op.requestBody.content} t=${t} />` : null}
    <h3>${t('responses')}</h3>
    <ul class="responses">${Object.entries(op.responses ?? {}).map(([code, r]) => {
      const response = r.$ref ? resolve(doc, r.$ref) : r;
      return html`<li><span class=${`status s${code[0]}`}>${code}</span>
        ${response?.description}
        <${Content} doc=${doc} content=${response?.content} t=${t} /></li>`;
    })}</ul>
  </div>`;
}

function Operation({ doc, entry, target, t }) {
  const [open, setOpen] = useState(target);
  const ref = useRef(null);
  useEffect(() => {
    if (!target || !ref.current) return;
    setOpen(true);
    ref.current.open = true;
    ref.current.scrollIntoView({ block: 'start' });
    ref.current.querySelector('summary')?.focus();
  }, [target]);
  return html`<details id=${entry.id} class="op" ref=${ref} open=${open}
      data-testid="operation" data-operation-id=${entry.id}
      onToggle=${(e) => setOpen(e.currentTarget.open)}>
    <summary>
      <span class=${`method ${entry.method}`}>${entry.method.toUpperCase()}</span>
      <code class="path">${entry.path}</code>
      <span class="summary">${entry.op.summary}</span>
    </summary>
    ${open ? html`<${OperationBody} doc=${doc} entry=${entry} t=${t} />` : null}
  </details>`;
}

function matches(entry, words) {
  const hay = `${entry.id} ${entry.method} ${entry.path} ${entry.op.summary ?? ''} ${entry.tag}`
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}

export default function Page() {
  const t = texts(TEXT);
  const [state, setState] = useState({ doc: null, error: null });
  const [search, setSearch] = useState('');
  const [hash, setHash] = useState(decodeURIComponent(window.location.hash.slice(1)));
  useEffect(() => {
    let live = true;
    loadDocument().then((doc) => live && setState({ doc, error: null }),
      (error) => live && setState({ doc: null, error }));
    const onHash = () => setHash(decodeURIComponent(window.location.hash.slice(1)));
    window.addEventListener('hashchange', onHash);
    return () => { live = false; window.removeEventListener('hashchange', onHash); };
  }, []);
  const all = useMemo(() => (state.doc ? operations(state.doc) : []), [state.doc]);
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = words.length ? all.filter((e) => matches(e, words)) : all;

  const head = html`<h1>${t('title')}</h1>
    <p>${t('intro')}</p>
    <p><a href="/openapi.json" download="openapi.json" data-testid="download"
      >${t('download')}</a></p>`;
  if (state.error) return html`${head}<${ErrorBox} error=${state.error} />`;
  if (!state.doc) return html`${head}<${Loading} />`;
  const doc = state.doc;
  const tags = [...(doc.tags ?? []).map((x) => x.name)];
  for (const e of all) if (!tags.includes(e.tag)) tags.push(e.tag);
  const tagInfo = Object.fromEntries((doc.tags ?? []).map((x) => [x.name, x]));
  const schemes = Object.entries(doc.components?.securitySchemes ?? {});
  const errorSchema = doc.components?.schemas?.Error;

  return html`<div class="reference">
    ${head}
    <p class="muted">${doc.info?.title} ${doc.info?.version} · OpenAPI ${doc.openapi} ·${' '}<span data-testid="operation-count" data-count=${all.length}>${t('count', all.length)}</span></p>
    <${Text} text=${doc.info?.description} className="api-intro" />

    <section aria-labelledby="api-security">
      <h2 id="api-security">${t('security')}</h2>
      <p>${t('securityIntro')}</p>
      <div class="scroll"><table data-testid="security-schemes">
        <thead><tr><th scope="col">${t('scheme')}</th><th scope="col">${t('type')}</th>
          <th scope="col">${t('where')}</th><th scope="col">${t('description')}</th></tr></thead>
        <tbody>${schemes.map(([name, s]) => html`<tr><td><code>${name}</code></td>
          <td>${s.type}${s.scheme ? ` (${s.scheme})` : ''}</td>
          <td>${s.in ? html`${s.in}: <code>${s.name}</code>` : '–'}</td>
          <td><${Text} text=${s.description} /></td></tr>`)}</tbody>
      </table></div>
    </section>

    ${errorSchema ? html`<section aria-labelledby="api-errors" data-testid="error-body">
      <h2 id="api-errors">${t('errors')}</h2>
      <p>${t('errorsIntro')}</p>
      <${SchemaBody} doc=${doc} schema=${{ $ref: '#/components/schemas/Error' }} seen=${[]}
        t=${t} />
    </section>` : null}

    <div class="search" role="search">
      <label for="api-search">${t('search')}</label>
      <input id="api-search" type="search" data-testid="api-search" value=${search}
        aria-describedby="api-search-hint" autocomplete="off"
        onInput=${(e) => setSearch(e.currentTarget.value)} />
      <span id="api-search-hint" class="muted">${t('searchHint')}</span>
    </div>
    <p role="status" aria-live="polite" data-testid="match-count" class="muted">${
      words.length ? (shown.length ? t('matches', shown.length, all.length) : t('none')) : ''}</p>

    ${tags.map((tag) => {
      const ops = shown.filter((e) => e.tag === tag);
      if (!ops.length) return null;
      const id = `tag-${tag}`;
      return html`<section class="tag" aria-labelledby=${id} data-testid="tag-section">
        <h2 id=${id}>${tag}</h2>
        <${Text} text=${tagInfo[tag]?.description} className="muted" />
        ${ops.map((e) => html`<${Operation} key=${e.id} doc=${doc} entry=${e}
          target=${hash === e.id} t=${t} />`)}
      </section>`;
    })}
  </div>`;
}
