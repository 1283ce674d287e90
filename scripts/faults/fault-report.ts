// The shape every fault run returns and how the report prints it.
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FaultReport {
  fault: string;
  /** how the fault was made, and why that is faithful */
  mechanism: string;
  /** null when the fault could not be made on this machine (the reason is in skipped) */
  checks: Check[] | null;
  figures: Record<string, string | number>;
  skipped?: string;
}

export const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

export function printReport(r: FaultReport) {
  console.log(`\n${r.fault}`);
  console.log(`  mechanism: ${r.mechanism}`);
  if (r.skipped) {
    console.log(`  SKIPPED: ${r.skipped}`);
    return;
  }
  for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(44)} ${v}`);
  for (const c of r.checks ?? []) console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name} — ${c.detail}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
