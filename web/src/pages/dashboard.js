// Page "dashboard": not built yet (issue #17).
import { html } from '../lib/ui.js';

export default function Page() {
  return html`<h1>dashboard</h1><p>Belum tersedia.</p>`;
}
