import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { hasReasonColor, reasonColor } from './colors';

/** Every reason code the engine's rankers can give, read from its Rust source. */
function engineReasonCodes(): string[] {
  const root = join(__dirname, '../../../crates/engine/src');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.rs') && !p.endsWith('tests.rs')) files.push(p);
    }
  };
  walk(root);
  const codes = new Set<string>();
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\badd\(\s*"([a-z_]+)"/g)) codes.add(m[1]);
    for (const m of src.matchAll(/\bcode: "([a-z_]+)"/g)) codes.add(m[1]);
  }
  return [...codes].sort();
}

describe('reason colours', () => {
  it('finds the reason codes in the engine source', () => {
    const codes = engineReasonCodes();
    // A few every ranker has had since the start: the scan itself works.
    for (const c of ['proximity', 'friends_liked', 'learned', 'strength']) expect(codes).toContain(c);
  });

  it('gives every reason code of the engine a colour chosen for it, not one hashed from its name', () => {
    const missing = engineReasonCodes().filter((c) => !hasReasonColor(c));
    expect(missing).toEqual([]);
  });

  it('keeps a collaborative hue for the item neighbours, apart from the model itself', () => {
    expect(reasonColor('neighbours')).not.toBe(reasonColor('learned'));
    expect(reasonColor('unknown_code')).toMatch(/^#[0-9a-f]{6}$/);
  });
});
