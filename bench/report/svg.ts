/** Small, dependency-free SVG charts for the report: lines on linear or log axes, and bars. */

export interface Series {
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  /** A horizontal reference line (a target or a limit). */
  guide?: { y: number; label: string };
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];
const WIDTH = 760;
const HEIGHT = 380;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 50 };

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function formatTick(value: number): string {
  if (value >= 1_000_000) return `${value / 1_000_000}M`;
  if (value >= 1000) return `${value / 1000}k`;
  return String(Math.round(value * 1000) / 1000);
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(min)); decade <= max * 10; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const value = decade * step;
      if (value >= min && value <= max) ticks.push(value);
    }
  }
  return ticks;
}

function linearTicks(min: number, max: number): number[] {
  const span = max - min || 1;
  const raw = span / 6;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => span / s <= 7) ?? raw;
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max + 1e-9; value += step) ticks.push(Math.round(value * 1e6) / 1e6);
  return ticks;
}

interface Axis {
  scale(value: number): number;
  ticks: number[];
}

function axis(values: number[], log: boolean, from: number, to: number): Axis {
  const positive = log ? values.filter((v) => v > 0) : values;
  let min = Math.min(...positive);
  let max = Math.max(...positive);
  if (!Number.isFinite(min)) [min, max] = [1, 10];
  if (log) {
    min = 10 ** Math.floor(Math.log10(min));
    max = 10 ** Math.ceil(Math.log10(max));
    const scale = (value: number): number => from + ((Math.log10(Math.max(value, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * (to - from);
    return { scale, ticks: logTicks(min, max) };
  }
  min = Math.min(0, min);
  max = max === min ? min + 1 : max * 1.05;
  return { scale: (value) => from + ((value - min) / (max - min)) * (to - from), ticks: linearTicks(min, max) };
}

export function lineChart(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...chart.series.flatMap((s) => s.points.map((p) => p[1])), ...(chart.guide ? [chart.guide.y] : [])];
  const x = axis(xs, chart.logX ?? false, MARGIN.left, WIDTH - MARGIN.right);
  const y = axis(ys, chart.logY ?? false, HEIGHT - MARGIN.bottom, MARGIN.top);
  const parts: string[] = [];
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${WIDTH / 2 - MARGIN.right / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(chart.title)}</text>`);
  for (const tick of x.ticks) {
    const px = x.scale(tick);
    parts.push(`<line x1="${px}" y1="${MARGIN.top}" x2="${px}" y2="${HEIGHT - MARGIN.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${px}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle" font-size="11">${formatTick(tick)}</text>`);
  }
  for (const tick of y.ticks) {
    const py = y.scale(tick);
    parts.push(`<line x1="${MARGIN.left}" y1="${py}" x2="${WIDTH - MARGIN.right}" y2="${py}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${py + 4}" text-anchor="end" font-size="11">${formatTick(tick)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${WIDTH - MARGIN.left - MARGIN.right}" height="${HEIGHT - MARGIN.top - MARGIN.bottom}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 12}" text-anchor="middle" font-size="12">${escape(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escape(chart.yLabel)}</text>`);
  if (chart.guide) {
    const py = y.scale(chart.guide.y);
    parts.push(`<line x1="${MARGIN.left}" y1="${py}" x2="${WIDTH - MARGIN.right}" y2="${py}" stroke="#555" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right - 4}" y="${py - 5}" text-anchor="end" font-size="11" fill="#555">${escape(chart.guide.label)}</text>`);
  }
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = series.points.filter((p) => !(chart.logX && p[0] <= 0) && !(chart.logY && p[1] <= 0));
    const path = points.map((p, j) => `${j === 0 ? "M" : "L"}${x.scale(p[0]).toFixed(1)},${y.scale(p[1]).toFixed(1)}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    for (const p of points) parts.push(`<circle cx="${x.scale(p[0]).toFixed(1)}" cy="${y.scale(p[1]).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = MARGIN.top + 10 + i * 18;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 12}" y1="${ly}" x2="${WIDTH - MARGIN.right + 32}" y2="${ly}" stroke="${color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 38}" y="${ly + 4}" font-size="11">${escape(series.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">\n${parts.join("\n")}\n</svg>\n`;
}

export interface BarChart {
  title: string;
  unit: string;
  bars: Array<{ label: string; value: number }>;
  guide?: { value: number; label: string };
}

/** Horizontal bars, labels on the left: suits long labels (functions, areas). */
export function barChart(chart: BarChart): string {
  const rowHeight = 22;
  const left = 300;
  const right = 90;
  const height = MARGIN.top + chart.bars.length * rowHeight + 30;
  const max = Math.max(...chart.bars.map((b) => b.value), chart.guide?.value ?? 0, 1e-9);
  const scale = (value: number): number => (value / max) * (WIDTH - left - right);
  const parts: string[] = [`<rect width="${WIDTH}" height="${height}" fill="white"/>`];
  parts.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(chart.title)}</text>`);
  chart.bars.forEach((bar, i) => {
    const y = MARGIN.top + i * rowHeight;
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end" font-size="11">${escape(bar.label.length > 48 ? `${bar.label.slice(0, 47)}…` : bar.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(1, scale(bar.value)).toFixed(1)}" height="${rowHeight - 6}" fill="${COLORS[0]}"/>`);
    parts.push(`<text x="${left + scale(bar.value) + 6}" y="${y + 14}" font-size="11">${formatTick(Math.round(bar.value * 10) / 10)} ${escape(chart.unit)}</text>`);
  });
  if (chart.guide) {
    const gx = left + scale(chart.guide.value);
    parts.push(`<line x1="${gx}" y1="${MARGIN.top - 4}" x2="${gx}" y2="${height - 24}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${gx}" y="${height - 10}" text-anchor="middle" font-size="11" fill="#d62728">${escape(chart.guide.label)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">\n${parts.join("\n")}\n</svg>\n`;
}
