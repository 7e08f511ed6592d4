import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { get, post } from '../api';
import { CopyButton, ErrorBox, Field, Notice } from '../components/ui';
import { dateTime } from '../format';
import { usePolicies } from '../queries';
import { useSession } from '../session';

interface AgentPackage {
  fileName: string;
  version: string;
  platform: 'linux' | 'macos';
  architecture: string;
  sha256: string;
  size: number;
  modified: number;
}

/** Deep Security's AgentDeploymentScript as the manager answers it. */
interface DeploymentScript {
  platform: 'linux' | 'macos';
  policyID: number | null;
  activationRequired: boolean;
  validateCertificateRequired: boolean;
  activationTokenID: number | null;
  scriptBody: string;
}

/**
 * Administration > Deployment Scripts: Deep Security's form (platform, policy, activation,
 * certificate validation) posted to `/api/agentdeploymentscripts`, the script to copy or download,
 * and the agent packages the scripts install.
 */
export function DeploymentScripts() {
  const session = useSession();
  const policies = usePolicies();
  const packages = useQuery({
    queryKey: ['agentpackages'],
    queryFn: async () => (await get<{ agentPackages: AgentPackage[] }>('/api/agentpackages')).agentPackages,
    staleTime: 0,
  });
  const [platform, setPlatform] = useState<'linux' | 'macos'>('linux');
  const [policyID, setPolicyID] = useState('');
  const [activate, setActivate] = useState(true);
  const [validate, setValidate] = useState(true);
  const make = useMutation({
    mutationFn: () =>
      post<DeploymentScript>('/api/agentdeploymentscripts', {
        platform,
        activationRequired: activate,
        validateCertificateRequired: validate,
        ...(activate && policyID ? { policyID: Number(policyID) } : {}),
      }),
  });
  const scriptId = useId();
  const held = packages.data ?? [];
  const script = make.data?.scriptBody ?? null;
  return (
    <>
      <section className="card" aria-labelledby="packages-h">
        <h2 id="packages-h">Agent packages</h2>
        <p className="card-sub">
          What the scripts install: the files in the manager's <code>DATA_DIR/agent-packages</code>, served on this port
          without an API key and checked by their SHA-256.
        </p>
        <ErrorBox error={packages.error} />
        {packages.data && held.length === 0 ? (
          <Notice tone="warn">
            This manager holds no agent packages, so it cannot write a script yet. On the manager host, build one with{' '}
            <code>npm run package:agent</code> (it writes to <code>data/agent-packages</code>), or copy a{' '}
            <code>palisade-agent-VERSION-linux-ARCH.tar.gz</code> into <code>DATA_DIR/agent-packages</code>; it is
            listed here at once.
          </Notice>
        ) : (
          <div className="table-wrap">
            <table className="data-table" aria-label="Agent packages">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Platform</th>
                  <th>Architecture</th>
                  <th>Size</th>
                  <th>SHA-256</th>
                  <th>Modified</th>
                </tr>
              </thead>
              <tbody>
                {held.map((p) => (
                  <tr key={p.fileName}>
                    <td>{p.version}</td>
                    <td>{p.platform === 'macos' ? 'macOS' : 'Linux'}</td>
                    <td>{p.architecture}</td>
                    <td>{(p.size / 1_048_576).toFixed(1)} MiB</td>
                    <td>
                      <code>{p.sha256.slice(0, 16)}…</code>
                    </td>
                    <td>{dateTime(p.modified)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="scripts-h">
        <h2 id="scripts-h">Deployment Scripts</h2>
        <p className="card-sub">
          A bash script that installs the agent on a host and, when asked, activates it with an activation token made
          for the script (100 uses, 7 days; listed under Activation Tokens). Run it as root.
        </p>
        {session.canWrite ? (
          <form
            aria-labelledby="scripts-h"
            onSubmit={(e) => {
              e.preventDefault();
              make.mutate();
            }}
          >
            <div className="field-row">
              <Field label="Platform" help={platform === 'macos' ? 'No macOS package is built yet.' : undefined}>
                {(id, d) => (
                  <select
                    id={id}
                    className="select"
                    aria-describedby={d}
                    value={platform}
                    onChange={(e) => setPlatform(e.target.value as 'linux' | 'macos')}
                  >
                    <option value="linux">Linux</option>
                    <option value="macos">macOS</option>
                  </select>
                )}
              </Field>
              <Field label="Security policy" help="Computers the script activates get this policy.">
                {(id, d) => (
                  <select
                    id={id}
                    className="select"
                    aria-describedby={d}
                    value={policyID}
                    disabled={!activate}
                    onChange={(e) => setPolicyID(e.target.value)}
                  >
                    <option value="">Base Policy (default)</option>
                    {(policies.data ?? [])
                      .filter((p) => p.parentID !== null)
                      .map((p) => (
                        <option key={p.ID} value={String(p.ID)}>
                          {p.name}
                        </option>
                      ))}
                  </select>
                )}
              </Field>
            </div>
            <div className="checks">
              <label>
                <input type="checkbox" checked={activate} onChange={(e) => setActivate(e.target.checked)} /> Activate
                agent automatically after installation
              </label>
              <label>
                <input type="checkbox" checked={validate} onChange={(e) => setValidate(e.target.checked)} /> Validate
                Workload Security Manager TLS certificate
              </label>
              <p className="help">
                Palisade scripts always check the manager against the CA they carry; the choice is kept for Deep
                Security's form.
              </p>
            </div>
            <ErrorBox error={make.error} />
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={make.isPending}>
                Generate script
              </button>
            </div>
          </form>
        ) : (
          <p className="empty">Writing a script makes an activation token: full access only.</p>
        )}
        {script !== null ? (
          <div className="field script">
            <label htmlFor={scriptId}>Script</label>
            <textarea id={scriptId} className="input input-mono" readOnly rows={18} value={script} />
            <div className="toolbar">
              <CopyButton text={script} />
              <button type="button" className="btn btn-small" onClick={() => download(script, platform)}>
                Download
              </button>
            </div>
          </div>
        ) : null}
      </section>
    </>
  );
}

/** Saves the script as a file (an object URL on an `<a download>`, WHATWG HTML "downloading resources"). */
function download(body: string, platform: string) {
  const url = URL.createObjectURL(new Blob([body], { type: 'text/x-shellscript' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `palisade-deploy-${platform}.sh`;
  a.click();
  // Revoked once the browser has had time to start the download it was made for.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
