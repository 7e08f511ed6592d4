import { setFlagsFromString } from 'node:v8';

/**
 * V8 options on the node command line that say how young-generation collections (scavenges)
 * run: an operator who passed one of these chose, and {@link scavengeOnMainThread} leaves it.
 */
const SCAVENGE_CHOICE = /^--(?:no-)?(?:parallel[-_]scavenge|single[-_]threaded(?:[-_]gc)?)$/;

/**
 * Makes V8 run its scavenges on the main thread alone (`--no-parallel-scavenge`), unless the
 * node command line (`execArgv`) already says how they run. True when it did.
 *
 * A manager allocates about 70 KiB per heartbeat and scavenges every 150 or so; by default V8
 * splits each scavenge among helper threads, which shortens the pause but costs more CPU in all
 * (about a sixth more for a scavenge-heavy loop, measured), and on a machine whose cores are
 * busy — a loaded manager's are — the helpers take a core from other work or wait for one.
 * What a manager node carries is its CPU per heartbeat, and a pause of some tens of
 * milliseconds is nothing to a heartbeat (docs/capacity.md "Scavenges on the main thread").
 * V8 reads this option at each scavenge, so it can be set while running — unlike
 * `--single-threaded-gc`, whose concurrent marking V8 refuses to change once started.
 */
export function scavengeOnMainThread(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => SCAVENGE_CHOICE.test(a))) return false;
  setFlagsFromString('--no-parallel-scavenge');
  return true;
}
