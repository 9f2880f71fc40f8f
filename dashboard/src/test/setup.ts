// Vitest setup: DOM matchers, and a recording 2D context, since jsdom has no canvas.
import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach, vi } from 'vitest';

afterEach(() => cleanup());

// findBy and waitFor wait up to 4 s, not the library's 1 s: on a loaded 2-core machine a
// search's answer and a re-render took longer than 1 s (the Inspector's group test timed out
// there, and passes in about 0.6 s on a quiet one). A test that waits for what never comes
// still fails; it fails later.
configure({ asyncUtilTimeout: 4000 });

/** Every call made on any canvas context, for tests that check what was drawn. */
export const canvasCalls: { method: string; args: unknown[] }[] = [];

function fakeContext(): CanvasRenderingContext2D {
  const target: Record<string, unknown> = {
    canvas: null,
    measureText: (t: string) => ({ width: t.length * 6 }),
    createImageData: (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
    getImageData: (_x: number, _y: number, w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
    createRadialGradient: () => ({ addColorStop: () => {} }),
  };
  return new Proxy(target, {
    get(t, prop: string) {
      if (prop in t) return t[prop];
      return (...args: unknown[]) => {
        canvasCalls.push({ method: prop, args });
      };
    },
    set(t, prop: string, value) {
      t[prop] = value;
      return true;
    },
  }) as unknown as CanvasRenderingContext2D;
}

Object.defineProperty(HTMLCanvasElement.prototype, 'getContext', {
  configurable: true,
  value: vi.fn(function getContext() {
    return fakeContext();
  }),
});

if (!('ResizeObserver' in globalThis)) {
  (globalThis as Record<string, unknown>).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
if (!window.matchMedia) {
  window.matchMedia = (() => ({ matches: false, addEventListener() {}, removeEventListener() {} })) as unknown as typeof window.matchMedia;
}

/** uPlot draws on canvas: a stand-in that records what the charts ask of it (`fakePlots()`). */
vi.mock('uplot', () => {
  class FakePlot {
    static paths = { bars: () => () => null };
    opts: { series: { label?: string }[] };
    data: number[][];
    destroyed = false;
    constructor(opts: { series: { label?: string }[] }, data: number[][]) {
      this.opts = opts;
      this.data = data;
      const g = globalThis as { __plots?: FakePlot[] };
      (g.__plots ??= []).push(this);
    }
    setData(d: number[][]) {
      this.data = d;
    }
    setSize() {}
    destroy() {
      this.destroyed = true;
    }
  }
  return { default: FakePlot };
});
