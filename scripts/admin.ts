// `npm run admin -- <command>`: site and key administration, JSON on stdout, one-line message on stderr and a non-zero
// exit on error (1: the command failed, 2: the command line is wrong). `npm run admin -- help` prints the usage.
import { parseArgs } from 'node:util';
import { parseConfig } from '../collector/config.js';
import { openConfiguredDb } from '../collector/storage/open-db.js';
import { AdminError, createKey, createSite, listKeysPublic, listSitesPublic, parseScopes, revokeKey, siteOf } from '../collector/admin.js';
import type { Db } from '../collector/storage/db.js';
import { replaySite } from '../collector/funnel/replay.js';

const USAGE = `usage: npm run admin -- <command>
  site create --domain <host> [--name <text>] [--origins <host,host>]
                             --origins: the site's other domains (its app, its shop): they may send
                             events too, and a visit from them is no referral
  site list
  key create --site <siteId> --scopes <events:write,leads:read,audiences:read,admin>
  key list --site <siteId>
  key revoke --key <keyId>
  replay --site <siteId>     rebuild stages, scores and segments from stored events`;

/** A command: the options it reads (any other is a wrong command line, not something to ignore) and what it does. */
interface Command {
  options: string[];
  run: (db: Db, opts: Record<string, string | undefined>) => Promise<unknown>;
}

const need = (opts: Record<string, string | undefined>, name: string) => {
  const v = opts[name];
  if (!v) throw new AdminError(`--${name} is required`);
  return v;
};

export const COMMANDS: Record<string, Command> = {
  'site create': {
    options: ['domain', 'name', 'origins'],
    run: async (db, o) => {
      const origins = o.origins?.split(',').map((h) => h.trim()).filter(Boolean);
      const s = await createSite(db, { domain: need(o, 'domain'), name: o.name, ...(origins?.length ? { extraOrigins: origins } : {}) });
      return { siteId: s.siteId, siteKey: s.siteKey, domain: s.domain, name: s.name, origins: s.settings.extraOrigins ?? [] };
    },
  },
  'site list': { options: [], run: (db) => listSitesPublic(db) },
  'key create': { options: ['site', 'scopes'], run: (db, o) => createKey(db, need(o, 'site'), parseScopes(need(o, 'scopes'))) },
  'key list': { options: ['site'], run: (db, o) => listKeysPublic(db, need(o, 'site')) },
  'key revoke': { options: ['key'], run: (db, o) => revokeKey(db, need(o, 'key')) },
  replay: {
    options: ['site'],
    run: async (db, o) => {
      const siteId = need(o, 'site');
      await siteOf(db, siteId);
      return replaySite(db, siteId);
    },
  },
};

const COMMAND_LIST = [...Object.keys(COMMANDS), 'help'].join(', ');
/** Every option some command reads, as parseArgs takes them (each command then refuses the ones it does not read). */
const ALL_OPTIONS = Object.fromEntries(Object.values(COMMANDS).flatMap((c) => c.options).map((o) => [o, { type: 'string' as const }]));

export async function runAdmin(argv: string[], env = process.env): Promise<{ code: number; out: string }> {
  // the usual ways of asking a command line for help, anywhere on it (`npm run admin -- --help`, `site create -h`)
  if (argv.some((a) => a === '--help' || a === '-h')) return { code: 0, out: USAGE };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: ALL_OPTIONS,
      tokens: true,
    });
  } catch (err) {
    // node's message for an unknown option runs on with advice about '--'; its first sentence is the problem
    const message = (err as Error).message.replace(/\s+/g, ' ').replace(/^(Unknown option '[^']*')\..*$/, '$1');
    return { code: 2, out: `funnelbeam admin: ${message} (npm run admin -- help)` };
  }
  const name = parsed.positionals.slice(0, 2).join(' ');
  if (name === 'help' || name === '') return { code: name ? 0 : 2, out: name ? USAGE : 'funnelbeam admin: no command given; try: ' + COMMAND_LIST };
  const commandName = COMMANDS[name] ? name : parsed.positionals[0] ?? '';
  const command = COMMANDS[commandName];
  if (!command) return { code: 2, out: `funnelbeam admin: unknown command "${name}"; try: ${COMMAND_LIST}` };
  // a word past the command was dropped in silence: `--scopes leads:read, audiences:read` (a space after the comma)
  // made a key without audiences:read, `--name Acme Inc` a site named "Acme"
  const extra = parsed.positionals.slice(commandName.split(' ').length);
  if (extra.length) {
    return { code: 2, out: `funnelbeam admin: unexpected argument "${extra[0]}" after "${commandName}"; quote a value with spaces, and write a list without spaces (a,b) (npm run admin -- help)` };
  }
  const allowed = command.options;
  const stray = Object.keys(parsed.values).find((o) => !allowed.includes(o));
  if (stray) {
    const takes = allowed.length ? `it takes ${allowed.map((o) => '--' + o).join(', ')}` : 'it takes no options';
    return { code: 2, out: `funnelbeam admin: "${commandName}" has no option --${stray}; ${takes} (npm run admin -- help)` };
  }
  // an option given twice kept only its last value: `--domain a.com --domain b.com` made a site for b.com alone
  const given = (parsed.tokens ?? []).flatMap((t) => (t.kind === 'option' ? [t.name] : []));
  const twice = given.find((n, i) => given.indexOf(n) !== i);
  if (twice) return { code: 2, out: `funnelbeam admin: --${twice} is given twice; give it once (npm run admin -- help)` };
  const config = parseConfig(env);
  let db: Db;
  try {
    db = await openConfiguredDb(config);
  } catch (err) {
    return { code: 1, out: `funnelbeam admin: ${String((err as Error).message).replace(/\s+/g, ' ')}` };
  }
  try {
    return { code: 0, out: JSON.stringify(await command.run(db, parsed.values as Record<string, string | undefined>), null, 2) };
  } catch (err) {
    if (err instanceof AdminError) return { code: 1, out: `funnelbeam admin: ${err.message}` };
    throw err;
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runAdmin(process.argv.slice(2)).then(
    ({ code, out }) => {
      (code === 0 ? process.stdout : process.stderr).write(out + '\n');
      process.exit(code);
    },
    (err) => {
      process.stderr.write(`funnelbeam admin: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
