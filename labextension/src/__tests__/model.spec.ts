import type { IPlacement, IRemoteKernel, KernelPhase } from '../model';
import { onHost } from './fixtures';
import {
  isPoolKernel,
  SETTLED_PHASES,
  statusKernel,
  userKernels
} from '../model';

function kernel(
  id: string,
  phase: KernelPhase,
  pool: IRemoteKernel['pool'] = undefined
): IRemoteKernel {
  const placement: IPlacement = { ...onHost, phase };
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

describe('statusKernel', () => {
  const refill = (id: string, phase: KernelPhase) =>
    kernel(id, phase, { kernel_name: 'python', user: 'root' });

  it('is the session’s kernel by id', () => {
    const models = [kernel('u1', 'ready'), kernel('u2', 'ready')];
    expect(statusKernel(models, 'u2', undefined)?.kernel_id).toBe('u2');
    expect(statusKernel(models, 'gone', 'python')).toBeNull();
  });

  it('is the newest launching user kernel of the kernelspec', () => {
    const models = [
      kernel('u1', 'waiting-for-launcher'),
      kernel('done', 'ready'),
      kernel('u2', 'starting')
    ];
    expect(statusKernel(models, undefined, 'python')?.kernel_id).toBe('u2');
    expect(statusKernel(models, undefined, 'other')).toBeNull();
    expect(statusKernel(models, undefined, undefined)).toBeNull();
  });

  it('never takes a refilling pool’s kernel for the notebook’s launch', () => {
    const models = [
      kernel('mine', 'waiting-for-launcher'),
      refill('p1', 'starting'),
      refill('p2', 'waiting-for-launcher')
    ];
    expect(statusKernel(models, undefined, 'python')?.kernel_id).toBe('mine');
    expect(
      statusKernel([refill('p1', 'starting')], undefined, 'python')
    ).toBeNull();
  });
});
