/**
 * Text widths for Vega's layout in Node. Without a canvas, Vega estimates a text's width as
 * 0.8 × font size per character, much wider than real text: labels get truncated early, legends
 * and axis titles are pushed far out. Charts render with DejaVu Sans (the font of `chartConfig`,
 * installed with most Linux distributions), so these are its advance widths, read from
 * DejaVuSans.ttf and DejaVuSans-Bold.ttf (thousandths of an em). Node-only use (render.ts), but
 * this file itself imports nothing.
 */
const CHARS = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~−–—→←…°×µ·αβγλσ';
const REGULAR = [318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838, 838, 500, 1000, 838, 838, 1000, 500, 838, 636, 318, 659, 638, 592, 592, 634];
const BOLD = [348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838, 838, 500, 1000, 838, 838, 1000, 500, 838, 736, 380, 687, 716, 681, 633, 779];

const table = (widths: number[]) => new Map([...CHARS].map((c, i) => [c, widths[i] / 1000]));
const regular = table(REGULAR), bold = table(BOLD);

/** Width in pixels of `text` in DejaVu Sans at `fontSize`; characters outside the table count 0.62 em (1 em if wide). */
export function textWidth(text: string, fontSize: number, isBold = false): number {
  const widths = isBold ? bold : regular;
  let em = 0;
  for (const c of text) em += widths.get(c) ?? (c.codePointAt(0)! >= 0x1100 ? 1 : 0.62);
  return em * fontSize;
}

interface TextItem { fontSize?: number | string; fontWeight?: number | string; limit?: number }

/**
 * A replacement for vega-scenegraph's `textMetrics.width(item, text)`. Vega calls it both to
 * truncate text to `item.limit` (comparing with `< limit`) and for bounds of the truncated text,
 * so a width over the limit is reported as the limit.
 */
export function vegaTextWidth(item: TextItem, text: unknown): number {
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  const s = text == null ? '' : String(text).trim();
  if (size <= 0 || !s) return 0;
  const w = item.fontWeight === 'bold' || item.fontWeight === 'bolder' || Number(item.fontWeight) >= 600;
  const width = textWidth(s, size, w);
  return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
}
