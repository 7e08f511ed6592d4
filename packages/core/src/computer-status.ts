/** Display statuses (docs/architecture.md "Computer status and alerts"). */
export const COMPUTER_STATUSES = [
  'Managed (Online)',
  'Update Pending (Heartbeat)',
  'Updating',
  'Offline',
  'VM Stopped',
  'Activation Required',
  'Deactivated',
] as const;
export type ComputerStatus = (typeof COMPUTER_STATUSES)[number];

export interface ComputerStatusInputs {
  readonly activated: boolean;
  readonly deactivated: boolean;
  /** Epoch ms of the stored offline deadline (set at activation, moved by every heartbeat); null: none. */
  readonly offlineDeadline: number | null;
  readonly now: number;
  readonly vmStopped: boolean;
  /** Fingerprint the manager expects vs the one the agent last reported. */
  readonly expectedFingerprint: string | null;
  readonly appliedFingerprint: string | null;
  /** An applyConfiguration operation has been handed to the agent and has no result yet. */
  readonly updateInFlight: boolean;
}

/**
 * One status per computer, the most pressing first: deactivated, never activated, stopped VM,
 * offline (deadline passed), updating, update pending, else online.
 */
export function deriveComputerStatus(s: ComputerStatusInputs): ComputerStatus {
  if (s.deactivated) return 'Deactivated';
  if (!s.activated) return 'Activation Required';
  if (s.vmStopped) return 'VM Stopped';
  if (s.offlineDeadline !== null && s.now >= s.offlineDeadline) return 'Offline';
  if (s.updateInFlight) return 'Updating';
  if (s.expectedFingerprint !== null && s.expectedFingerprint !== s.appliedFingerprint) {
    return 'Update Pending (Heartbeat)';
  }
  return 'Managed (Online)';
}
