import { describe, expect, test } from 'vitest';
import { parseFunnelConfig, configVersion } from '../../collector/funnel/funnel-config.js';
import { DEFAULT_FUNNEL_CONFIG } from '../../collector/funnel/default-funnel-config.js';
import { DEFAULT_STAGES } from '../../shared/stages.js';

const clone = () => structuredClone(DEFAULT_FUNNEL_CONFIG);

describe('funnel config', () => {
  test('the default config is valid and lists the contract stages in order', () => {
    const r = parseFunnelConfig(DEFAULT_FUNNEL_CONFIG);
    expect(r.ok).toBe(true);
    expect(DEFAULT_FUNNEL_CONFIG.stages).toEqual([...DEFAULT_STAGES]);
  });

  test('a rule naming an unknown stage is refused with its path', () => {
    const c = clone();
    c.stageRules[3].stage = 'nirvana';
    const r = parseFunnelConfig(c);
    expect(r).toEqual({ ok: false, message: expect.stringMatching(/^stageRules\.3\.stage: unknown stage "nirvana"/) });
  });

  test('a bad window duration is refused with its path', () => {
    const c = clone() as any;
    c.scoreRules[1].window = 'soon';
    const r = parseFunnelConfig(c);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/^scoreRules\.1\.window: /);
  });

  test('unknown condition keys are refused rather than silently ignored', () => {
    const c = clone() as any;
    c.stageRules[0].when = { evnt: 'pageview' };
    const r = parseFunnelConfig(c);
    expect(!r.ok && r.message).toMatch(/^stageRules\.0\.when/);
  });

  test('duplicate rule ids and duplicate stages are refused', () => {
    const c = clone();
    c.scoreRules[1].id = c.scoreRules[0].id;
    expect(parseFunnelConfig(c).ok).toBe(false);
    const d = clone();
    d.stages.push('awareness');
    expect(parseFunnelConfig(d).ok).toBe(false);
  });

  test('zero points and a missing threshold are refused', () => {
    const c = clone() as any;
    c.scoreRules[0].points = 0;
    expect(parseFunnelConfig(c).ok).toBe(false);
    const d = clone() as any;
    delete d.mqlThreshold;
    expect(!parseFunnelConfig(d).ok && (parseFunnelConfig(d) as any).message).toMatch(/^mqlThreshold/);
  });

  test('the version changes when a rule changes', () => {
    const c = clone();
    c.scoreRules[0].points = 3;
    expect(configVersion(c)).not.toBe(configVersion(DEFAULT_FUNNEL_CONFIG));
    expect(configVersion(clone())).toBe(configVersion(DEFAULT_FUNNEL_CONFIG));
  });
});
