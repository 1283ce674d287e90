// When a config change matters to segments: the stage order and the half-life, nothing else.
import { expect, test } from 'vitest';
import { funnelSettingsOf, sameFunnelSettings } from '../../collector/segments/funnel-settings.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';

test('sameFunnelSettings: other rules or threshold do not matter; the half-life and the stage order do', () => {
  const base = funnelSettingsOf(DEFAULT_FUNNEL_CONFIG);
  expect(sameFunnelSettings(base, funnelSettingsOf({ ...DEFAULT_FUNNEL_CONFIG, mqlThreshold: 70, scoreRules: [] }))).toBe(true);
  expect(sameFunnelSettings(base, funnelSettingsOf({ ...DEFAULT_FUNNEL_CONFIG, stages: [...DEFAULT_FUNNEL_CONFIG.stages] }))).toBe(true);
  expect(sameFunnelSettings(base, funnelSettingsOf({ ...DEFAULT_FUNNEL_CONFIG, halfLifeDays: 7 }))).toBe(false);
  expect(sameFunnelSettings(base, funnelSettingsOf({ ...DEFAULT_FUNNEL_CONFIG, halfLifeDays: null }))).toBe(false);
  const swapped = [...DEFAULT_FUNNEL_CONFIG.stages];
  [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
  expect(sameFunnelSettings(base, funnelSettingsOf({ ...DEFAULT_FUNNEL_CONFIG, stages: swapped }))).toBe(false);
  expect(sameFunnelSettings(base, funnelSettingsOf({ ...DEFAULT_FUNNEL_CONFIG, stages: swapped.slice(0, 5) }))).toBe(false);
});
