import type { KernelPhase } from '../model';
import { PHASES } from '../model';
import {
  duration,
  phaseLabel,
  phaseText,
  phaseWithReason,
  secondsSince
} from '../phase';
import { english, marked } from './bundles';
import { held, onHost, running, SINCE, T0 } from './fixtures';

describe('phaseWithReason', () => {
  it('adds the scheduler’s reason to the pending phase', () => {
    expect(phaseWithReason(held, english)).toBe('pending: Resources');
    expect(phaseWithReason({ ...held, detail: 'Priority' }, english)).toBe(
      'pending: Priority'
    );
    expect(phaseWithReason({ ...held, detail: '' }, english)).toBe('pending');
  });

  it('leaves the detail of other phases out', () => {
    expect(
      phaseWithReason(
        { ...onHost, phase: 'waiting-for-launcher', detail: 'agent' },
        english
      )
    ).toBe('waiting-for-launcher');
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
      expect(phaseText({ ...onHost, phase }, T0 + 60000, english)).toBe(phase);
    }
    // The resource manager's state is in the tooltip, not in the row.
    expect(phaseText(running, T0, english)).toBe('ready');
  });

  it('adds the time in the phase while launching or stopping', () => {
    expect(
      phaseText(
        { ...onHost, phase: 'waiting-for-launcher' },
        T0 + 12000,
        english
      )
    ).toBe('waiting-for-launcher (12 s)');
    expect(
      phaseText({ ...onHost, phase: 'shutting-down' }, T0 + 3000, english)
    ).toBe('shutting-down (3 s)');
    expect(phaseText(held, T0 + 7000, english)).toBe(
      'pending: Resources (7 s)'
    );
  });

  it('leaves out a time it cannot read', () => {
    expect(
      phaseText({ ...onHost, phase: 'starting', phase_since: '' }, T0, english)
    ).toBe('starting');
  });
});

describe('translation', () => {
  it('translates every phase', () => {
    for (const phase of PHASES) {
      expect(phaseLabel(phase, marked)).toBe(`⟦${phase}⟧`);
    }
  });

  it('shows a phase of a newer server as it is', () => {
    expect(phaseLabel('hibernating' as KernelPhase, marked)).toBe(
      'hibernating'
    );
  });

  it('marks the words around the reason and the time', () => {
    expect(phaseText(held, T0 + 1000, marked)).toBe(
      '⟦pending⟧⟦: ⟧Resources⟦ (⟧1⟦ s⟧⟦)⟧'
    );
  });
});
