// Before a test moves the collector's clock, every beacon already sent must have landed. A tab closed just before the
// jump sends its last batch (engagement, a late view) stamped with the device's clock; arriving after the jump, the
// device-clock correction reads the jump as the device's skew and moves those events by it: a visit an hour later, a
// session that never happened (the likely cause of black-box-journeys-11 failing under load). Waiting for the
// collector to go quiet keeps each event on the clock it was sent on.

const COUNTERS = /^funnelbeam_(events_accepted_total|events_duplicate_total|events_rejected_total)\S* (\d+)/gm;

async function eventsSeen(collector: string): Promise<number> {
  const text = await (await fetch(collector + '/metrics')).text();
  let sum = 0;
  for (const m of text.matchAll(COUNTERS)) sum += Number(m[2]);
  return sum;
}

/** Resolves once the collector has taken no event (stored, duplicate or refused) for `quietMs`, or at once while it
 * is down (a test that stopped it: nothing can land). */
export async function settleCollector(collector: string, quietMs = 600, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number;
  try {
    last = await eventsSeen(collector);
  } catch {
    return;
  }
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`the collector did not go quiet within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
    const seen = await eventsSeen(collector);
    if (seen !== last) [last, since] = [seen, Date.now()];
  }
}
