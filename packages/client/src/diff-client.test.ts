import { describe, expect, it } from 'vitest';
import { readOnlyView } from './diff-client';

describe('readOnlyView', () => {
  it("makes an overlay's upper directory its top lower, without upper or work directories", () => {
    const active = { type: 'overlay', source: 'overlay', options: ['index=off', 'workdir=/s/2/work', 'upperdir=/s/2/fs', 'lowerdir=/s/1/fs:/s/0/fs'] };
    expect(readOnlyView([active])).toEqual([{ type: 'overlay', source: 'overlay', options: ['index=off', 'ro', 'lowerdir=/s/2/fs:/s/1/fs:/s/0/fs'] }]);
  });

  it('leaves bind mounts and read-only overlays as they are', () => {
    const bind = { type: 'bind', source: '/s/1/fs', options: ['rbind', 'rw'] };
    const view = { type: 'overlay', source: 'overlay', options: ['lowerdir=/s/1/fs:/s/0/fs'] };
    expect(readOnlyView([bind])).toEqual([bind]);
    expect(readOnlyView([view])).toEqual([view]);
  });
});
