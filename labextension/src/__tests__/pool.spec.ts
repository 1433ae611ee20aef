import type { IPool, IRemoteKernel, PoolStatus } from '../model';
import { poolParts, poolRows, poolStatusLabel } from '../pool';
import { english, marked } from './bundles';
import { held, kernelWith, onHost } from './fixtures';

function pool(fields: Partial<IPool> = {}): IPool {
  return {
    kernel_name: 'remote-acme',
    display_name: 'Python (Acme)',
    user: null,
    target: 2,
    ready: 2,
    launching: 0,
    status: 'full',
    detail: '',
    ...fields
  };
}

function pooled(host: string): IRemoteKernel {
  return {
    ...kernelWith({ ...onHost, host, where: host, phase: 'pooled' }),
    kernel_id: `pool-${host}`,
    pool: { kernel_name: 'remote-acme', user: null }
  };
}

describe('poolParts', () => {
  it('shows a full pool as ready / target', () => {
    const parts = poolParts(
      pool(),
      [pooled('node-1'), pooled('node-2')],
      english
    );
    expect(parts).toEqual({
      label: 'Warm pool',
      name: 'Python (Acme)',
      detail: '2 / 2 ready',
      title: [
        'Warm pool: Python (Acme) (remote-acme)',
        'Ready: 2 of 2',
        'Launching: 0',
        'Status: full',
        'Kernels: node-1, node-2'
      ].join('\n')
    });
  });

  it('shows the kernels a filling pool launches', () => {
    const parts = poolParts(
      pool({ ready: 0, launching: 2, status: 'filling' }),
      [],
      english
    );
    expect(parts.detail).toBe('0 / 2 ready · 2 launching');
    expect(parts.title).toContain('Status: filling');
    expect(parts.title).not.toContain('Kernels');
    expect(
      poolParts(pool({ ready: 1, status: 'filling' }), [], english).detail
    ).toBe('1 / 2 ready');
  });

  it('shows what the launches of a filling pool wait for', () => {
    const waiting = pool({
      kernel_name: 'remote-batch',
      ready: 0,
      launching: 1,
      status: 'filling',
      detail: 'a pool kernel is pending (Resources)'
    });
    const parts = poolParts(waiting, [], english);
    expect(parts.detail).toBe(
      '0 / 2 ready · 1 launching · a pool kernel is pending (Resources)'
    );
    expect(parts.title).toContain(
      'Detail: a pool kernel is pending (Resources)'
    );
  });

  it('shows why a pool cannot be filled', () => {
    const failing = pool({
      kernel_name: 'spark_like',
      display_name: 'Spark (batch)',
      ready: 0,
      launching: 1,
      status: 'failing',
      detail: "queue 'default' is full (3 of 3 applications)"
    });
    const parts = poolParts(failing, [], english);
    expect(parts.detail).toBe(
      "0 / 2 ready · cannot fill: queue 'default' is full (3 of 3 applications)"
    );
    expect(parts.title.split('\n')).toEqual([
      'Warm pool: Spark (batch) (spark_like)',
      'Ready: 0 of 2',
      'Launching: 1',
      'Status: failing',
      "Detail: queue 'default' is full (3 of 3 applications)"
    ]);
    expect(poolParts({ ...failing, detail: '' }, [], english).detail).toBe(
      '0 / 2 ready · failing'
    );
  });

  it('names the user its kernels run as when asked to', () => {
    const alice = pool({ user: 'alice' });
    expect(poolParts(alice, [], english).name).toBe('Python (Acme)');
    expect(poolParts(alice, [], english).title).toContain('User: alice');
    expect(poolParts(alice, [], english, true).name).toBe(
      'Python (Acme) · alice'
    );
    expect(poolParts(pool({ user: null }), [], english, true).name).toBe(
      'Python (Acme)'
    );
  });

  it('shows where its kernels are, in the backends’ words', () => {
    const a = { ...kernelWith(held), pool: pooled('x').pool };
    const b = { ...kernelWith(onHost), pool: pooled('x').pool };
    expect(poolParts(pool(), [a, b], english).title).toContain(
      'Kernels: batch · job 77, acme · node-3'
    );
  });
});

describe('poolRows', () => {
  const forUser = (host: string, user: string | null): IRemoteKernel => ({
    ...pooled(host),
    pool: { kernel_name: 'remote-acme', user }
  });

  it('gives each pool its own kernels, users’ kernels left out', () => {
    const rows = poolRows(
      [pool({ user: 'root' }), pool({ kernel_name: 'other', user: 'root' })],
      [
        forUser('node-1', 'root'),
        kernelWith({ ...onHost, where: 'node-9' }), // a user's kernel
        forUser('node-2', 'root'),
        {
          ...forUser('node-3', 'root'),
          pool: { kernel_name: 'x', user: 'root' }
        }
      ],
      english
    );
    expect(rows).toHaveLength(2);
    expect(rows[0].title).toContain('Kernels: node-1, node-2');
    expect(rows[1].title).not.toContain('Kernels');
    // One pool of each kernelspec: no user in the names.
    expect(rows.map(r => r.name)).toEqual(['Python (Acme)', 'Python (Acme)']);
  });

  it('names the users where a kernelspec has pools for several', () => {
    const rows = poolRows(
      [pool({ user: 'root' }), pool({ user: 'alice' })],
      [forUser('node-1', 'alice')],
      english
    );
    expect(rows.map(r => r.name)).toEqual([
      'Python (Acme) · root',
      'Python (Acme) · alice'
    ]);
    expect(rows[0].title).not.toContain('Kernels');
    expect(rows[1].title).toContain('Kernels: node-1');
  });

  it('gives no lines without pools', () => {
    expect(poolRows([], [pooled('node-1')], english)).toEqual([]);
  });
});

describe('translation', () => {
  it('translates every pool status', () => {
    for (const status of ['full', 'filling', 'failing'] as PoolStatus[]) {
      expect(poolStatusLabel(status, marked)).toBe(`⟦${status}⟧`);
    }
  });

  it('shows a pool status of a newer server as it is', () => {
    expect(poolStatusLabel('draining' as PoolStatus, marked)).toBe('draining');
  });

  it('sends every word of the texts through the translator', () => {
    const texts = [
      ...Object.values(
        poolParts(
          pool({ user: 'alice', launching: 1, status: 'filling' }),
          [pooled('node-3')],
          marked,
          true
        )
      ),
      ...Object.values(
        poolParts(
          pool({ ready: 0, status: 'failing', detail: 'no host' }),
          [],
          marked
        )
      ),
      poolParts(pool({ status: 'failing' }), [], marked).detail,
      poolParts(
        pool({ launching: 1, status: 'filling', detail: 'no host' }),
        [],
        marked
      ).detail
    ];
    const data = [
      'Python (Acme)',
      'remote-acme',
      'alice',
      'node-3',
      'no host',
      '0',
      '1',
      '2'
    ];
    for (const text of texts) {
      let rest = text.replace(/⟦[^⟧]*⟧/g, '');
      for (const value of [...data].sort((a, b) => b.length - a.length)) {
        rest = rest.split(value).join('');
      }
      expect({ text, rest: rest.replace(/\s/g, '') }).toEqual({
        text,
        rest: ''
      });
    }
  });
});
