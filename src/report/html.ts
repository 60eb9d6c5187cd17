/**
 * The run report as one self-contained HTML page: sections of ready-made HTML (inline SVG charts,
 * images as data: URLs) in a page with its own styles and no scripts, fonts or links to fetch, so
 * it opens offline and can be mailed. Browser-safe: the Node side (src/cli/report.ts) computes the
 * sections.
 */
import { ArgumentError } from '../errors.js';

export interface ReportSection {
  /** The element id (also what tests look for): letters, digits and dashes. */
  id: string;
  title: string;
  /** The section's content, HTML. */
  html: string;
}

/** Text made safe for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A table of rows of cells, each text escaped here. */
export function htmlTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (tag: string, v: string | number) => `<${tag}>${typeof v === 'number' ? String(v) : escapeHtml(v)}</${tag}>`;
  return `<table><thead><tr>${header.map((h) => cell('th', h)).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((v) => cell('td', v)).join('')}</tr>`).join('')}</tbody></table>`;
}

/** An image from a data: URL (anything else would be fetched, and the page must stand alone). */
export function htmlImage(dataUrl: string, alt: string): string {
  if (!dataUrl.startsWith('data:')) throw new ArgumentError('htmlImage', `the image must be a data: URL, got '${dataUrl.slice(0, 40)}'`);
  return `<img src="${dataUrl}" alt="${escapeHtml(alt)}">`;
}

/** An SVG document's `<svg>` element, ready to inline (an XML declaration or doctype dropped). */
export function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg');
  if (start < 0) throw new ArgumentError('inlineSvg', 'the text holds no <svg> element');
  return svg.slice(start);
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
nav a { margin-right: .8rem; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .2rem .6rem; text-align: left; }
th { background: #f2f2f2; }
/* Small grids (a few 16×16 masks) are scaled up, crisply. */
img { max-width: 100%; min-width: min(400px, 100%); image-rendering: pixelated; }
svg { max-width: 100%; height: auto; }
.note { color: #666; font-size: .9rem; }
/* The t-SNE map: thumbnails faint until the pointer is over them. */
#tsne svg image { opacity: .25; transition: opacity .1s; }
#tsne svg image:hover { opacity: 1; }
`;

/** The page: a title, a table of contents and the sections. */
export function reportHtml(title: string, sections: readonly ReportSection[]): string {
  for (const s of sections) if (!/^[A-Za-z][\w-]*$/.test(s.id)) throw new ArgumentError('reportHtml', `section id '${s.id}' must be letters, digits, '_' or '-'`);
  const nav = sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join('');
  const body = sections.map((s) => `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>\n${s.html}\n</section>`).join('\n');
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><nav>${nav}</nav>
${body}
</body></html>
`;
}
