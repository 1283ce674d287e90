// Messages between the HTTP thread and the writer thread (thread-writer.ts ⇄ writer-thread.ts).
import type { Config } from '../config.js';
import type { WriteRequest, WriteResult } from './store.js';

export interface WriterThreadData {
  databasePath: string;
  config: Config;
}

/** Sent in arrays: every request of one turn of the event loop in one message. */
export type ThreadRequest =
  | { type: 'write'; id: number; req: WriteRequest }
  | { type: 'flush'; id: number }
  | { type: 'close'; id: number };

export interface ThreadReply {
  id: number;
  result?: WriteResult;
  error?: { message: string; code?: string; logged?: boolean };
}

export type MetricCall =
  | { kind: 'inc'; name: string; labels?: Record<string, string>; by?: number }
  | { kind: 'observe'; name: string; value: number };

export interface ThreadMessage {
  replies?: ThreadReply[];
  metrics?: MetricCall[];
}
