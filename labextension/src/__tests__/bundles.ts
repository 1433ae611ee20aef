import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * `%1`, `%2`... replaced by the arguments, as JupyterLab's Gettext.strfmt does.
 */
function strfmt(fmt: string, args: unknown[]): string {
  return fmt
    .replace(/%%/g, '%% ')
    .replace(/%(\d+)/g, (_, n: string) => String(args[Number(n) - 1]))
    .replace(/%% /g, '%');
}

/**
 * A bundle that translates every message with `translate` (then fills in the
 * arguments), like JupyterLab's language bundles.
 */
export function bundle(
  translate: (msgid: string) => string = msgid => msgid
): TranslationBundle {
  const gettext = (msgid: string, ...args: unknown[]) =>
    strfmt(translate(msgid), args);
  const ngettext = (
    msgid: string,
    plural: string,
    n: number,
    ...args: unknown[]
  ) => strfmt(translate(n === 1 ? msgid : plural), [n, ...args]);
  return {
    __: gettext,
    _n: ngettext,
    _p: (_ctx: string, msgid: string, ...args: unknown[]) =>
      gettext(msgid, ...args),
    _np: (
      _ctx: string,
      msgid: string,
      plural: string,
      n: number,
      ...args: unknown[]
    ) => ngettext(msgid, plural, n, ...args),
    gettext,
    ngettext,
    pgettext: (_ctx: string, msgid: string, ...args: unknown[]) =>
      gettext(msgid, ...args),
    npgettext: (
      _ctx: string,
      msgid: string,
      plural: string,
      n: number,
      ...args: unknown[]
    ) => ngettext(msgid, plural, n, ...args),
    dcnpgettext: (
      _domain: string,
      _ctx: string,
      msgid: string,
      plural: string,
      n: number,
      ...args: unknown[]
    ) => ngettext(msgid, plural, n, ...args)
  } as TranslationBundle;
}

/**
 * English: the messages as written (what the null translator gives).
 */
export const english = bundle();

/**
 * The words of every message marked ⟦…⟧, its placeholders left outside: in a
 * text made with it, what is not marked must be data (names, hosts, numbers);
 * a word there did not go through the translator.
 */
export const marked = bundle(msgid =>
  msgid
    .split(/(%\d+)/)
    .map(part => (/^%\d+$/.test(part) || !part ? part : `⟦${part}⟧`))
    .join('')
);
