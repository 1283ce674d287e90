// Delivery ids that sort in the order they were made (UUID version 7), so the queue and the log keep event order.
import { randomBytes } from 'node:crypto';

let lastMs = -1;
let seq = 0;

/**
 * A UUIDv7 of `nowMs`: 48 bits of milliseconds, then a 12-bit counter, then random bits. Ids made in the same
 * millisecond (one event that moves a lead two stages queues both in one transaction) or with a clock that went back
 * count up from the last one, so `ORDER BY next_attempt_at, delivery_id` sends them in the order they were queued.
 */
export function newDeliveryId(nowMs: number): string {
  const ms = Number.isFinite(nowMs) && nowMs >= 0 ? Math.floor(nowMs) : Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    seq = 0;
  } else if (++seq > 0xfff) {
    lastMs++;
    seq = 0;
  }
  const rand = randomBytes(8);
  const hex = lastMs.toString(16).padStart(12, '0') + '7' + seq.toString(16).padStart(3, '0') + ((rand[0] & 0x3f) | 0x80).toString(16) + rand.subarray(1).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
