import { MIN_SECTION_SHARE, roomFor } from '../layout';

function sum(sizes: number[]): number {
  return sizes.reduce((a, b) => a + b, 0);
}

describe('roomFor', () => {
  it('gives a squeezed last section its share, the others shrunk alike', () => {
    // The Running panel as JupyterLab lays it out: six sections, then ours.
    const sizes = [1, 1, 1, 1, 1, 1, 0].map(s => s / 6);
    const room = roomFor(sizes, 6)!;
    expect(room[6]).toBeCloseTo(MIN_SECTION_SHARE);
    for (const size of room.slice(0, 6)) {
      expect(size).toBeCloseTo((1 - MIN_SECTION_SHARE) / 6);
    }
    expect(sum(room)).toBeCloseTo(1);
  });

  it('gives an equal share where that is more', () => {
    expect(roomFor([0.95, 0.05], 1)).toEqual([0.5, 0.5]);
    const room = roomFor([0.5, 0.2, 0.3], 2)!;
    expect(room[2]).toBeCloseTo(1 / 3);
  });

  it('keeps the others in proportion', () => {
    const room = roomFor([3, 1, 0], 2, 0.5)!;
    expect(room[0]).toBeCloseTo(0.375);
    expect(room[1]).toBeCloseTo(0.125);
    expect(room[2]).toBeCloseTo(0.5);
  });

  it('leaves a section that has room as it is', () => {
    expect(roomFor([0.2, 0.5, 0.3], 1)).toBeNull();
    expect(roomFor([1], 0)).toBeNull();
  });

  it('reads sizes that are not normalized, or all zero', () => {
    expect(roomFor([2, 2, 0, 0], 3)).toEqual([0.375, 0.375, 0, 0.25]);
    expect(roomFor([0, 0, 0, 0], 3)).toBeNull(); // a quarter each already
    expect(roomFor([0, 0, 0, 0, 0, 0], 5)).toEqual([
      0.15, 0.15, 0.15, 0.15, 0.15, 0.25
    ]);
  });

  it('does nothing for a section it cannot find', () => {
    expect(roomFor([0.5, 0.5], -1)).toBeNull();
    expect(roomFor([0.5, 0.5], 2)).toBeNull();
    expect(roomFor([], 0)).toBeNull();
  });
});
