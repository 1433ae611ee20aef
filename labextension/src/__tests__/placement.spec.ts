import * as fs from 'fs';
import * as path from 'path';

import Ajv2020 from 'ajv/dist/2020';

import type { IPlacement } from '../model';
import { PHASES } from '../model';
import {
  detailLabel,
  detailList,
  isLink,
  rowParts,
  statusLabel,
  tooltip,
  whereText
} from '../placement';
import { english, marked } from './bundles';
import {
  failed,
  held,
  kernelWith,
  onHost,
  PLACEMENTS,
  running,
  SINCE,
  T0
} from './fixtures';

/**
 * The server's JSON Schema of a placement, generated from its model (the
 * server's tests keep this copy equal to what it generates).
 */
const SCHEMA = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'placement.schema.json'), 'utf-8')
);

describe('the placement schema', () => {
  // Strict: a keyword Ajv does not know fails, rather than checking nothing.
  const validate = new Ajv2020({
    allErrors: true,
    strict: true,
    allowUnionTypes: true
  }).compile(SCHEMA);

  it.each(Object.keys(PLACEMENTS))('admits the fixture %s', name => {
    const ok = validate(PLACEMENTS[name]);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('has the fields of the model, every one required', () => {
    const fields = Object.keys(onHost).sort();
    expect(Object.keys(SCHEMA.properties).sort()).toEqual(fields);
    expect([...SCHEMA.required].sort()).toEqual(fields);
  });

  it('has the phases of the model, in order', () => {
    expect(SCHEMA.properties.phase.enum).toEqual([...PHASES]);
  });

  it('rejects what the model does not have', () => {
    // A backend's fact at the top level (where the old model had them).
    expect(validate({ ...onHost, queue: 'default' })).toBe(false);
    expect(validate({ ...onHost, phase: 'queued' })).toBe(false);
    expect(validate({ ...onHost, details: { tags: ['a'] } })).toBe(false);
    expect(validate({ ...onHost, details: { 'Job Id': '1' } })).toBe(false);
    const noWhere: Partial<IPlacement> = { ...onHost };
    delete noWhere.where;
    expect(validate(noWhere)).toBe(false);
  });
});

describe('details', () => {
  it('are the backend’s keys with spaces, in its order, unknown ones out', () => {
    expect(detailList(held)).toEqual([
      { key: 'job', label: 'job', value: '77', href: null },
      { key: 'lane', label: 'lane', value: 'debug', href: null },
      { key: 'slots', label: 'slots', value: '2', href: null },
      {
        key: 'console_url',
        label: 'console url',
        value: 'https://batch.example/jobs/77',
        href: 'https://batch.example/jobs/77'
      }
    ]);
    expect(detailList(onHost)).toEqual([]);
    expect(detailLabel('tracking__url_')).toBe('tracking url');
  });

  it('are links only when they are web addresses', () => {
    expect(isLink('https://batch.example/x')).toBe(true);
    expect(isLink('HTTP://rm:8088/proxy/app/')).toBe(true);
    for (const value of [
      'javascript:alert(1)',
      'ftp://host/file',
      'see https://x',
      'https://',
      42,
      null,
      undefined
    ]) {
      expect(isLink(value)).toBe(false);
    }
  });

  it('keep a zero', () => {
    expect(detailList({ ...onHost, details: { retries: 0 } })).toEqual([
      { key: 'retries', label: 'retries', value: '0', href: null }
    ]);
  });
});

describe('whereText', () => {
  it('is the backend’s words', () => {
    expect(whereText(running)).toBe('batch · job 77 on n2 (1:52 left)');
  });

  it('is the host, else the address, else the provisioner without them', () => {
    expect(whereText({ ...onHost, where: '' })).toBe('node-3');
    expect(whereText({ ...onHost, where: '', host: null })).toBe('10.0.0.3');
    expect(whereText({ ...onHost, where: '', host: null, ip: null })).toBe(
      'acme-host-provisioner'
    );
  });
});

describe('statusLabel', () => {
  const label = (placement: IPlacement, display_name = 'Python (Acme)') =>
    statusLabel(kernelWith(placement, { display_name }), placement, english);

  it('is "<display name> · <where>" once ready', () => {
    expect(label(onHost)).toBe('Python (Acme) · acme · node-3');
    expect(label(running, 'Python (batch)')).toBe(
      'Python (batch) · batch · job 77 on n2 (1:52 left)'
    );
  });

  it('names the kernel by the display name, not the kernelspec folder', () => {
    const model = kernelWith(onHost, {
      kernel_name: 'my_acme_spec',
      display_name: 'Python on Acme'
    });
    expect(statusLabel(model, onHost, english)).toBe(
      'Python on Acme · acme · node-3'
    );
    // A kernelspec without a display name: its name.
    const bare = kernelWith(onHost, { display_name: '' });
    expect(statusLabel(bare, onHost, english)).toBe(
      'acme_spec · acme · node-3'
    );
  });

  it('adds the phase while not ready, with the scheduler’s reason', () => {
    expect(label({ ...onHost, phase: 'waiting-for-launcher' })).toBe(
      'Python (Acme) · acme · node-3 (waiting-for-launcher)'
    );
    expect(label(held)).toBe(
      'Python (Acme) · batch · job 77 (pending: Resources)'
    );
    expect(label({ ...held, detail: '' })).toBe(
      'Python (Acme) · batch · job 77 (pending)'
    );
    expect(label(failed)).toBe('Python (Acme) · batch · job 77 (failed)');
  });
});

describe('tooltip', () => {
  it('lists the fields that have a value, one a line', () => {
    const model = kernelWith({ ...onHost, detail: 'agent pid 17' });
    expect(tooltip(model, model.placement!, english).split('\n')).toEqual([
      'Kernel: Python (Acme) (k-1)',
      'Provisioner: acme-host-provisioner (acme)',
      'Where: acme · node-3',
      `Phase: ready since ${SINCE}`,
      'Host: node-3',
      'IP: 10.0.0.3',
      'PID: 4242',
      'Detail: agent pid 17'
    ]);
  });

  it('shows the state, the backend’s details in its order, the error', () => {
    const model = kernelWith(failed);
    expect(tooltip(model, failed, english).split('\n')).toEqual([
      'Kernel: Python (Acme) (k-1)',
      'Provisioner: batch-provisioner (batch)',
      'Where: batch · job 77',
      `Phase: failed since ${SINCE}`,
      'State: GONE',
      'job: 77',
      'lane: debug',
      'slots: 2',
      'console url: https://batch.example/jobs/77',
      'Error: the scheduler dropped the job'
    ]);
  });

  it('keeps a PID of 0 and drops an empty detail', () => {
    const model = kernelWith({ ...onHost, pid: 0, detail: '' });
    const text = tooltip(model, model.placement!, english);
    expect(text).toContain('PID: 0');
    expect(text).not.toContain('Detail');
  });
});

describe('rowParts', () => {
  it('gives where, name, tooltip and phase of a kernel', () => {
    const model = kernelWith({ ...onHost, phase: 'starting' });
    expect(rowParts(model, T0 + 2000, english)).toEqual({
      where: 'acme · node-3',
      links: [],
      name: 'Python (Acme)',
      title: tooltip(model, model.placement!, english),
      detail: 'starting (2 s)'
    });
  });

  it('gives the details that are web addresses as links', () => {
    const parts = rowParts(kernelWith(held), T0 + 3000, english);
    expect(parts.where).toBe('batch · job 77');
    expect(parts.links).toEqual([
      {
        key: 'console_url',
        label: 'console url',
        href: 'https://batch.example/jobs/77',
        title: 'console url: https://batch.example/jobs/77'
      }
    ]);
    expect(parts.detail).toBe('pending: Resources (3 s)');
  });

  it('gives the name alone for a kernel without a placement', () => {
    expect(rowParts(kernelWith(null), T0, english)).toEqual({
      where: null,
      links: [],
      name: 'Python (Acme)',
      title: 'Python (Acme)',
      detail: ''
    });
  });
});

describe('translation', () => {
  it('sends every word of the texts through the translator', () => {
    const texts: string[] = [];
    for (const placement of Object.values(PLACEMENTS)) {
      const model = kernelWith(placement);
      texts.push(
        statusLabel(model, placement, marked),
        tooltip(model, placement, marked),
        rowParts(model, T0 + 1000, marked).detail
      );
    }
    // What the server sent: shown as it came, never translated.
    const data: string[] = ['Python (Acme)', 'k-1', SINCE, '1'];
    for (const placement of Object.values(PLACEMENTS)) {
      for (const value of Object.values(placement)) {
        if (typeof value === 'string' || typeof value === 'number') {
          data.push(String(value));
        }
      }
      for (const { label, value } of detailList(placement)) {
        data.push(label, value);
      }
    }
    for (const text of texts) {
      let rest = text.replace(/⟦[^⟧]*⟧/g, '');
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
});
