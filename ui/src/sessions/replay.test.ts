import { describe, expect, it } from 'vitest';
import { offsetAt, recordingExtent, timeAt } from './replay';

describe('replay clock', () => {
  const events = [
    { type: 4, timestamp: 1_700_000_000_000 },
    { type: 2, timestamp: 1_700_000_000_010 },
    { type: 3, timestamp: 1_700_000_003_000 },
  ];

  it('spans the recording in ns', () => {
    expect(recordingExtent(events)).toEqual([1_700_000_000_000e6, 1_700_000_003_000e6]);
    expect(recordingExtent([])).toBeNull();
  });

  it('maps times to player offsets and back, clamped to the recording', () => {
    const start = 1_700_000_000_000;
    expect(offsetAt(timeAt(1_500, start), start, 3_000)).toBe(1_500);
    expect(offsetAt((start - 10) * 1e6, start, 3_000)).toBe(0);
    expect(offsetAt((start + 9_000) * 1e6, start, 3_000)).toBe(3_000);
  });
});
