import { describe, expect, it } from 'vitest';

import { SseParser } from './sse';

describe('SseParser', () => {
  it('yields named frames with their id and data, across chunk boundaries', () => {
    const p = new SseParser();
    expect(p.push('id: a:1\nevent: interaction.rec')).toEqual([]);
    expect(p.push('orded\ndata: {"x":1}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'interaction.recorded', data: '{"x":1}', id: 'a:1' }]);
  });

  it('joins multi-line data, ignores comments, and takes CRLF and CR line ends', () => {
    const p = new SseParser();
    const frames = p.push(':keepalive\r\ndata: one\r\ndata: two\r\n\r\ndata:three\r\r\n');
    expect(frames).toEqual([
      { event: 'message', data: 'one\ntwo', id: null },
      { event: 'message', data: 'three', id: null },
    ]);
  });

  it('waits when a chunk ends between CR and LF', () => {
    const p = new SseParser();
    expect(p.push('data: x\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'message', data: 'x', id: null }]);
  });

  it('skips frames without data and remembers retry', () => {
    const p = new SseParser();
    expect(p.push('event: nothing\n\nretry: 2500\n\n')).toEqual([]);
    expect(p.retry).toBe(2500);
  });
});
