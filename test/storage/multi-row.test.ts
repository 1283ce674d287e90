// Chunking of multi-row statements: few fixed sizes on SQLite (prepared once), as few statements as possible on PostgreSQL.
import { expect, test } from 'vitest';
import { chunkRows, PG_ROWS } from '../../collector/storage/multi-row.js';

const rows = (n: number) => Array.from({ length: n }, (_, i) => i);
const sizes = (chunks: number[][]) => chunks.map((c) => c.length);

test('SQLite chunks are powers of two up to 64 rows, in order, covering every row once', () => {
  expect(sizes(chunkRows(rows(85)))).toEqual([64, 16, 4, 1]);
  expect(sizes(chunkRows(rows(7)))).toEqual([4, 2, 1]);
  expect(sizes(chunkRows(rows(50)))).toEqual([32, 16, 2]);
  expect(chunkRows(rows(150)).flat()).toEqual(rows(150));
  expect(chunkRows([])).toEqual([]);
});

test('PostgreSQL takes the rows in one statement, split only past PG_ROWS', () => {
  expect(sizes(chunkRows(rows(85), 'pg'))).toEqual([85]);
  expect(sizes(chunkRows(rows(PG_ROWS * 2 + 5), 'pg'))).toEqual([PG_ROWS, PG_ROWS, 5]);
  expect(chunkRows(rows(2500), 'pg').flat()).toEqual(rows(2500));
  expect(chunkRows([], 'pg')).toEqual([]);
});
