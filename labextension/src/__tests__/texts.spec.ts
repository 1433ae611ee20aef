import { fieldLines, sectionTexts } from '../texts';
import { english, marked } from './bundles';

describe('sectionTexts', () => {
  it('names the section, and leaves its button JupyterLab’s label', () => {
    // A label of its own ("Shut Down All Remote Kernels") left the section's
    // name no room in its title bar ("R…").
    expect(sectionTexts(english)).toEqual({
      name: 'Remote kernels',
      shutdownAllConfirmationText:
        'Are you sure you want to permanently shut down all running kernels?'
    });
    expect(sectionTexts(marked).name).toBe('⟦Remote kernels⟧');
  });
});

describe('fieldLines', () => {
  it('gives "name: value" lines, those without a value left out', () => {
    expect(
      fieldLines(
        [
          ['A', 'x'],
          ['B', null],
          ['C', 0],
          ['D', ''],
          ['E', undefined],
          ['F', 'y']
        ],
        english
      )
    ).toBe('A: x\nC: 0\nF: y');
  });
});
