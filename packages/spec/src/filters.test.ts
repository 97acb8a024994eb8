import { ErrorKind, isInvalidArgument } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { parseFilter, parseFilters, type Adaptor } from './filters';

interface Entry {
  name: string;
  other?: string;
  labels?: Record<string, string>;
}

// The corpus of containerd's own filter tests, so the two parsers can be compared case by case.
const corpus: Entry[] = [
  { name: 'foo', labels: { foo: 'true' } },
  { name: 'bar' },
  { name: 'foo', labels: { foo: 'present', 'more complex label': 'present' } },
  { name: 'bar', labels: { bar: 'true' } },
  { name: 'fooer', labels: { 'more complex label with \\ and "': 'present' } },
  { name: 'fooer', labels: { 'more complex label with \\ and ".post': 'present' } },
  { name: 'baz', other: 'too complex, yo' },
  { name: 'bazo', other: 'abc' },
  { name: 'compound', labels: { foo: 'omg_asdf.asdf-qwer' } },
];

const adapt = (e: Entry): Adaptor => ({
  field([first, ...rest]) {
    if (first === 'name') return e.name || undefined;
    if (first === 'other') return e.other || undefined;
    if (first === 'labels') return e.labels?.[rest.join('.')];
    return undefined;
  },
});

const matching = (...filters: string[]): number[] => {
  const f = parseFilters(...filters);
  return corpus.flatMap((e, i) => (f.match(adapt(e)) ? [i] : []));
};

const all = corpus.map((_, i) => i);

describe('parseFilter', () => {
  it.each<[string, string, number[]]>([
    ['empty', '', all],
    ['presence', 'name', all],
    ['label presence', 'labels.foo', [0, 2, 8]],
    ['AND of presences', 'labels.foo,name', [0, 2, 8]],
    ['label value', 'labels.foo==true', [0]],
    ['punctuated value', 'labels.foo==omg_asdf.asdf-qwer', [8]],
    ['name', 'name==bar', [1, 3]],
    ['not equal', 'name!=bar', [0, 2, 4, 5, 6, 7, 8]],
    ['value and presence', 'name==bar,labels.bar', [3]],
    ['quoted value with comma and space', 'other=="too complex, yo"', [6]],
    ['regexp', 'other~=[abc]+,name!=foo', [6, 7]],
    ['slash-quoted regexp', 'other~=/[abc]+/,name!=foo', [6, 7]],
    ['slash-quoted regexp with a comma', 'other~=/[abc]{1,2}/,name!=foo', [6, 7]],
    ['pipe-quoted regexp', 'other~=|^too .*, yo$|', [6]],
    ['escaped slash in slash quotes', 'other~=/[abc]{0,1}"\\//,name!=foo', []],
    ['regexp is a search, not anchored', 'name~=oo', [0, 2, 4, 5]],
    ['anchored regexp', 'name~=^foo$', [0, 2]],
    ['Go inline flag', 'name~=(?i)^FOO$', [0, 2]],
    ['value and value', 'name==bar,labels.bar==true', [3]],
    ['no match', 'name==bar,labels.bar==wrong', []],
    ['quoted fieldpath', 'name==foo,labels."more complex label"', [2]],
    ['quoted fieldpath with escapes', 'labels."more complex label with \\\\ and \\""==present', [4]],
    ['quoted component then plain', 'labels."more complex label with \\\\ and \\"".post==present', [5]],
    ['not equal matches an absent field', 'labels.foo!=true', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['equal never matches an absent field', 'other==""', []],
    ['leading white space', ' name==bar, labels.bar', [3]],
    ['hex and unicode escapes', 'labels.foo=="\\x74r\\u0075e"', [0]],
    ['octal escape', 'labels.foo=="\\164rue"', [0]],
  ])('%s: %s', (_, input, expected) => {
    expect(matching(input)).toEqual(expected);
  });

  it('presence distinguishes an empty value from an absent one', () => {
    const f = parseFilter('labels.x');
    expect(f.match({ field: () => '' })).toBe(true);
    expect(f.match({ field: () => undefined })).toBe(false);
  });

  it('passes the unquoted fieldpath to the adaptor', () => {
    const seen: string[][] = [];
    parseFilter('labels."a.b".c==x').match({ field: (p) => (seen.push(p), undefined) });
    expect(seen).toEqual([['labels', 'a.b', 'c']]);
  });
});

describe('parseFilters', () => {
  it.each<[string[], number[]]>([
    [[], all],
    [[''], all],
    [['name==bar', 'labels.foo==true'], [0, 1, 3]],
    [['name==nope', 'other'], [6, 7]],
    [['name==nope', ''], all],
    [['name==bar,labels.bar', 'name==baz'], [3, 6]],
  ])('%j', (filters, expected) => {
    expect(matching(...filters)).toEqual(expected);
  });

  it('refuses the whole list when one string is bad', () => {
    expect(() => parseFilters('name==bar', 'name==')).toThrow(expect.objectContaining({ kind: ErrorKind.InvalidArgument }));
  });
});

describe('parse errors are InvalidArgument', () => {
  it.each([
    ['alternative quotes in a fieldpath', 'labels.|foo|==omg'],
    ['bad character in a fieldpath', 'labels.?"x".post==present'],
    ['trailing comma', 'name==foo,'],
    ['trailing field separator', 'labels.'],
    ['missing value', 'image~=,id?=?fbaq'],
    ['missing value at end', 'name=='],
    ['unterminated slash quote in a field', 'labels.ns/key==value'],
    ['unterminated slash quote in a value', 'labels.key==/value'],
    ['slash quotes for ==', 'name==/bar/'],
    ['unsupported operator', 'name=bar'],
    ['unsupported long operator', 'name===bar'],
    ['field where an operator belongs', 'name bar'],
    ['trailing white space', 'name==bar '],
    ['illegal escape', 'name=="a\\qb"'],
    ['short hex escape', 'name=="\\x4"'],
    ['octal escape above 255', 'name=="\\777"'],
    ['unterminated double quote', 'name=="abc'],
    ['newline inside quotes', 'name=="a\nb"'],
    ['NUL character', 'name==a\u0000b'],
    ['invalid regular expression', 'name~=[a-'],
    ['invalid quoted regular expression', 'name~=/(unclosed/'],
    ['operator without fieldpath', '==bar'],
  ])('%s: %j', (_, input) => {
    let caught: unknown;
    try {
      parseFilter(input);
    } catch (err) {
      caught = err;
    }
    expect(isInvalidArgument(caught)).toBe(true);
  });
});
