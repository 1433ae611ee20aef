/**
 * Placements as the server sends them, of made-up backends: the extension
 * must show them without knowing any. `placement.spec.ts` checks each against
 * the server's JSON Schema (`placement.schema.json`).
 */
import type { IPlacement, IRemoteKernel } from '../model';

export const SINCE = '2026-12-01T10:00:00.000Z';
export const T0 = Date.parse(SINCE);

/**
 * A kernel on a host, ready; no details.
 */
export const onHost: IPlacement = {
  provisioner: 'acme-host-provisioner',
  kind: 'acme',
  host: 'node-3',
  ip: '10.0.0.3',
  pid: 4242,
  state: null,
  phase: 'ready',
  phase_since: SINCE,
  detail: '',
  error: null,
  where: 'acme · node-3',
  details: {}
};

/**
 * A cluster job a scheduler holds, with details of every kind: text, a
 * number, one not known yet, a link.
 */
export const held: IPlacement = {
  provisioner: 'batch-provisioner',
  kind: 'batch',
  host: null,
  ip: null,
  pid: null,
  state: 'WAITING',
  phase: 'pending',
  phase_since: SINCE,
  detail: 'Resources',
  error: null,
  where: 'batch · job 77',
  details: {
    job: '77',
    lane: 'debug',
    slots: 2,
    node_name: null,
    console_url: 'https://batch.example/jobs/77'
  }
};

/**
 * The same job once it runs.
 */
export const running: IPlacement = {
  ...held,
  host: 'n2',
  ip: '10.0.0.12',
  state: 'RUNNING',
  phase: 'ready',
  detail: '',
  where: 'batch · job 77 on n2 (1:52 left)',
  details: { ...held.details, node_name: 'n2' }
};

/**
 * A launch that failed.
 */
export const failed: IPlacement = {
  ...held,
  state: 'GONE',
  phase: 'failed',
  detail: '',
  error: 'the scheduler dropped the job'
};

/**
 * Every fixture, by name.
 */
export const PLACEMENTS: { [name: string]: IPlacement } = {
  onHost,
  held,
  running,
  failed
};

/**
 * A user's kernel with `placement` (null: none yet).
 */
export function kernelWith(
  placement: IPlacement | null,
  fields: Partial<IRemoteKernel> = {}
): IRemoteKernel {
  return {
    kernel_id: 'k-1',
    kernel_name: 'acme_spec',
    display_name: 'Python (Acme)',
    placement,
    ...fields
  };
}
