// The visitor's clock, corrected (Snowplow's "derived timestamp"). The snippet stamps each batch with the device's
// clock when it sends it (`t`); that stamp's distance from the collector's clock when the batch arrives is the
// device's skew, and every event time of the batch moves by it, so a clock hours off (or a test's fake clock) still
// gives true times, and events queued on the device keep their age. Within LIMITS.clockToleranceMs the distance is
// network time, and times stay as sent. A batch without the stamp (API clients, hand-made beacons) is taken as sent.
import { LIMITS } from '../../shared/limits.js';

/** How far the device's clock runs ahead of the collector's (negative: behind), or 0 within the tolerance. */
export function clockSkew(sentAt: number | undefined, receivedAt: number): number {
  if (sentAt === undefined) return 0;
  const skew = sentAt - receivedAt;
  return Math.abs(skew) > LIMITS.clockToleranceMs ? skew : 0;
}
