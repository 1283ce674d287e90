// Limits shared by snippet and collector. Every limit has a test that crosses it.
export const LIMITS = {
  /** POST /e body, bytes. Larger bodies get 413. */
  bodyBytes: 64 * 1024,
  /** POST /api/events body, bytes. */
  apiBodyBytes: 1024 * 1024,
  /** Events in one POST /e batch. */
  batchEvents: 50,
  /** Events in one POST /api/events array. */
  apiBatchEvents: 1000,
  /** Length of a URL or referrer. */
  urlChars: 2048,
  /** Length of an event name. */
  nameChars: 64,
  /** Length of ids (event id, visitor id, site key). */
  idChars: 64,
  /** Length of any other string value (props, traits, touch fields). */
  valueChars: 512,
  /** Keys in a props or traits object. */
  propKeys: 32,
  /** Length of a prop key. */
  propKeyChars: 64,
  /** Bytes of a raw body kept in the rejected store. */
  rejectedRawBytes: 2048,
  /** Events held by the snippet for retry. */
  snippetStoredEvents: 100,
  /** An event time may be this far in the future (clock skew) before it is clamped. */
  futureSkewMs: 5 * 60 * 1000,
  /** An event time may be this old before it is rejected. */
  maxAgeMs: 7 * 24 * 60 * 60 * 1000,
  /**
   * A batch stamped with the device's clock (`t`) further than this from the collector's has its event times moved by
   * the difference (device-clock.ts); closer, it is network time, and times are kept as sent.
   */
  clockToleranceMs: 60 * 1000,
} as const;

/** A session ends after this long without activity. */
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;
