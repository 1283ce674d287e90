// The export traits of a lead from its `traits` JSON text: strings (numbers accepted), everything else empty.
import { TRAIT_KEYS } from '../../shared/events.js';
import type { Traits } from './audience-member.js';

export function readTraits(json: string | null | undefined): Traits {
  let parsed: Record<string, unknown> = {};
  try {
    const value = json ? JSON.parse(json) : {};
    if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    // A broken traits column must not stop an export; the lead just has no traits.
  }
  const traits = {} as Traits;
  for (const key of TRAIT_KEYS) {
    const v = parsed[key];
    traits[key] = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
  }
  return traits;
}
