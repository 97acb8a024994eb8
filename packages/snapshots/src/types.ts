// The Snapshotter interface lives in @berth/spec (so that @berth/client implements the very same
// one without depending on this package); this module keeps its import path.
export type * from '@berth/spec/snapshots';
