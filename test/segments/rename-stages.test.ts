import { expect, test } from 'vitest';
import { renameStagesIn, stageRenames } from '../../collector/segments/rename-stages.js';
import { unknownStages } from '../../collector/segments/definition.js';

const STAGES = ['awareness', 'interest', 'consideration', 'intent'];

test('a name changed at its position is a rename; a longer or shorter list, or a name moved elsewhere, is none', () => {
  expect([...stageRenames(STAGES, ['awareness', 'interest', 'considering', 'intent'])]).toEqual([['consideration', 'considering']]);
  expect(stageRenames(STAGES, ['awareness', 'interest', 'intent']).size).toBe(0);
  expect(stageRenames(STAGES, ['awareness', 'consideration', 'interest', 'intent']).size).toBe(0);
});

test('stage names are renamed through all, any and not; other conditions and untouched definitions stay as they are', () => {
  const renames = new Map([['consideration', 'considering']]);
  const def = { all: [{ stage: { in: ['interest', 'consideration'] } }, { not: { stage: { eq: 'consideration' } } }, { any: [{ stage: { gte: 'consideration' } }, { score: { gte: 5 } }] }] };
  expect(renameStagesIn(def, renames)).toEqual({
    all: [{ stage: { in: ['interest', 'considering'] } }, { not: { stage: { eq: 'considering' } } }, { any: [{ stage: { gte: 'considering' } }, { score: { gte: 5 } }] }],
  });
  const plain = { score: { gte: 5 } };
  expect(renameStagesIn(plain, renames)).toBe(plain);
});

test('unknownStages lists the names a definition uses that the funnel does not have', () => {
  expect(unknownStages({ any: [{ stage: { in: ['intent', 'evaluation'] } }, { not: { stage: { gte: 'purchase' } } }] }, STAGES)).toEqual([
    { path: ['any', 0, 'stage', 'in', 1], stage: 'evaluation' },
    { path: ['any', 1, 'not', 'stage', 'gte'], stage: 'purchase' },
  ]);
  expect(unknownStages({ stage: { eq: 'intent' } }, STAGES)).toEqual([]);
});
