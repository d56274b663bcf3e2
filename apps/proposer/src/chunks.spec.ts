import { chunksOf } from './chunks';

describe('chunksOf', () => {
  it('cuts at the count and at the bytes, in order, and sends an oversized item alone', () => {
    expect(chunksOf([1, 2, 3, 4, 5], 2, 100, () => 1)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunksOf([10, 10, 10, 50, 10], 10, 30, (x) => x)).toEqual([[10, 10, 10], [50], [10]]);
    expect(chunksOf([], 2, 10, () => 1)).toEqual([]);
  });
});
