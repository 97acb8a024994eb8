// Types of generate.mjs for TypeScript callers (packages/api's differential test).
import type protobuf from 'protobufjs';

/** Reads the protogen.json of the package at `pkgDir`, loads its protos and writes the output. */
export function generate(pkgDir: string): { outDir: string; files: number; written: number };

/** Loads `files` (relative to `protoRoot`) with their imports, field names camelCased, resolved. */
export function loadRoot(protoRoot: string, files: string[]): protobuf.Root;
