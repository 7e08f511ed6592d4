import { PalisadeError } from '../errors.js';
import { ConsoleAuthService } from '../services/console-auth-service.js';
import { type Out, parseOptions, UsageError } from './arguments.js';
import { openCommandStore, STORE_OPTIONS, type StoreOptionValues } from './command-store.js';
import { readSecret } from './read-secret.js';

/** The CLI acts on the host, as whoever can read the store: audited as `cli`. */
const ACTOR = 'cli';

/**
 * `palisade-manager user create|password|disable|enable|list`: console users (docs/console.md).
 * Passwords come from the terminal or standard input, never from argv.
 */
export async function userCommand(
  sub: string,
  args: string[],
  out: Out,
  secret: (prompt: string, confirm: boolean) => Promise<string> = readSecret,
): Promise<number> {
  if (!['create', 'password', 'disable', 'enable', 'list'].includes(sub))
    throw new UsageError(`unknown command "user ${sub}" (see --help)`);
  const v = parseOptions(`user ${sub}`, args, {
    ...STORE_OPTIONS,
    name: { type: 'string' },
    ...(sub === 'create' ? { role: { type: 'string' } } : {}),
  });
  const name = v.name as string | undefined;
  if (sub !== 'list' && !name) throw new UsageError(`user ${sub}: --name NAME is required`);
  const role = (v as { role?: string }).role ?? 'full-access';
  if (role !== 'full-access' && role !== 'read-only')
    throw new UsageError(`user create: --role "${role}" must be full-access or read-only`);
  // Asked before the store opens, so a slow typist holds no lock.
  const password =
    sub === 'create' || sub === 'password'
      ? await secret(`Password for console user "${name}" (at least 12 characters): `, true)
      : '';
  const { store } = await openCommandStore(v as StoreOptionValues, out.stderr);
  try {
    const auth = new ConsoleAuthService(store);
    if (sub === 'list') {
      for (const u of await auth.listUsers()) {
        const state =
          u.disabledAt !== null
            ? 'disabled'
            : u.lockedUntil !== null && u.lockedUntil > Date.now()
              ? 'locked'
              : 'enabled';
        const last =
          u.lastSignInAt === null ? 'never signed in' : `last sign-in ${new Date(u.lastSignInAt).toISOString()}`;
        out.stdout(`${u.name}\t${u.role}\t${state}\t${last}\n`);
      }
      return 0;
    }
    const n = name as string;
    if (sub === 'create') {
      const u = await auth.createUser(n, role, password, ACTOR);
      out.stderr(`palisade-manager: console user "${u.name}" (${u.role}) created; sign in at the console URL\n`);
    } else if (sub === 'password') {
      await auth.setPassword(n, password, ACTOR);
      out.stderr(`palisade-manager: password of "${n}" changed; its sessions were ended\n`);
    } else {
      await auth.setDisabled(n, sub === 'disable', ACTOR);
      out.stderr(
        `palisade-manager: console user "${n}" ${sub === 'disable' ? 'disabled; its sessions were ended' : 'enabled'}\n`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof PalisadeError) {
      out.stderr(`palisade-manager: user ${sub}: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await store.close();
  }
}
