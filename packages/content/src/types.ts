// The content store's role interfaces live in @berth/spec (so that @berth/client implements the
// very same ones without depending on this package); this module keeps their import path.
export type * from '@berth/spec/content';
