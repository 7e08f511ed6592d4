import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compareSemver } from '@palisade/core';
import { AGENT_PACKAGE_FILE, type AgentPackageArch, type AgentPackagePlatform } from '@palisade/protocol';

/** One agent package the manager can serve (`GET /api/agentpackages`). */
export interface AgentPackage {
  fileName: string;
  version: string;
  platform: AgentPackagePlatform;
  architecture: AgentPackageArch;
  /** Lowercase hex SHA-256 of the file: deployment scripts and upgrades check it before installing. */
  sha256: string;
  size: number;
  /** File modification time, epoch ms. */
  modified: number;
}

/**
 * The agent packages in one folder (`DATA_DIR/agent-packages`, where `npm run package:agent`
 * writes by default). The folder is the truth: a package dropped in is served at the next
 * request, one removed is gone. A file counts only if its name says what it is
 * (`palisade-agent-<version>-<platform>-<arch>.tar.gz`); hashes are computed once per file
 * version (name, size, modification time). The folder is node-local: with several manager
 * nodes, put the same packages in each node's folder.
 */
export class AgentPackages {
  private readonly hashes = new Map<string, { key: string; sha256: string }>();

  constructor(readonly dir: string) {}

  async list(): Promise<AgentPackage[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: AgentPackage[] = [];
    for (const fileName of names) {
      const m = AGENT_PACKAGE_FILE.exec(fileName);
      if (!m) continue;
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(join(this.dir, fileName));
      } catch {
        continue; // removed while listing
      }
      if (!st.isFile()) continue;
      const key = `${st.size}:${st.mtimeMs}`;
      let cached = this.hashes.get(fileName);
      if (cached?.key !== key) {
        cached = { key, sha256: await sha256File(join(this.dir, fileName)) };
        this.hashes.set(fileName, cached);
      }
      out.push({
        fileName,
        version: m[1]!,
        platform: m[2] as AgentPackagePlatform,
        architecture: m[3] as AgentPackageArch,
        sha256: cached.sha256,
        size: st.size,
        modified: Math.round(st.mtimeMs),
      });
    }
    // Newest version first within a platform and architecture.
    return out.sort(
      (a, b) =>
        a.platform.localeCompare(b.platform) ||
        a.architecture.localeCompare(b.architecture) ||
        compareSemver(b.version, a.version),
    );
  }

  /** The newest package for each architecture of `platform`. */
  async latest(platform: AgentPackagePlatform): Promise<AgentPackage[]> {
    const seen = new Set<string>();
    return (await this.list()).filter((p) => {
      if (p.platform !== platform || seen.has(p.architecture)) return false;
      seen.add(p.architecture);
      return true;
    });
  }

  async find(q: { platform?: string; architecture?: string; version?: string; fileName?: string }) {
    return (
      (await this.list()).find(
        (p) =>
          (q.platform === undefined || p.platform === q.platform) &&
          (q.architecture === undefined || p.architecture === q.architecture) &&
          (q.version === undefined || p.version === q.version) &&
          (q.fileName === undefined || p.fileName === q.fileName),
      ) ?? null
    );
  }

  path(p: AgentPackage): string {
    return join(this.dir, p.fileName);
  }
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}
