// The visitor's clock, corrected (Snowplow's "derived timestamp"). The snippet stamps each batch with the device's
// clock when it sends it (`t`); that stamp's distance from the collector's clock when the batch arrives is the
// device's skew, and every event time of the batch moves by it, so a clock hours off (or a test's fake clock) still
// gives true times, and events queued on the device keep their age. Within LIMITS.clockToleranceMs the distance is
// network time, and times stay as sent. A batch without the stamp (API clients, hand-made beacons) is taken as sent.
import { LIMITS } from '../../shared/limits.js';
import type { WireBatch } from '../../shared/wire.js';

/** How far the device's clock runs ahead of the collector's (negative: behind), or 0 within the tolerance. */
export function clockSkew(sentAt: number | undefined, receivedAt: number): number {
  if (sentAt === undefined) return 0;
  const skew = sentAt - receivedAt;
  return Math.abs(skew) > LIMITS.clockToleranceMs ? skew : 0;
}

/**
 * The skew of a batch's events. No event is made after its batch was sent, so a stamp older than an event of the batch
 * (beyond the tolerance) is on another clock than the events (a client writing unix seconds, or 0; a device clock set
 * back between an event and its send): it is ignored, and the events are taken as sent.
 */
export function batchSkew(batch: Pick<WireBatch, 't' | 'e'>, receivedAt: number): number {
  if (batch.t === undefined) return 0;
  for (const e of batch.e) if (e.t > batch.t + LIMITS.clockToleranceMs) return 0;
  return clockSkew(batch.t, receivedAt);
}
