/** The report page builder (src/report/html.ts): escaping, self-containment checks, section ids. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, htmlImage, htmlTable, inlineSvg, reportHtml } from '../src/report/html.js';

test('text is escaped in titles, tables and alt text', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(htmlTable(['k', 'v'], [['<b>', 2]]), '<table><thead><tr><th>k</th><th>v</th></tr></thead><tbody><tr><td>&lt;b&gt;</td><td>2</td></tr></tbody></table>');
  const page = reportHtml('run <1>', [{ id: 'a-1', title: 'A & B', html: '<p>x</p>' }]);
  assert.match(page, /<title>run &lt;1&gt;<\/title>/);
  assert.match(page, /<nav><a href="#a-1">A &amp; B<\/a><\/nav>/);
  assert.match(page, /<section id="a-1"><h2>A &amp; B<\/h2>\n<p>x<\/p>\n<\/section>/);
  assert.doesNotMatch(page, /<script|<link/);
});

test('only data: images and real SVG are inlined; section ids are checked', () => {
  assert.equal(htmlImage('data:image/png;base64,AAAA', 'a "b"'), '<img src="data:image/png;base64,AAAA" alt="a &quot;b&quot;">');
  assert.throws(() => htmlImage('https://example.com/x.png', 'x'), /htmlImage: the image must be a data: URL, got 'https:\/\/example\.com\/x\.png'/);
  assert.equal(inlineSvg('<?xml version="1.0"?>\n<svg width="1"></svg>'), '<svg width="1"></svg>');
  assert.throws(() => inlineSvg('<html></html>'), /inlineSvg: the text holds no <svg> element/);
  assert.throws(() => reportHtml('t', [{ id: 'a b', title: 't', html: '' }]), /reportHtml: section id 'a b' must be letters/);
});
