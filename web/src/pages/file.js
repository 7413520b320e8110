// Page "file": not built yet (issue #17).
import { html } from '../lib/ui.js';

export default function Page() {
  return html`<h1>file</h1><p>Belum tersedia.</p>`;
}
