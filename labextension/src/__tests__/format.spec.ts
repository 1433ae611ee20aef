import {
  duration,
  kindLabel,
  phaseLabel,
  phaseText,
  phaseWithReason,
  poolParts,
  poolRows,
  poolStatusLabel,
  rowParts,
  secondsSince,
  sectionTexts,
  shortAppId,
  shortTimeLeft,
  statusLabel,
  tooltip,
  where
} from '../format';
import type {
  IPlacement,
  IPool,
  IRemoteKernel,
  KernelPhase,
  PoolStatus
} from '../model';
import { english, marked } from './bundles';

const SINCE = '2026-12-01T10:00:00.000Z';
const T0 = Date.parse(SINCE);

function placement(fields: Partial<IPlacement> = {}): IPlacement {
  return {
    provisioner: 'jrk-ssh-provisioner',
    kind: 'ssh',
    host: 'node-3',
    ip: '10.0.0.3',
    pid: 4242,
    app_id: null,
    queue: null,
    tracking_url: null,
    job_id: null,
    partition: null,
    time_left: null,
    state: null,
    phase: 'ready',
    phase_since: SINCE,
    detail: '',
    error: null,
    ...fields
  };
}

function kernel(fields: Partial<IPlacement> | null = {}): IRemoteKernel {
  return {
    kernel_id: 'k-1',
    kernel_name: 'python',
    display_name: 'Python (SSH)',
    placement: fields === null ? null : placement(fields)
  };
}

const yarnQueued = {
  provisioner: 'jrk-yarn-provisioner',
  kind: 'yarn' as const,
  host: null,
  ip: null,
  pid: null,
  app_id: 'application_1700000000000_0042',
  queue: 'default',
  tracking_url: 'http://rm:8088/proxy/application_1700000000000_0042/',
  state: 'ACCEPTED',
  phase: 'queued' as const
};

const slurmRunning = {
  provisioner: 'jrk-slurm-provisioner',
  kind: 'slurm' as const,
  host: 'jrk-host2',
  ip: null,
  pid: null,
  job_id: '4242',
  partition: 'debug',
  time_left: '1:52:00',
  state: 'RUNNING',
  phase: 'ready' as const
};

const slurmPending = {
  ...slurmRunning,
  host: null,
  time_left: 'UNLIMITED',
  state: 'PENDING',
  phase: 'pending' as const,
  detail: 'Resources'
};

/**
 * Texts made with the marking bundle: the parts outside ⟦…⟧ may only be data
 * (names, hosts, ids, numbers), never words of the extension.
 */
function unmarked(text: string): string {
  return text.replace(/⟦[^⟧]*⟧/g, '');
}

describe('shortAppId', () => {
  it('shortens a YARN application id to its sequence number', () => {
    expect(shortAppId('application_1700000000000_0042')).toBe(
      'application_…_0042'
    );
  });

  it('leaves anything else as it is', () => {
    expect(shortAppId('app-42')).toBe('app-42');
    expect(shortAppId('application_x_0042')).toBe('application_x_0042');
  });
});

describe('where', () => {
  it('is the host, else the address, else the provisioner', () => {
    expect(where(placement(), english)).toBe('node-3');
    expect(where(placement({ host: null }), english)).toBe('10.0.0.3');
    expect(where(placement({ host: null, ip: null }), english)).toBe(
      'jrk-ssh-provisioner'
    );
  });

  it('is the short application id, else the queue, for YARN', () => {
    expect(where(placement(yarnQueued), english)).toBe('application_…_0042');
    expect(where(placement({ ...yarnQueued, app_id: null }), english)).toBe(
      'queue default'
    );
    expect(
      where(placement({ ...yarnQueued, app_id: null, queue: null }), english)
    ).toBe('YARN');
  });

  it('is the Slurm job and its node, else the job, else the partition', () => {
    expect(where(placement(slurmRunning), english)).toBe(
      'job 4242 on jrk-host2'
    );
    expect(where(placement(slurmPending), english)).toBe('job 4242');
    expect(
      where(
        placement({ ...slurmPending, job_id: null, phase: 'submitting' }),
        english
      )
    ).toBe('partition debug');
    expect(
      where(
        placement({
          ...slurmPending,
          job_id: null,
          partition: null,
          phase: 'submitting'
        }),
        english
      )
    ).toBe('Slurm');
  });
});

describe('shortTimeLeft', () => {
  it('shows hours and minutes, days as Slurm writes them', () => {
    expect(shortTimeLeft('1:52:00', english)).toBe('1:52');
    expect(shortTimeLeft('1:52:59', english)).toBe('1:52');
    expect(shortTimeLeft('12:05:00', english)).toBe('12:05');
    expect(shortTimeLeft('2-03:00:00', english)).toBe('2-03:00');
    expect(shortTimeLeft('1-00:00:30', english)).toBe('1-00:00');
  });

  it('shows minutes, then seconds, under an hour', () => {
    expect(shortTimeLeft('59:30', english)).toBe('59 min');
    expect(shortTimeLeft('0:00:30', english)).toBe('30 s');
    expect(shortTimeLeft('0:05', english)).toBe('5 s');
  });

  it('is null without a limit or with a text it cannot read', () => {
    for (const text of ['UNLIMITED', 'INVALID', 'NOT_SET', '', 'soon']) {
      expect(shortTimeLeft(text, english)).toBeNull();
    }
    expect(shortTimeLeft(null, english)).toBeNull();
    expect(shortTimeLeft(undefined, english)).toBeNull();
  });
});

describe('phaseWithReason', () => {
  it("adds Slurm's reason to the pending phase", () => {
    expect(phaseWithReason(placement(slurmPending), english)).toBe(
      'pending (Resources)'
    );
    expect(
      phaseWithReason(
        placement({ ...slurmPending, detail: 'QOSMaxJobsPerUser' }),
        english
      )
    ).toBe('pending (QOSMaxJobsPerUser)');
    expect(
      phaseWithReason(placement({ ...slurmPending, detail: '' }), english)
    ).toBe('pending');
  });

  it('leaves the detail of other phases out', () => {
    expect(
      phaseWithReason(
        placement({ phase: 'waiting-for-launcher', detail: 'agent' }),
        english
      )
    ).toBe('waiting-for-launcher');
  });
});

describe('statusLabel', () => {
  it('is "<kernel name> · <where>" once ready', () => {
    const model = kernel();
    expect(statusLabel(model, model.placement!, english)).toBe(
      'python · node-3'
    );
  });

  it('adds the phase while not ready', () => {
    const model = kernel({ phase: 'waiting-for-launcher' });
    expect(statusLabel(model, model.placement!, english)).toBe(
      'python · node-3 (waiting-for-launcher)'
    );
    const yarn = kernel(yarnQueued);
    expect(statusLabel(yarn, yarn.placement!, english)).toBe(
      'python · application_…_0042 (queued)'
    );
  });

  it("shows a ready Slurm kernel's job, node and time left", () => {
    const label = (fields: Partial<IPlacement>) => {
      const model = { ...kernel(fields), kernel_name: 'slurm' };
      return statusLabel(model, model.placement!, english);
    };
    expect(label(slurmRunning)).toBe(
      'slurm · job 4242 on jrk-host2 (1:52 left)'
    );
    expect(label({ ...slurmRunning, time_left: '59:30' })).toBe(
      'slurm · job 4242 on jrk-host2 (59 min left)'
    );
    for (const time_left of ['UNLIMITED', 'INVALID', null]) {
      expect(label({ ...slurmRunning, time_left })).toBe(
        'slurm · job 4242 on jrk-host2'
      );
    }
  });

  it("shows a pending Slurm kernel's job and Slurm's reason", () => {
    const label = (fields: Partial<IPlacement>) => {
      const model = { ...kernel(fields), kernel_name: 'slurm' };
      return statusLabel(model, model.placement!, english);
    };
    expect(label(slurmPending)).toBe('slurm · job 4242 pending (Resources)');
    expect(label({ ...slurmPending, detail: 'Priority' })).toBe(
      'slurm · job 4242 pending (Priority)'
    );
    expect(
      label({ ...slurmPending, detail: 'waiting for the scheduler' })
    ).toBe('slurm · job 4242 pending (waiting for the scheduler)');
    // Other phases as for every kernel; no time left before ready.
    expect(label({ ...slurmRunning, phase: 'waiting-for-launcher' })).toBe(
      'slurm · job 4242 on jrk-host2 (waiting-for-launcher)'
    );
    expect(
      label({ ...slurmPending, job_id: null, phase: 'submitting', detail: '' })
    ).toBe('slurm · partition debug (submitting)');
  });
});

describe('tooltip', () => {
  it('lists the fields that have a value, one a line', () => {
    const model = kernel({ detail: 'agent pid 17' });
    expect(tooltip(model, model.placement!, english)).toBe(
      [
        'Kernel: Python (SSH) (k-1)',
        'Provisioner: jrk-ssh-provisioner (ssh)',
        `Phase: ready since ${SINCE}`,
        'Host: node-3',
        'IP: 10.0.0.3',
        'PID: 4242',
        'Detail: agent pid 17'
      ].join('\n')
    );
  });

  it('shows the YARN fields and the error', () => {
    const model = kernel({
      ...yarnQueued,
      phase: 'failed',
      state: 'FAILED',
      error: 'queue full'
    });
    const lines = tooltip(model, model.placement!, english).split('\n');
    expect(lines).toEqual([
      'Kernel: Python (SSH) (k-1)',
      'Provisioner: jrk-yarn-provisioner (yarn)',
      `Phase: failed since ${SINCE}`,
      'YARN application: application_1700000000000_0042',
      'Queue: default',
      'YARN state: FAILED',
      'Tracking URL: http://rm:8088/proxy/application_1700000000000_0042/',
      'Error: queue full'
    ]);
  });

  it('shows the Slurm job, partition, node, time left and state', () => {
    const model = kernel(slurmRunning);
    expect(tooltip(model, model.placement!, english).split('\n')).toEqual([
      'Kernel: Python (SSH) (k-1)',
      'Provisioner: jrk-slurm-provisioner (slurm)',
      `Phase: ready since ${SINCE}`,
      'Node: jrk-host2',
      'Slurm job: 4242',
      'Partition: debug',
      'Time left: 1:52:00',
      'Slurm state: RUNNING'
    ]);
    const pending = kernel(slurmPending);
    expect(tooltip(pending, pending.placement!, english).split('\n')).toEqual([
      'Kernel: Python (SSH) (k-1)',
      'Provisioner: jrk-slurm-provisioner (slurm)',
      `Phase: pending since ${SINCE}`,
      'Slurm job: 4242',
      'Partition: debug',
      'Time left: UNLIMITED',
      'Slurm state: PENDING',
      'Detail: Resources'
    ]);
  });

  it('keeps a PID of 0 and drops an empty detail', () => {
    const model = kernel({ pid: 0, detail: '' });
    const text = tooltip(model, model.placement!, english);
    expect(text).toContain('PID: 0');
    expect(text).not.toContain('Detail');
  });
});

describe('secondsSince and duration', () => {
  it('counts whole seconds, never below zero', () => {
    expect(secondsSince(SINCE, T0 + 12400)).toBe(12);
    expect(secondsSince(SINCE, T0 + 12600)).toBe(13);
    expect(secondsSince(SINCE, T0 - 5000)).toBe(0);
  });

  it('gives null for a time it cannot read', () => {
    expect(secondsSince('soon', T0)).toBeNull();
  });

  it('shows seconds with their unit', () => {
    expect(duration(12, english)).toBe('12 s');
  });
});

describe('phaseText', () => {
  it('is the phase alone once settled', () => {
    for (const phase of ['ready', 'failed', 'dead'] as KernelPhase[]) {
      expect(phaseText(placement({ phase }), T0 + 60000, english)).toBe(phase);
    }
  });

  it('adds the time in the phase while launching or stopping', () => {
    expect(
      phaseText(
        placement({ phase: 'waiting-for-launcher' }),
        T0 + 12000,
        english
      )
    ).toBe('waiting-for-launcher (12 s)');
    expect(
      phaseText(placement({ phase: 'shutting-down' }), T0 + 3000, english)
    ).toBe('shutting-down (3 s)');
  });

  it('adds the YARN state for YARN kernels only', () => {
    expect(phaseText(placement(yarnQueued), T0 + 5000, english)).toBe(
      'queued · ACCEPTED (5 s)'
    );
    expect(phaseText(placement({ state: 'RUNNING' }), T0 + 5000, english)).toBe(
      'ready'
    );
  });

  it("shows Slurm's reason while pending, the time left once ready", () => {
    expect(phaseText(placement(slurmPending), T0 + 7000, english)).toBe(
      'pending (Resources) (7 s)'
    );
    expect(phaseText(placement(slurmRunning), T0 + 7000, english)).toBe(
      'ready (1:52 left)'
    );
    expect(
      phaseText(
        placement({ ...slurmRunning, time_left: 'UNLIMITED' }),
        T0,
        english
      )
    ).toBe('ready');
    // The Slurm state is in the tooltip, not in the row.
    expect(
      phaseText(
        placement({ ...slurmRunning, phase: 'dead', state: 'TIMEOUT' }),
        T0,
        english
      )
    ).toBe('dead');
  });

  it('leaves out a time it cannot read', () => {
    expect(
      phaseText(placement({ phase: 'starting', phase_since: '' }), T0, english)
    ).toBe('starting');
  });
});

describe('rowParts', () => {
  it('gives host, kind badge, name, tooltip and phase of a kernel', () => {
    const model = kernel({ phase: 'starting' });
    expect(rowParts(model, T0 + 2000, english)).toEqual({
      host: 'node-3',
      app: null,
      job: null,
      kind: { label: 'ssh', title: 'jrk-ssh-provisioner' },
      name: 'Python (SSH)',
      title: tooltip(model, model.placement!, english),
      detail: 'starting (2 s)'
    });
  });

  it('gives the YARN application and its tracking link', () => {
    const parts = rowParts(kernel(yarnQueued), T0, english);
    expect(parts.host).toBeNull();
    expect(parts.app).toEqual({
      id: 'application_1700000000000_0042',
      url: 'http://rm:8088/proxy/application_1700000000000_0042/'
    });
  });

  it('gives the Slurm job, its node and the pending reason', () => {
    const running = kernel(slurmRunning);
    expect(rowParts(running, T0, english)).toEqual({
      host: 'jrk-host2',
      app: null,
      job: 'job 4242',
      kind: { label: 'slurm', title: 'jrk-slurm-provisioner' },
      name: 'Python (SSH)',
      title: tooltip(running, running.placement!, english),
      detail: 'ready (1:52 left)'
    });
    const pending = rowParts(kernel(slurmPending), T0 + 3000, english);
    expect(pending.host).toBeNull();
    expect(pending.job).toBe('job 4242');
    expect(pending.detail).toBe('pending (Resources) (3 s)');
  });

  it('falls back to the address for a host without a name', () => {
    expect(rowParts(kernel({ host: null }), T0, english).host).toBe('10.0.0.3');
  });

  it('gives the name alone for a kernel without a placement', () => {
    expect(rowParts(kernel(null), T0, english)).toEqual({
      host: null,
      app: null,
      job: null,
      kind: null,
      name: 'Python (SSH)',
      title: 'Python (SSH)',
      detail: ''
    });
  });
});

function pool(fields: Partial<IPool> = {}): IPool {
  return {
    kernel_name: 'remote-ssh',
    display_name: 'Python (SSH)',
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
    ...kernel({ host, phase: 'pooled' }),
    kernel_id: `pool-${host}`,
    pool: { kernel_name: 'remote-ssh', user: null }
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
      name: 'Python (SSH)',
      detail: '2 / 2 ready',
      title: [
        'Warm pool: Python (SSH) (remote-ssh)',
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
      kernel_name: 'remote-slurm',
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
      kernel_name: 'spark',
      display_name: 'Spark (YARN)',
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
      'Warm pool: Spark (YARN) (spark)',
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
    expect(poolParts(alice, [], english).name).toBe('Python (SSH)');
    expect(poolParts(alice, [], english).title).toContain('User: alice');
    expect(poolParts(alice, [], english, true).name).toBe(
      'Python (SSH) · alice'
    );
    expect(poolParts(pool({ user: null }), [], english, true).name).toBe(
      'Python (SSH)'
    );
  });

  it('shows where YARN and Slurm pool kernels are', () => {
    const yarn = { ...kernel(yarnQueued), pool: pooled('x').pool };
    const slurm = { ...kernel(slurmPending), pool: pooled('x').pool };
    expect(poolParts(pool(), [yarn, slurm], english).title).toContain(
      'Kernels: application_…_0042, job 4242'
    );
  });
});

describe('poolRows', () => {
  const forUser = (host: string, user: string | null): IRemoteKernel => ({
    ...pooled(host),
    pool: { kernel_name: 'remote-ssh', user }
  });

  it('gives each pool its own kernels, users’ kernels left out', () => {
    const rows = poolRows(
      [pool({ user: 'root' }), pool({ kernel_name: 'spark', user: 'root' })],
      [
        forUser('node-1', 'root'),
        kernel({ host: 'node-9' }), // a user's kernel
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
    expect(rows.map(r => r.name)).toEqual(['Python (SSH)', 'Python (SSH)']);
  });

  it('names the users where a kernelspec has pools for several', () => {
    const rows = poolRows(
      [pool({ user: 'root' }), pool({ user: 'alice' })],
      [forUser('node-1', 'alice')],
      english
    );
    expect(rows.map(r => r.name)).toEqual([
      'Python (SSH) · root',
      'Python (SSH) · alice'
    ]);
    expect(rows[0].title).not.toContain('Kernels');
    expect(rows[1].title).toContain('Kernels: node-1');
  });

  it('gives no lines without pools', () => {
    expect(poolRows([], [pooled('node-1')], english)).toEqual([]);
  });
});

describe('translation', () => {
  const phases: KernelPhase[] = [
    'starting',
    'submitting',
    'queued',
    'pending',
    'waiting-for-launcher',
    'ready',
    'pooled',
    'failed',
    'shutting-down',
    'dead'
  ];

  it('translates every phase and kind', () => {
    for (const phase of phases) {
      expect(phaseLabel(phase, marked)).toBe(`⟦${phase}⟧`);
    }
    for (const kind of ['local', 'ssh', 'yarn', 'slurm', 'plain'] as const) {
      expect(kindLabel(kind, marked)).toBe(`⟦${kind}⟧`);
    }
    for (const status of ['full', 'filling', 'failing'] as PoolStatus[]) {
      expect(poolStatusLabel(status, marked)).toBe(`⟦${status}⟧`);
    }
  });

  it('shows a pool status of a newer server as it is', () => {
    expect(poolStatusLabel('draining' as PoolStatus, marked)).toBe('draining');
  });

  it('shows a phase of a newer server as it is', () => {
    expect(phaseLabel('hibernating' as KernelPhase, marked)).toBe(
      'hibernating'
    );
  });

  it('sends every word of the texts through the translator', () => {
    const ssh = kernel({ phase: 'waiting-for-launcher', detail: 'x' });
    const yarn = kernel({ ...yarnQueued, app_id: null, error: 'e' });
    const slurm = kernel(slurmRunning);
    const pending = kernel(slurmPending);
    const texts = [
      statusLabel(slurm, slurm.placement!, marked),
      statusLabel(pending, pending.placement!, marked),
      tooltip(slurm, slurm.placement!, marked),
      tooltip(pending, pending.placement!, marked),
      phaseText(slurm.placement!, T0, marked),
      phaseText(pending.placement!, T0 + 1000, marked),
      where({ ...pending.placement!, job_id: null }, marked),
      where({ ...pending.placement!, job_id: null, partition: null }, marked),
      rowParts(slurm, T0, marked).job!,
      shortTimeLeft('2-03:00:00', marked)!,
      shortTimeLeft('59:30', marked)!,
      shortTimeLeft('0:30', marked)!,
      statusLabel(ssh, ssh.placement!, marked),
      statusLabel(yarn, yarn.placement!, marked),
      where({ ...yarn.placement!, queue: null }, marked),
      tooltip(ssh, ssh.placement!, marked),
      tooltip(yarn, yarn.placement!, marked),
      phaseText(ssh.placement!, T0 + 1000, marked),
      phaseText(yarn.placement!, T0 + 1000, marked),
      ...Object.values(sectionTexts(marked)),
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
      yarnQueued.tracking_url,
      yarnQueued.app_id,
      'python',
      'node-3',
      'Python (SSH)',
      'k-1',
      'jrk-ssh-provisioner',
      'jrk-yarn-provisioner',
      'default',
      'ACCEPTED',
      SINCE,
      '10.0.0.3',
      '4242',
      'x',
      'e',
      '1',
      'jrk-slurm-provisioner',
      'jrk-host2',
      '4242',
      'debug',
      '1:52:00',
      'UNLIMITED',
      'RUNNING',
      'PENDING',
      'Resources',
      'remote-ssh',
      'alice',
      'no host',
      // numbers of the times left
      '52',
      '2',
      '03',
      '00',
      '59',
      '30',
      // pool counts
      '0'
    ];
    for (const text of texts) {
      let rest = unmarked(text);
      // Longest first: a short value must not cut a longer one.
      for (const value of [...data].sort((a, b) => b.length - a.length)) {
        rest = rest.split(value).join('');
      }
      expect({ text, rest: rest.replace(/\s/g, '') }).toEqual({
        text,
        rest: ''
      });
    }
  });

  it('names the section in the translator’s words', () => {
    expect(sectionTexts(english)).toEqual({
      name: 'Remote kernels',
      shutdownAllLabel: 'Shut Down All Remote Kernels',
      shutdownAllConfirmationText:
        'Are you sure you want to permanently shut down all running kernels?'
    });
    expect(sectionTexts(marked).name).toBe('⟦Remote kernels⟧');
  });
});
