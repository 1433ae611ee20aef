import type { IPlacement, IRemoteKernel, KernelPhase } from '../model';
import { isPoolKernel, SETTLED_PHASES, userKernels } from '../model';

function kernel(
  id: string,
  phase: KernelPhase,
  pool: IRemoteKernel['pool'] = undefined
): IRemoteKernel {
  const placement = {
    provisioner: 'jrk-local-provisioner',
    kind: 'local',
    host: 'here',
    phase,
    phase_since: '2026-12-01T10:00:00Z',
    detail: ''
  } as IPlacement;
  return {
    kernel_id: id,
    kernel_name: 'python',
    display_name: 'Python',
    placement,
    ...(pool === undefined ? {} : { pool })
  };
}

describe('pool kernels', () => {
  it('are the pooled ones and the ones naming a pool', () => {
    expect(isPoolKernel(kernel('a', 'pooled'))).toBe(true);
    // A pool kernel still launching: known by its pool field.
    expect(
      isPoolKernel(
        kernel('b', 'waiting-for-launcher', {
          kernel_name: 'python',
          user: null
        })
      )
    ).toBe(true);
  });

  it('are not the users’ kernels, launching or ready', () => {
    for (const phase of ['starting', 'ready', 'failed'] as KernelPhase[]) {
      expect(isPoolKernel(kernel('c', phase))).toBe(false);
      expect(isPoolKernel(kernel('c', phase, null))).toBe(false);
    }
    expect(isPoolKernel({ ...kernel('d', 'ready'), placement: null })).toBe(
      false
    );
  });

  it('are left out of the users’ kernels, in order', () => {
    const models = [
      kernel('u1', 'ready'),
      kernel('p1', 'pooled', { kernel_name: 'python', user: null }),
      kernel('u2', 'starting'),
      kernel('p2', 'starting', { kernel_name: 'python', user: 'alice' })
    ];
    expect(userKernels(models).map(m => m.kernel_id)).toEqual(['u1', 'u2']);
  });

  it('wait in a settled phase', () => {
    expect(SETTLED_PHASES.has('pooled')).toBe(true);
  });
});
