// A hand-written SVG bar chart of the ratios. Each bar shows ours' advantage on a log2 axis:
// to the right of 1× ours did better, whatever the figure's direction (for "lower is better"
// figures the advantage is Go/ours). The printed number is always the plain ours/Go ratio.
import { formatRatio } from './markdown.js';
import type { ReportRow } from './model.js';

const AXIS_LIMIT = 4; // log2: the axis runs from 1/16× to 16×
const ROW_H = 22;
const LABEL_W = 520;
const PLOT_W = 460;
const VALUE_W = 150;
const TOP = 56;

export function escapeXml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
}

/** ours' advantage as a factor (> 1: ours better), or undefined without a ratio. */
export function advantage(row: Pick<ReportRow, 'ratio' | 'better'>): number | undefined {
  if (row.ratio === undefined || !(row.ratio > 0) || !Number.isFinite(row.ratio)) return undefined;
  return row.better === 'higher' ? row.ratio : 1 / row.ratio;
}

function xOf(factor: number): number {
  const l = Math.max(-AXIS_LIMIT, Math.min(AXIS_LIMIT, Math.log2(factor)));
  return LABEL_W + ((l + AXIS_LIMIT) / (2 * AXIS_LIMIT)) * PLOT_W;
}

export function renderRatioChart(rows: readonly ReportRow[], title: string): string {
  const width = LABEL_W + PLOT_W + VALUE_W;
  const height = TOP + rows.length * ROW_H + 30;
  const one = xOf(1);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="38" fill="#555">Bars right of 1× (green): ours did better; left (red): Go did better. Log scale, clipped at 1/16× and 16×. Number: ours/Go.</text>`,
  );
  for (let l = -AXIS_LIMIT; l <= AXIS_LIMIT; l++) {
    const x = xOf(2 ** l);
    const label = l >= 0 ? `${2 ** l}×` : `1/${2 ** -l}×`;
    parts.push(
      `<line x1="${x.toFixed(1)}" y1="${TOP - 6}" x2="${x.toFixed(1)}" y2="${height - 24}" stroke="${l === 0 ? '#333' : '#ddd'}" stroke-width="${l === 0 ? 1.5 : 1}"/>`,
      `<text x="${x.toFixed(1)}" y="${height - 10}" text-anchor="middle" fill="#555">${label}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = TOP + i * ROW_H;
    const label = `${row.scenario} · ${row.profile} · ${row.label}`;
    parts.push(`<text x="${LABEL_W - 8}" y="${y + 14}" text-anchor="end">${escapeXml(label)}</text>`);
    const adv = advantage(row);
    if (adv === undefined) {
      parts.push(`<text x="${one + 6}" y="${y + 14}" fill="#888">no ratio</text>`);
      return;
    }
    const x = xOf(adv);
    const good = adv > 1;
    const fill = adv === 1 ? '#9e9e9e' : good ? '#2e7d32' : '#c62828';
    parts.push(`<rect x="${Math.min(x, one).toFixed(1)}" y="${y + 3}" width="${Math.max(1, Math.abs(x - one)).toFixed(1)}" height="${ROW_H - 8}" fill="${fill}"/>`);
    if (row.target) {
      const goal = advantage({ ratio: row.target.ratio, better: row.target.op === '>=' ? 'higher' : 'lower' });
      if (goal !== undefined) {
        const tx = xOf(goal).toFixed(1);
        parts.push(`<line x1="${tx}" y1="${y}" x2="${tx}" y2="${y + ROW_H - 2}" stroke="#1565c0" stroke-width="2" stroke-dasharray="3,2"><title>${escapeXml(row.target.text)}</title></line>`);
      }
    }
    parts.push(`<text x="${LABEL_W + PLOT_W + 8}" y="${y + 14}">${escapeXml(formatRatio(row.ratio))}${row.target ? escapeXml(row.meetsTarget ? ' (meets target)' : ' (misses target)') : ''}</text>`);
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
