// Which addresses a webhook may be delivered to: link-local and cloud metadata addresses never; loopback, private,
// CGNAT and unspecified ones only when the operator allows them (WEBHOOK_PRIVATE_TARGETS, on by default).
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export interface TargetPolicy {
  /** loopback, private (RFC 1918, fc00::/7), CGNAT and unspecified addresses may be targets */
  privateTargets: boolean;
}

export const DEFAULT_TARGET_POLICY: TargetPolicy = { privateTargets: true };

type Range = [address: string, prefix: number];

/** Never a target: a request there reaches the host's own cloud metadata service or its local link, not a receiver. */
const LINK_LOCAL_V4: Range[] = [
  ['169.254.0.0', 16], // link-local; 169.254.169.254 is the metadata service of AWS, GCP, Azure, Oracle, DigitalOcean…
  ['100.100.100.200', 32], // Alibaba Cloud metadata (inside CGNAT space, so refused even when private targets are allowed)
  ['168.63.129.16', 32], // Azure host endpoint (wireserver)
];
const LINK_LOCAL_V6: Range[] = [
  ['fe80::', 10],
  ['fd00:ec2::254', 128], // AWS metadata over IPv6 (inside fc00::/7)
];
/** Targets only with WEBHOOK_PRIVATE_TARGETS=1: this machine and the networks behind it. */
const PRIVATE_V4: Range[] = [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10], // CGNAT, also used by some clouds and VPNs for internal addresses
  ['0.0.0.0', 8], // "this network": connecting to 0.0.0.0 reaches the local host
];
const PRIVATE_V6: Range[] = [
  ['::1', 128],
  ['::', 128],
  ['fc00::', 7], // unique local
  ['fec0::', 10], // site-local (deprecated, still routed by some networks)
];

/**
 * IPv6 forms that carry an IPv4 address in their last 32 bits and may reach it: IPv4-compatible (deprecated), NAT64,
 * and SIIT's IPv4-translated `::ffff:0:a.b.c.d` (RFC 2765), which a stateless translator turns into that IPv4 address.
 */
const EMBEDDING_V6 = ['::', '64:ff9b::', '::ffff:0:'];

function blockList(v4: Range[], v6: Range[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of v4) {
    list.addSubnet(address, prefix, 'ipv4'); // also matches the IPv4-mapped form ::ffff:a.b.c.d
    for (const head of EMBEDDING_V6) list.addSubnet(head + address, 96 + prefix, 'ipv6');
  }
  for (const [address, prefix] of v6) list.addSubnet(address, prefix, 'ipv6');
  return list;
}

const NEVER = blockList(LINK_LOCAL_V4, LINK_LOCAL_V6);
// ::/128 and ::1/128 are also the IPv4-compatible forms of 0.0.0.0 and 0.0.0.1, both inside 0.0.0.0/8: no conflict
const PRIVATE = blockList(PRIVATE_V4, PRIVATE_V6);

const NEVER_WHY = 'a link-local or cloud metadata address, never a webhook target';
const PRIVATE_WHY = 'a loopback, private or reserved address, refused with WEBHOOK_PRIVATE_TARGETS=0';

/** What kind of address `address` (an IP literal, no brackets) is when it may not be a target under `policy`, or null. */
function refusedKind(address: string, policy: TargetPolicy): string | null {
  const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (NEVER.check(address, type)) return NEVER_WHY;
  if (!policy.privateTargets && PRIVATE.check(address, type)) return PRIVATE_WHY;
  return null;
}

/** The host of a parsed URL as an IP literal without brackets, or null for a name. */
function literalHost(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) ? host : null;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type ResolvedTarget =
  | { ok: true; addresses: ResolvedAddress[] }
  | { ok: false; refused: boolean; error: string };

/**
 * Every address `url`'s host stands for, each allowed under `policy`; refused when any one is not (a name that also
 * resolves to an internal address could be steered there at connect time). A lookup failure is `refused: false`.
 */
export async function resolveTarget(url: URL, policy: TargetPolicy): Promise<ResolvedTarget> {
  const literal = literalHost(url);
  let addresses: ResolvedAddress[];
  if (literal) addresses = [{ address: literal, family: isIP(literal) as 4 | 6 }];
  else {
    try {
      addresses = (await lookup(url.hostname, { all: true })) as ResolvedAddress[];
    } catch (err) {
      return { ok: false, refused: false, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
    }
    if (addresses.length === 0) return { ok: false, refused: false, error: 'ENOTFOUND' };
  }
  for (const { address } of addresses) {
    const kind = refusedKind(address, policy);
    if (!kind) continue;
    const what = literal ? `${address} is ${kind}` : `${url.hostname} resolves to ${address}, ${kind}`;
    return { ok: false, refused: true, error: `refused target: ${what}` };
  }
  return { ok: true, addresses };
}

/**
 * Why a webhook URL may not be saved, or null: what resolveTarget refuses (a literal address as it is, a name by what
 * it resolves to now). A name that does not resolve (or not within `lookupTimeoutMs`) is accepted: the receiver may not
 * exist yet, and every delivery checks again.
 */
export async function refusedUrlReason(rawUrl: string, policy: TargetPolicy, lookupTimeoutMs = 2000): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return null; // the route's schema refuses what is no URL
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), lookupTimeoutMs);
  });
  try {
    const resolved = await Promise.race([resolveTarget(url, policy), late]);
    return resolved && !resolved.ok && resolved.refused ? `url: ${resolved.error.replace(/^refused target: /, '')}` : null;
  } finally {
    clearTimeout(timer);
  }
}
