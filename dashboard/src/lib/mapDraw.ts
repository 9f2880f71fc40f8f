// Drawing the map's layers on a 2D canvas: the demand heat (binned in screen cells, drawn as
// soft blots and coloured by intensity), live bookings (pulsing rings that fade over 45 s), and the
// inspector's overlay (people, numbered venues, dashed routes, labels).

import type { CityMapData } from '../api/types';
import { heatColor, heatGrid, project, type View } from './geo';
import type { LiveStore } from './live';

export interface OverlayPoint {
  lat: number;
  lng: number;
  label: string;
  color: string;
  /** `person` draws a ring with a dot, `venue` a numbered disc, `centroid` a cross. */
  kind: 'person' | 'venue' | 'centroid';
  rank?: number;
}

export interface Overlay {
  points: OverlayPoint[];
  lines: { from: [number, number]; to: [number, number]; color: string }[];
}

/** The heat palette by intensity (0-255), built once. */
let palette: Uint8ClampedArray | null = null;
function heatPalette(): Uint8ClampedArray {
  if (!palette) {
    palette = new Uint8ClampedArray(256 * 4);
    for (let i = 0; i < 256; i++) palette.set(heatColor(i / 255), i * 4);
  }
  return palette;
}

/**
 * Demand heat: weights binned into screen cells, each cell a soft radial blot of its intensity
 * on an offscreen canvas, then the accumulated intensity coloured through the palette.
 */
export function drawHeat(ctx: CanvasRenderingContext2D, v: View, map: CityMapData, weight: (i: number) => number) {
  const heat = heatGrid(v, map.venues.lat, map.venues.lng, weight, 12);
  if (heat.max <= 0) return;
  const [w, h] = [Math.ceil(v.width), Math.ceil(v.height)];
  const off = document.createElement('canvas');
  off.width = w;
  off.height = h;
  const o = off.getContext('2d');
  if (!o) return;
  const r = heat.cell * 1.5;
  for (let k = 0; k < heat.values.length; k++) {
    if (heat.values[k] <= 0) continue;
    const t = Math.sqrt(heat.values[k] / heat.max);
    const cx = ((k % heat.cols) + 0.5) * heat.cell;
    const cy = (Math.floor(k / heat.cols) + 0.5) * heat.cell;
    const g = o.createRadialGradient(cx, cy, 0, cx, cy, r);
    g.addColorStop(0, `rgba(0,0,0,${0.12 + 0.88 * t})`);
    g.addColorStop(1, 'rgba(0,0,0,0)');
    o.fillStyle = g;
    o.fillRect(cx - r, cy - r, 2 * r, 2 * r);
  }
  const img = o.getImageData(0, 0, w, h);
  const lut = heatPalette();
  const px = img.data;
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3];
    if (a === 0) continue;
    px[i] = lut[a * 4];
    px[i + 1] = lut[a * 4 + 1];
    px[i + 2] = lut[a * 4 + 2];
    px[i + 3] = lut[a * 4 + 3];
  }
  o.putImageData(img, 0, 0);
  ctx.save();
  ctx.globalAlpha *= 0.85;
  ctx.drawImage(off, 0, 0, w, h);
  ctx.restore();
}

const BOOKING_MS = 45_000;

export function drawBookings(ctx: CanvasRenderingContext2D, v: View, map: CityMapData, live: LiveStore, index: Map<string, number>): boolean {
  const now = Date.now();
  let any = false;
  for (const b of live.liveBookings) {
    const i = index.get(b.venueId);
    if (i === undefined) continue;
    const age = (now - b.at) / BOOKING_MS;
    if (age >= 1) continue;
    any = true;
    const [x, y] = project(v, map.venues.lat[i], map.venues.lng[i]);
    const pulse = ((now - b.at) % 1500) / 1500;
    const color = b.type === 'booking.created' ? '52,211,153' : '251,191,36';
    ctx.strokeStyle = `rgba(${color},${(1 - pulse) * (1 - age)})`;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(x, y, 4 + pulse * 16, 0, Math.PI * 2);
    ctx.stroke();
    ctx.fillStyle = `rgba(${color},${0.9 * (1 - age) + 0.1})`;
    ctx.beginPath();
    ctx.arc(x, y, 3.5, 0, Math.PI * 2);
    ctx.fill();
  }
  return any;
}

export function drawOverlay(ctx: CanvasRenderingContext2D, v: View, overlay: Overlay) {
  for (const l of overlay.lines) {
    const [x1, y1] = project(v, l.from[0], l.from[1]);
    const [x2, y2] = project(v, l.to[0], l.to[1]);
    ctx.strokeStyle = l.color;
    ctx.globalAlpha = 0.7;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
  }
  ctx.font = '600 11px ui-sans-serif, system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (const p of overlay.points) {
    const [x, y] = project(v, p.lat, p.lng);
    if (p.kind === 'venue') {
      ctx.fillStyle = p.color;
      ctx.strokeStyle = '#0b1120';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 9, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
      ctx.fillStyle = '#0b1120';
      ctx.textAlign = 'center';
      ctx.fillText(String(p.rank ?? ''), x, y + 0.5);
    } else if (p.kind === 'centroid') {
      ctx.strokeStyle = p.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x - 6, y - 6);
      ctx.lineTo(x + 6, y + 6);
      ctx.moveTo(x + 6, y - 6);
      ctx.lineTo(x - 6, y + 6);
      ctx.stroke();
    } else {
      ctx.fillStyle = `${p.color}33`;
      ctx.strokeStyle = p.color;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.arc(x, y, 11, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
      ctx.fillStyle = p.color;
      ctx.beginPath();
      ctx.arc(x, y, 4, 0, Math.PI * 2);
      ctx.fill();
    }
  }
  // Labels after every mark, so no mark is drawn over a label; each placed where it is whole,
  // clear of the other marks and of the labels placed before it.
  ctx.textAlign = 'left';
  const marks = overlay.points.map((p) => {
    const [x, y] = project(v, p.lat, p.lng);
    return { x: x - 11, y: y - 11, w: 22, h: 22 };
  });
  const placed: LabelBox[] = [];
  for (const [i, p] of overlay.points.entries()) {
    if (!p.label) continue;
    const [x, y] = project(v, p.lat, p.lng);
    const others = [...marks.slice(0, i), ...marks.slice(i + 1), ...placed];
    const box = placeLabel(x, y, ctx.measureText(p.label).width, p.kind === 'venue' ? 12 : 14, v.width, v.height, others);
    placed.push(box);
    ctx.fillStyle = 'rgba(2,6,23,0.8)';
    ctx.fillRect(box.x, box.y, box.w, box.h);
    ctx.fillStyle = '#f1f5f9';
    ctx.fillText(p.label, box.x + LABEL_PAD, box.y + box.h / 2 + 0.5);
  }
}

/** A label's box on the map: its text starts `LABEL_PAD` in from `x`. */
export interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

const LABEL_PAD = 3;
const LABEL_HEIGHT = 16;

const overlaps = (a: LabelBox, b: LabelBox) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Where the label of a mark at (x, y) goes: right of it, else left, above or below, the first
 * place that is inside the map (`width` x `height`) and clear of what is already there (`placed`:
 * other marks, labels drawn before it);
 * else the first inside the map; else right of it, moved inside. On a phone the map is narrow:
 * labels always drawn to the right were cut at its edge and hid each other (QA at 390 px).
 */
export function placeLabel(x: number, y: number, textWidth: number, gap: number, width: number, height: number, placed: readonly LabelBox[]): LabelBox {
  const w = textWidth + 2 * LABEL_PAD;
  const h = LABEL_HEIGHT;
  const candidates: LabelBox[] = [
    { x: x + gap - LABEL_PAD, y: y - h / 2, w, h },
    { x: x - gap + LABEL_PAD - w, y: y - h / 2, w, h },
    // Above and below, slid sideways into the map if need be.
    { x: Math.max(0, Math.min(x - w / 2, width - w)), y: y - gap - h, w, h },
    { x: Math.max(0, Math.min(x - w / 2, width - w)), y: y + gap, w, h },
  ];
  const inside = (b: LabelBox) => b.x >= 0 && b.y >= 0 && b.x + b.w <= width && b.y + b.h <= height;
  const fits = candidates.filter(inside);
  const free = fits.find((b) => !placed.some((o) => overlaps(b, o)));
  if (free) return free;
  if (fits.length) return fits[0];
  const first = candidates[0];
  return { ...first, x: Math.max(0, Math.min(first.x, width - w)), y: Math.max(0, Math.min(first.y, height - h)) };
}

