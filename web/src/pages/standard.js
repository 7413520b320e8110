// Page "/standar/<service_id>": one service's standard as the public sees it. The current
// adopted version (GET /v1/services/{id}/standard: the six delivery components; the management
// components are internal and never shown here, even to a signed-in officer whose session
// would get them), the service and its intake questions, the unit and agency, the unit's
// published maklumat pelayanan, the public version history, and links to file a complaint
// about the service and to the unit's performance.
import './standard.css';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { locale, texts } from '../lib/i18n.js';
import { agency, completionTime, fee, sandboxLabel, stateName, unit } from '../lib/standards.js';
import { ErrorBox, html, Loading } from '../lib/ui.js';

const TEXT = {
  id: {
    back: '← Kembali ke pencarian',
    kicker: 'Standar pelayanan',
    unit: 'Unit pelayanan',
    agency: 'Instansi',
    address: 'Alamat',
    version: (n) => `Versi ${n}`,
    noStandard: 'Layanan ini belum memiliki standar pelayanan yang berlaku.',
    components: 'Komponen standar pelayanan',
    requirements: 'Persyaratan',
    REQUIREMENT_KIND_ADMINISTRATIVE: 'Administratif',
    REQUIREMENT_KIND_TECHNICAL: 'Teknis',
    REQUIREMENT_KIND_UNSPECIFIED: 'Lainnya',
    procedure: 'Sistem, mekanisme dan prosedur',
    time: 'Jangka waktu penyelesaian',
    fee: 'Biaya/tarif',
    feeBasis: 'Dasar hukum biaya',
    products: 'Produk pelayanan',
    complaintHandling: 'Penanganan pengaduan, saran dan masukan',
    channels: 'Saluran pengaduan',
    handlingProcedure: 'Tata cara penanganan',
    responseDays: (n) => `Tanggapan pertama paling lambat ${n} hari kerja.`,
    classes: 'Batas waktu penyelesaian per jenis pengaduan',
    className: 'Jenis pengaduan',
    classDays: 'Hari kerja',
    notFilled: 'Belum diisi.',
    adoption: 'Penetapan',
    decree: 'Nomor SK',
    decreeDate: 'Tanggal SK',
    effective: 'Berlaku sejak',
    reviewDue: 'Peninjauan berikutnya',
    published: 'Dipublikasikan di',
    consultations: 'Konsultasi publik',
    participants: (n) => `${n} peserta`,
    reviews: 'Peninjauan berkala',
    PUBLICATION_MEDIUM_WEBSITE: 'Situs web',
    PUBLICATION_MEDIUM_NOTICE_BOARD: 'Papan pengumuman',
    PUBLICATION_MEDIUM_PRINTED: 'Media cetak',
    PUBLICATION_MEDIUM_SOCIAL_MEDIA: 'Media sosial',
    PUBLICATION_MEDIUM_MOBILE_APP: 'Aplikasi seluler',
    PUBLICATION_MEDIUM_OTHER: 'Lainnya',
    PUBLICATION_MEDIUM_UNSPECIFIED: 'Lainnya',
    maklumat: 'Maklumat pelayanan',
    noMaklumat: 'Unit ini belum mempublikasikan maklumat pelayanan.',
    signed: (name, position, day) => `Ditandatangani ${name}, ${position}, pada ${day}.`,
    history: 'Riwayat versi',
    colVersion: 'Versi',
    colState: 'Status',
    colDecree: 'Nomor SK',
    colDecreeDate: 'Tanggal SK',
    colEffective: 'Berlaku sejak',
    noHistory: 'Belum ada versi yang dipublikasikan.',
    questions: 'Pertanyaan saat mengajukan pengaduan',
    questionsIntro: 'Pengaduan tentang layanan ini menjawab pertanyaan berikut.',
    required: 'wajib',
    optional: 'tidak wajib',
    info: 'informasi',
    choices: 'Pilihan',
    actions: 'Tindakan',
    complain: 'Ajukan pengaduan tentang layanan ini',
    performance: 'Lihat kinerja unit ini',
    description: 'Tentang layanan',
  },
  en: {
    back: '← Back to the search',
    kicker: 'Service standard',
    unit: 'Service unit',
    agency: 'Agency',
    address: 'Address',
    version: (n) => `Version ${n}`,
    noStandard: 'This service has no standard in force yet.',
    components: 'Components of the service standard',
    requirements: 'Requirements',
    REQUIREMENT_KIND_ADMINISTRATIVE: 'Administrative',
    REQUIREMENT_KIND_TECHNICAL: 'Technical',
    REQUIREMENT_KIND_UNSPECIFIED: 'Other',
    procedure: 'System, mechanism and procedure',
    time: 'Completion time',
    fee: 'Fee',
    feeBasis: 'Legal basis of the fee',
    products: 'Service products',
    complaintHandling: 'Handling of complaints, suggestions and input',
    channels: 'Where to complain',
    handlingProcedure: 'How complaints are handled',
    responseDays: (n) => `First response within ${n} working day${n === 1 ? '' : 's'}.`,
    classes: 'Resolution deadline per kind of complaint',
    className: 'Kind of complaint',
    classDays: 'Working days',
    notFilled: 'Not filled in.',
    adoption: 'Adoption',
    decree: 'Decree number',
    decreeDate: 'Decree date',
    effective: 'In force from',
    reviewDue: 'Next review due',
    published: 'Published on',
    consultations: 'Public consultations',
    participants: (n) => `${n} participant${n === 1 ? '' : 's'}`,
    reviews: 'Periodic reviews',
    PUBLICATION_MEDIUM_WEBSITE: 'Website',
    PUBLICATION_MEDIUM_NOTICE_BOARD: 'Notice board',
    PUBLICATION_MEDIUM_PRINTED: 'Printed media',
    PUBLICATION_MEDIUM_SOCIAL_MEDIA: 'Social media',
    PUBLICATION_MEDIUM_MOBILE_APP: 'Mobile app',
    PUBLICATION_MEDIUM_OTHER: 'Other',
    PUBLICATION_MEDIUM_UNSPECIFIED: 'Other',
    maklumat: 'Service pledge (maklumat pelayanan)',
    noMaklumat: 'This unit has not published a service pledge yet.',
    signed: (name, position, day) => `Signed by ${name}, ${position}, on ${day}.`,
    history: 'Version history',
    colVersion: 'Version',
    colState: 'State',
    colDecree: 'Decree number',
    colDecreeDate: 'Decree date',
    colEffective: 'In force from',
    noHistory: 'No published version yet.',
    questions: 'Questions asked when filing a complaint',
    questionsIntro: 'A complaint about this service answers these questions.',
    required: 'required',
    optional: 'optional',
    info: 'information',
    choices: 'Choices',
    actions: 'Actions',
    complain: 'File a complaint about this service',
    performance: 'See this unit\'s performance',
    description: 'About the service',
  },
};

// day formats a simpul.common.v1.Date ({year, month, day}).
function day(d) {
  if (!d?.year) return '';
  return new Date(Date.UTC(d.year, (d.month || 1) - 1, d.day || 1))
    .toLocaleDateString(locale(), { dateStyle: 'long', timeZone: 'UTC' });
}

// Location links a URL (http or https only); any other location is a place, shown as text.
function Location({ value }) {
  return /^https?:\/\//i.test(value)
    ? html`<a href=${value} rel="noopener noreferrer" target="_blank">${value}</a>` : value;
}

function Section({ id, title, children, testid }) {
  return html`<section class="std-part" aria-labelledby=${id} data-testid=${testid}>
    <h3 id=${id}>${title}</h3>${children}</section>`;
}

function Requirements({ list, t }) {
  if (!list?.length) return html`<p class="muted">${t('notFilled')}</p>`;
  const kinds = [...new Set(list.map((r) => r.kind || 'REQUIREMENT_KIND_UNSPECIFIED'))];
  if (kinds.length === 1) {
    return html`<ul>${list.map((r) => html`<li>${r.description}</li>`)}</ul>`;
  }
  return kinds.map((kind) => html`<h4>${t(kind)}</h4><ul>${list
    .filter((r) => (r.kind || 'REQUIREMENT_KIND_UNSPECIFIED') === kind)
    .map((r) => html`<li>${r.description}</li>`)}</ul>`);
}

function TextList({ list, ordered, t }) {
  if (!list?.length) return html`<p class="muted">${t('notFilled')}</p>`;
  const items = list.map((s) => html`<li>${s}</li>`);
  return ordered ? html`<ol>${items}</ol>` : html`<ul>${items}</ul>`;
}

function ComplaintHandling({ ch, t }) {
  if (!ch) return html`<p class="muted">${t('notFilled')}</p>`;
  return html`
    ${ch.response_working_days ? html`<p>${t('responseDays', ch.response_working_days)}</p>` : null}
    ${ch.channels?.length ? html`<h4>${t('channels')}</h4>
      <ul>${ch.channels.map((c) => html`<li>${c}</li>`)}</ul>` : null}
    ${ch.procedure ? html`<h4>${t('handlingProcedure')}</h4><p>${ch.procedure}</p>` : null}
    ${ch.resolution_classes?.length ? html`<table class="std-classes">
      <caption>${t('classes')}</caption>
      <thead><tr><th scope="col">${t('className')}</th><th scope="col">${t('classDays')}</th></tr></thead>
      <tbody>${ch.resolution_classes.map((c) => html`<tr><td>${c.name}</td>
        <td>${c.working_days}</td></tr>`)}</tbody></table>` : null}`;
}

function Components({ version, t }) {
  const c = version.components ?? {};
  const f = c.fee;
  return html`<div class="std-components" data-testid="standard-components">
    <${Section} id="std-req" title=${t('requirements')} testid="component-requirements">
      <${Requirements} list=${c.requirements} t=${t} /><//>
    <${Section} id="std-proc" title=${t('procedure')} testid="component-procedure">
      <${TextList} list=${c.procedure} ordered t=${t} /><//>
    <${Section} id="std-time" title=${t('time')} testid="component-time">
      <p class="std-figure">${completionTime(c.completion_time)}</p><//>
    <${Section} id="std-fee" title=${t('fee')} testid="component-fee">
      <p class="std-figure">${fee(f)}</p>
      ${f?.note && f.note !== fee(f) ? html`<p>${f.note}</p>` : null}
      ${f?.legal_basis ? html`<p><span class="muted">${t('feeBasis')}:</span> ${f.legal_basis}</p>`
        : null}<//>
    <${Section} id="std-prod" title=${t('products')} testid="component-products">
      <${TextList} list=${c.products} t=${t} /><//>
    <${Section} id="std-ch" title=${t('complaintHandling')} testid="component-complaints">
      <${ComplaintHandling} ch=${c.complaint_handling} t=${t} /><//>
  </div>`;
}

function Adoption({ version, t }) {
  const a = version.adoption;
  return html`<section class="std-adoption" aria-labelledby="std-adopt">
    <h2 id="std-adopt">${t('adoption')}</h2>
    <dl class="std-facts">
      ${a?.decree_number ? html`<dt>${t('decree')}</dt><dd>${a.decree_number}</dd>` : null}
      ${a?.decree_date ? html`<dt>${t('decreeDate')}</dt><dd>${day(a.decree_date)}</dd>` : null}
      ${a?.effective_from ? html`<dt>${t('effective')}</dt><dd>${day(a.effective_from)}</dd>` : null}
      ${version.review_due_date ? html`<dt>${t('reviewDue')}</dt>
        <dd>${day(version.review_due_date)}</dd>` : null}
    </dl>
    ${version.publications?.length ? html`<h3>${t('published')}</h3><ul>${version.publications
      .map((p) => html`<li>${t(p.medium || 'PUBLICATION_MEDIUM_UNSPECIFIED')}: <${Location}
        value=${p.location} /></li>`)}</ul>` : null}
    ${version.consultations?.length ? html`<h3>${t('consultations')}</h3><ul>${version.consultations
      .map((c) => html`<li><strong>${day(c.date)}</strong> (${t('participants',
        c.participant_count)}${c.participants ? `: ${c.participants}` : ''}). ${c.summary}</li>`)}
      </ul>` : null}
    ${version.reviews?.length ? html`<h3>${t('reviews')}</h3><ul>${version.reviews
      .map((r) => html`<li><strong>${day(r.date)}</strong>: ${r.notes}</li>`)}</ul>` : null}
  </section>`;
}

function Maklumat({ list, error, t }) {
  const published = (list ?? []).filter((m) => m.state === 'MAKLUMAT_STATE_PUBLISHED')
    .sort((a, b) => b.version_number - a.version_number)[0];
  return html`<section class="std-maklumat" aria-labelledby="std-mk" data-testid="maklumat">
    <h2 id="std-mk">${t('maklumat')}</h2>
    ${error ? html`<${ErrorBox} error=${error} />` : !published
      ? html`<p class="muted">${t('noMaklumat')}</p>`
      : html`<blockquote class="card">
          <p data-testid="maklumat-text">${published.text}</p>
          ${published.signer_name ? html`<footer>${t('signed', published.signer_name,
            published.signer_position, day(published.signed_date))}</footer>` : null}
        </blockquote>
        ${published.publications?.length ? html`<p><span class="muted">${t('published')}:</span>
          ${published.publications.map((p, i) => html`${i ? '; ' : ''}${t(p.medium ||
            'PUBLICATION_MEDIUM_UNSPECIFIED')}: <${Location} value=${p.location} />`)}</p>` : null}`}
  </section>`;
}

// The versions the public sees (an officer's session may also list drafts and the like).
const PUBLIC_STATES = ['STANDARD_STATE_ADOPTED', 'STANDARD_STATE_SUPERSEDED'];

function History({ versions: all, error, t }) {
  const versions = (all ?? []).filter((v) => PUBLIC_STATES.includes(v.state));
  return html`<section aria-labelledby="std-hist" data-testid="history">
    <h2 id="std-hist">${t('history')}</h2>
    ${error ? html`<${ErrorBox} error=${error} />` : !versions?.length
      ? html`<p class="muted">${t('noHistory')}</p>`
      : html`<div class="std-scroll"><table>
        <thead><tr><th scope="col">${t('colVersion')}</th><th scope="col">${t('colState')}</th>
          <th scope="col">${t('colDecree')}</th><th scope="col">${t('colDecreeDate')}</th>
          <th scope="col">${t('colEffective')}</th></tr></thead>
        <tbody>${[...versions].sort((a, b) => b.version_number - a.version_number).map((v) => html`
          <tr data-testid="history-row"><td>${v.version_number}</td>
            <td><span class=${`badge ${v.state === 'STANDARD_STATE_ADOPTED' ? 'ok' : ''}`}
              >${stateName(v.state)}</span></td>
            <td>${v.adoption?.decree_number ?? '–'}</td>
            <td>${v.adoption?.decree_date ? day(v.adoption.decree_date) : '–'}</td>
            <td>${v.adoption?.effective_from ? day(v.adoption.effective_from) : '–'}</td></tr>`)}
        </tbody></table></div>`}
  </section>`;
}

function Questions({ attributes, t }) {
  if (!attributes?.length) return null;
  const sorted = [...attributes].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  return html`<section aria-labelledby="std-q" data-testid="intake-questions">
    <h2 id="std-q">${t('questions')}</h2>
    <p class="muted">${t('questionsIntro')}</p>
    <ol class="std-questions">${sorted.map((a) => html`<li>
      ${a.description}
      ${' '}<span class="badge">${!a.variable ? t('info') : a.required ? t('required')
        : t('optional')}</span>
      ${a.datatype_description ? html`<br /><span class="muted">${a.datatype_description}</span>`
        : null}
      ${a.values?.length ? html`<br /><span class="muted">${t('choices')}:</span> ${a.values
        .map((v) => v.name).join(', ')}` : null}
    </li>`)}</ol>
  </section>`;
}

function settle(promise) {
  return promise.then((data) => ({ data, error: null }), (error) => ({ data: null, error }));
}

export default function Page({ params }) {
  const t = texts(TEXT);
  const serviceId = params.serviceId;
  const [state, setState] = useState(null);

  useEffect(() => {
    let live = true;
    setState(null);
    const id = encodeURIComponent(serviceId);
    (async () => {
      const [service, current, versions] = await Promise.all([
        settle(api(`/v1/services/${id}`).then((r) => r.service)),
        settle(api(`/v1/services/${id}/standard`).then((r) => r.version)),
        settle(api(`/v1/services/${id}/standards`, { query: { 'page.page_size': 100 } })
          .then((r) => r?.versions ?? [])),
      ]);
      const unitId = service.data?.unit_id ?? current.data?.unit_id;
      const agencyId = service.data?.agency_id ?? current.data?.agency_id;
      const [u, a, maklumat] = await Promise.all([
        unitId ? settle(unit(unitId)) : { data: null },
        agencyId ? settle(agency(agencyId)) : { data: null },
        unitId ? settle(api(`/v1/units/${encodeURIComponent(unitId)}/maklumat`,
                            { query: { 'page.page_size': 100 } }).then((r) => r?.maklumat ?? []))
          : { data: null },
      ]);
      if (live) setState({ service, current, versions, unit: u, agency: a, maklumat, unitId });
    })();
    return () => { live = false; };
  }, [serviceId]);

  if (!state) return html`<${Loading} />`;
  const { service, current, versions } = state;
  if (service.error && current.error) {
    return html`<h1>${t('kicker')}</h1><${ErrorBox} error=${service.error} />`;
  }
  const v = current.data;
  const name = service.data?.name ?? v?.service_name ?? serviceId;
  const u = state.unit.data;
  const a = state.agency.data;
  const noStandard = current.error?.status === 404;
  return html`<article class="std-page" data-testid="standard-page">
    <p><a href="/">${t('back')}</a></p>
    <p class="std-kicker">${t('kicker')}${v ? ` · ${t('version', v.version_number)}` : ''}</p>
    <h1 data-testid="standard-title">${name}</h1>
    <dl class="std-facts std-who">
      <dt>${t('unit')}</dt><dd data-testid="standard-unit">${u?.name ?? state.unitId}${
        u?.sandbox ? ` (${sandboxLabel()})` : ''}</dd>
      <dt>${t('agency')}</dt><dd>${a?.name ?? service.data?.agency_id ?? v?.agency_id}${
        a?.sandbox ? ` (${sandboxLabel()})` : ''}</dd>
      ${u?.address ? html`<dt>${t('address')}</dt><dd>${u.address}</dd>` : null}
    </dl>
    ${service.data?.description ? html`<p>${service.data.description}</p>` : null}
    <nav class="std-links" aria-label=${t('actions')}>
      <a class="button" data-testid="complain-link"
         href=${`/pengaduan/baru?service=${encodeURIComponent(serviceId)}`}>${t('complain')}</a>
      ${state.unitId ? html`<a class="button secondary" data-testid="performance-link"
         href=${`/kinerja?scope=unit&id=${encodeURIComponent(state.unitId)}`}
         >${t('performance')}</a>` : null}
    </nav>
    ${noStandard ? html`<p class="notice" data-testid="no-standard">${t('noStandard')}</p>`
      : current.error ? html`<${ErrorBox} error=${current.error} />`
      : html`<section aria-labelledby="std-comp"><h2 id="std-comp">${t('components')}</h2>
          <${Components} version=${v} t=${t} /></section>
          <${Adoption} version=${v} t=${t} />`}
    <${Questions} attributes=${service.data?.attributes} t=${t} />
    <${Maklumat} list=${state.maklumat.data} error=${state.maklumat.error} t=${t} />
    <${History} versions=${versions.data} error=${versions.error} t=${t} />
  </article>`;
}
